//! Real service processes for tests: started with a clean telemetry environment, their JSON
//! logs captured, their port read from their `… listening` log line, stopped with SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A running service whose stdout (JSON logs) and stderr are kept.
pub struct ServiceProcess {
    child: Child,
    name: String,
    pub port: u16,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
}

/// A command for `binary` with none of the caller's `OTEL_*`, `RUST_LOG`, `LOG_FORMAT`, `PORT`
/// or `HOP_*` variables, JSON logs at info, and stdout/stderr piped.
pub fn service_command(binary: &str) -> Command {
    let mut cmd = Command::new(binary);
    for (key, _) in std::env::vars() {
        if key.starts_with("OTEL_")
            || key.starts_with("HOP_")
            || ["RUST_LOG", "LOG_FORMAT", "PORT"].contains(&key.as_str())
        {
            cmd.env_remove(key);
        }
    }
    cmd.env("LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

impl ServiceProcess {
    /// Runs `cmd` and waits (up to `patience`) for the log line that reports its port.
    pub fn spawn(name: &str, mut cmd: Command, patience: Duration) -> Result<Self, String> {
        let mut child = cmd.spawn().map_err(|e| format!("{name} did not start: {e}"))?;
        let (stdout, port_rx) = capture(child.stdout.take().expect("stdout is piped"), true);
        let (stderr, _) = capture(child.stderr.take().expect("stderr is piped"), false);
        match port_rx.recv_timeout(patience) {
            Ok(port) => Ok(Self { child, name: name.to_owned(), port, stdout, stderr }),
            Err(_) => {
                let _ = child.kill();
                let status = child.wait().ok();
                Err(format!(
                    "{name} did not report a port within {patience:?} (exit: {status:?}); stderr: {}; stdout: {}",
                    stderr.lock().unwrap().join("\n"),
                    stdout.lock().unwrap().join("\n")
                ))
            }
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{}", self.port, path)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The JSON log lines written so far.
    pub fn log_lines(&self) -> Vec<Value> {
        self.stdout.lock().unwrap().iter().filter_map(|l| serde_json::from_str(l).ok()).collect()
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().join("\n")
    }

    /// Sends SIGTERM and waits for the exit (a clean one drains, flushes spans and exits 0).
    pub fn terminate(&mut self, patience: Duration) -> Result<ExitStatus, String> {
        self.signal_term()?;
        self.wait_exit(patience)
    }

    /// Sends SIGTERM without waiting: the caller keeps working while the service drains.
    pub fn signal_term(&self) -> Result<(), String> {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().map_err(|e| e.to_string())?;
        if sent.success() { Ok(()) } else { Err(format!("could not signal {} ({pid})", self.name)) }
    }

    /// Waits for the process to exit on its own.
    pub fn wait_exit(&mut self, patience: Duration) -> Result<ExitStatus, String> {
        let deadline = Instant::now() + patience;
        loop {
            if let Some(status) = self.child.try_wait().map_err(|e| e.to_string())? {
                return Ok(status);
            }
            if Instant::now() > deadline {
                return Err(format!("{} did not exit within {patience:?}", self.name));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the process at once (no drain, no flush): a crash.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Collects lines; with `find_port`, reports the `port` of the first JSON line whose message
/// ends in "listening".
fn capture(
    pipe: impl std::io::Read + Send + 'static,
    find_port: bool,
) -> (Arc<Mutex<Vec<String>>>, mpsc::Receiver<u16>) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = mpsc::channel();
    let sink = Arc::clone(&lines);
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            if find_port
                && let Ok(json) = serde_json::from_str::<Value>(&line)
                && json["message"].as_str().is_some_and(|m| m.ends_with("listening"))
                && let Some(port) = json["port"].as_u64()
            {
                let _ = tx.send(port as u16);
            }
            sink.lock().unwrap().push(line);
        }
    });
    (lines, rx)
}
