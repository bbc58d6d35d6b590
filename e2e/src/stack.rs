//! The four services as real processes.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use pkg_tracing::harness::{ServiceProcess, service_command};

/// Generous: a guard against hangs on a loaded 2-core machine, not a speed target.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// The path of a workspace binary, built (once per test run) if it is not there yet.
pub fn binary(name: &str) -> String {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let dir = BUILT
        .get_or_init(|| {
            // The test executable lives in target/<profile>/deps; the binaries one level up.
            let exe = std::env::current_exe().map_err(|e| e.to_string())?;
            let dir =
                exe.parent().and_then(|d| d.parent()).ok_or("unexpected test binary location")?.to_path_buf();
            let profile_args: &[&str] = if dir.ends_with("release") { &["--release"] } else { &[] };
            let status = std::process::Command::new(env!("CARGO"))
                // Exactly what scripts/test.sh builds (tests too: their dev-dependencies change the
                // feature set), so this is a no-op right after it instead of a rebuild.
                .args(["build", "--quiet", "--workspace", "--all-features", "--all-targets"])
                .args(profile_args)
                .status()
                .map_err(|e| format!("running cargo build: {e}"))?;
            if !status.success() {
                return Err(format!("cargo build of the service binaries failed: {status}"));
            }
            Ok(dir)
        })
        .as_ref()
        .unwrap_or_else(|e| panic!("{e}"));
    dir.join(name).display().to_string()
}

/// Extra environment per service, on top of the wiring [`Stack`] does itself.
#[derive(Debug, Clone, Default)]
pub struct StackEnv {
    pub analyzer: Vec<(String, String)>,
    pub scraper: Vec<(String, String)>,
    pub controller: Vec<(String, String)>,
    pub scheduler: Vec<(String, String)>,
}

impl StackEnv {
    /// `SCRAPER_ALLOW_HOSTS`, and short job retries and leases so tests do not wait for
    /// backoff, or for a crashed controller's jobs to be taken over.
    pub fn allowing(allow: &str) -> Self {
        StackEnv {
            scraper: vec![("SCRAPER_ALLOW_HOSTS".into(), allow.into())],
            controller: vec![
                ("JOB_RETRY_BASE_MS".into(), "100".into()),
                ("JOB_LEASE_MS".into(), "2000".into()),
            ],
            ..StackEnv::default()
        }
    }
}

/// All four services, exporting to `endpoint`, with their data under `data_dir`.
pub struct Stack {
    pub analyzer: ServiceProcess,
    pub scraper: ServiceProcess,
    pub controller: ServiceProcess,
    pub scheduler: ServiceProcess,
    endpoint: String,
    data_dir: PathBuf,
    env: StackEnv,
}

impl Stack {
    /// Starts analyzer, scraper, controller and scheduler in dependency order, each on an
    /// ephemeral port, and waits until every one is ready. `allow` is `SCRAPER_ALLOW_HOSTS`.
    pub async fn start(endpoint: &str, data_dir: PathBuf, allow: &str) -> Stack {
        Stack::start_with(endpoint, data_dir, StackEnv::allowing(allow)).await
    }

    pub async fn start_with(endpoint: &str, data_dir: PathBuf, env: StackEnv) -> Stack {
        let analyzer = start("analyzer", endpoint, "0", &env.analyzer, &[]);
        let scraper = start("scraper", endpoint, "0", &env.scraper, &[]);
        let controller = start_controller(endpoint, &data_dir, "0", &env.controller, &scraper, &analyzer);
        let scheduler = start_scheduler(endpoint, &data_dir, &env.scheduler, &controller);
        let stack =
            Stack { analyzer, scraper, controller, scheduler, endpoint: endpoint.to_owned(), data_dir, env };
        for service in [&stack.analyzer, &stack.scraper, &stack.controller, &stack.scheduler] {
            wait_ready(service).await;
        }
        stack
    }

    /// Stops the controller and the scheduler with SIGTERM and starts them again on the same
    /// data; both must exit cleanly.
    pub async fn restart_controller_and_scheduler(&mut self) {
        for service in [&mut self.scheduler, &mut self.controller] {
            let status = service.terminate(PATIENCE).unwrap_or_else(|e| panic!("{e}"));
            assert!(status.success(), "clean exit expected: {status:?}; stderr: {}", service.stderr());
        }
        self.controller = start_controller(
            &self.endpoint,
            &self.data_dir,
            "0",
            &self.env.controller,
            &self.scraper,
            &self.analyzer,
        );
        self.scheduler =
            start_scheduler(&self.endpoint, &self.data_dir, &self.env.scheduler, &self.controller);
        wait_ready(&self.controller).await;
        wait_ready(&self.scheduler).await;
    }

    /// Kills the controller outright (no drain, no flush) and starts it again on the same
    /// port and data: a crash.
    pub async fn crash_and_restart_controller(&mut self) {
        let port = self.controller.port.to_string();
        self.controller.kill();
        self.controller = start_controller(
            &self.endpoint,
            &self.data_dir,
            &port,
            &self.env.controller,
            &self.scraper,
            &self.analyzer,
        );
        wait_ready(&self.controller).await;
    }

    /// Kills the analyzer; [`Stack::start_analyzer_again`] brings it back on the same port.
    pub fn kill_analyzer(&mut self) {
        self.analyzer.kill();
    }

    pub async fn start_analyzer_again(&mut self) {
        let port = self.analyzer.port.to_string();
        self.analyzer = start("analyzer", &self.endpoint, &port, &self.env.analyzer, &[]);
        wait_ready(&self.analyzer).await;
    }
}

fn start_controller(
    endpoint: &str,
    data: &std::path::Path,
    port: &str,
    extra: &[(String, String)],
    scraper: &ServiceProcess,
    analyzer: &ServiceProcess,
) -> ServiceProcess {
    let db = format!("sqlite://{}/controller.db", data.display());
    let wiring = [
        ("SCRAPER_URL", scraper.url("")),
        ("ANALYZER_URL", analyzer.url("")),
        ("DATABASE_URL", db),
        ("GRAFANA_URL", "http://localhost:3000".into()),
    ];
    start("controller", endpoint, port, extra, &wiring)
}

fn start_scheduler(
    endpoint: &str,
    data: &std::path::Path,
    extra: &[(String, String)],
    controller: &ServiceProcess,
) -> ServiceProcess {
    let db = format!("sqlite://{}/scheduler.db", data.display());
    start("scheduler", endpoint, "0", extra, &[("CONTROLLER_URL", controller.url("")), ("DATABASE_URL", db)])
}

/// Starts the workspace binary `name` exporting to `endpoint`, on `port` ("0": any free one),
/// with `wiring` and then `extra` in its environment.
pub fn start_service(
    name: &str,
    endpoint: &str,
    port: &str,
    extra: &[(String, String)],
    wiring: &[(&str, String)],
) -> ServiceProcess {
    start(name, endpoint, port, extra, wiring)
}

fn start(
    name: &str,
    endpoint: &str,
    port: &str,
    extra: &[(String, String)],
    wiring: &[(&str, String)],
) -> ServiceProcess {
    let mut cmd = service_command(&binary(name));
    cmd.env("PORT", port)
        .env("HOST", "127.0.0.1")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .envs(wiring.iter().map(|(k, v)| (k, v)))
        .envs(extra.iter().map(|(k, v)| (k, v)));
    ServiceProcess::spawn(name, cmd, PATIENCE).unwrap_or_else(|e| panic!("{e}"))
}

/// Waits until `service` answers `GET /ready` with a success.
pub async fn wait_ready(service: &ServiceProcess) {
    let client = awc::Client::builder().timeout(Duration::from_secs(2)).finish();
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Ok(response) = client.get(service.url("/ready")).send().await
            && response.status().is_success()
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{} never became ready; stderr: {}",
            service.url(""),
            service.stderr()
        );
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
}
