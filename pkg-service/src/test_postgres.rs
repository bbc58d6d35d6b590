//! A throw-away PostgreSQL server for tests: Debian's `initdb` and `postgres` binaries run in a
//! temporary directory on a free loopback port, trust authentication for the user `skein`.
//! Started as `nobody` when the tests run as root (PostgreSQL refuses to run as root; CI does).
//! It lives as long as the test process: a small shell watchdog stops it and removes its
//! directory once the process that started it has gone.
//!
//! Missing binaries are an error, never a skip: `scripts/install-test-deps.sh` installs them.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How long the server may take to accept connections on a loaded 2-core machine.
const START_PATIENCE: Duration = Duration::from_secs(60);
/// The unprivileged account PostgreSQL runs as when the tests run as root.
const UNPRIVILEGED: (&str, u32, u32) = ("nobody", 65534, 65534);

pub struct TestPostgres {
    port: u16,
    bin: PathBuf,
}

impl TestPostgres {
    /// The server of this test process, started on first use.
    pub fn shared() -> &'static TestPostgres {
        static SERVER: OnceLock<TestPostgres> = OnceLock::new();
        SERVER.get_or_init(|| Self::start().unwrap_or_else(|e| panic!("PostgreSQL for tests: {e}")))
    }

    /// Starts a new server (its own directory and port).
    pub fn start() -> Result<Self, String> {
        let bin = binaries()?;
        let dir = std::env::temp_dir().join(format!("skein-pg-{}-{}", std::process::id(), fastrand::u64(..)));
        std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        let as_root = is_root();
        if as_root {
            let (_, uid, gid) = UNPRIVILEGED;
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid))
                .map_err(|e| format!("handing {} to {}: {e}", dir.display(), UNPRIVILEGED.0))?;
        }
        let data = dir.join("data");
        let initdb = run_as(as_root, &bin.join("initdb"))
            .args(["--auth=trust", "--username=skein", "--encoding=UTF8", "--no-sync", "--no-instructions"])
            .arg("-D")
            .arg(&data)
            .stdout(Stdio::null())
            .output()
            .map_err(|e| format!("running initdb: {e}"))?;
        if !initdb.status.success() {
            return Err(format!("initdb failed: {}", String::from_utf8_lossy(&initdb.stderr)));
        }
        let port = free_port()?;
        // Durability is irrelevant for a throw-away server: turning it off keeps 2 cores free.
        let postgres = format!(
            "{} -D {} -p {port} -k {} -c listen_addresses=127.0.0.1 -c max_connections=300 \
             -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
            bin.join("postgres").display(),
            data.display(),
            dir.display(),
        );
        // The watchdog: when the test process is gone, stop the server (fast shutdown) and
        // remove its directory.
        let script = format!(
            "{postgres} >{log} 2>&1 & pg=$!; \
             while [ -d /proc/{parent} ] && kill -0 $pg 2>/dev/null; do sleep 1; done; \
             kill -INT $pg 2>/dev/null; wait $pg; rm -rf {dir}",
            log = dir.join("postgres.log").display(),
            parent = std::process::id(),
            dir = dir.display(),
        );
        run_as(as_root, Path::new("/bin/sh"))
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("starting postgres: {e}"))?;
        let server = TestPostgres { port, bin };
        server.wait_ready(&dir)?;
        Ok(server)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A new, empty database on this server; returns its URL.
    pub fn database(&self) -> String {
        let name = format!("t{}", fastrand::u64(..));
        let created = Command::new(self.bin.join("createdb"))
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "skein", &name])
            .output()
            .unwrap_or_else(|e| panic!("running createdb: {e}"));
        assert!(created.status.success(), "createdb failed: {}", String::from_utf8_lossy(&created.stderr));
        self.url(&name)
    }

    pub fn url(&self, database: &str) -> String {
        format!("postgres://skein@127.0.0.1:{}/{database}", self.port)
    }

    fn wait_ready(&self, dir: &Path) -> Result<(), String> {
        let deadline = Instant::now() + START_PATIENCE;
        loop {
            let ready = Command::new(self.bin.join("pg_isready"))
                .args(["-q", "-h", "127.0.0.1", "-p", &self.port.to_string()])
                .status()
                .map_err(|e| format!("running pg_isready: {e}"))?;
            if ready.success() {
                return Ok(());
            }
            if Instant::now() > deadline {
                let log = std::fs::read_to_string(dir.join("postgres.log")).unwrap_or_default();
                return Err(format!("postgres did not accept connections within {START_PATIENCE:?}: {log}"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// The directory of the newest installed PostgreSQL's server binaries (`PG_BIN` overrides).
fn binaries() -> Result<PathBuf, String> {
    if let Ok(dir) = std::env::var("PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    let versions = std::fs::read_dir("/usr/lib/postgresql").map_err(|_| missing())?;
    let newest = versions
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str().and_then(|v| v.parse::<u32>().ok()))
        .max()
        .ok_or_else(missing)?;
    let bin = PathBuf::from(format!("/usr/lib/postgresql/{newest}/bin"));
    bin.join("postgres").exists().then_some(bin).ok_or_else(missing)
}

fn missing() -> String {
    "PostgreSQL's server binaries are not installed (/usr/lib/postgresql/<version>/bin); \
     run scripts/install-test-deps.sh"
        .to_owned()
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

/// `program`, run as the unprivileged account when we are root.
fn run_as(as_root: bool, program: &Path) -> Command {
    if as_root {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", UNPRIVILEGED.0, "--"]).arg(program);
        cmd
    } else {
        Command::new(program)
    }
}

fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("finding a free port: {e}"))
}
