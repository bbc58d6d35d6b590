use std::time::Duration;

use pkg_service::faults::FaultSettings;
use pkg_service::{Env, FromEnv};

#[derive(Debug, Clone)]
pub struct Settings {
    pub host: String,
    pub port: u16,
    /// Fault injection for demos (off unless set).
    pub faults: FaultSettings,
    /// The largest text accepted, in UTF-8 bytes; larger is 413.
    pub max_bytes: usize,
    /// Analyses running at once (default: the number of cores).
    pub cpu_permits: usize,
    /// How long a request waits for an analysis permit before a 503 `overloaded`.
    pub cpu_wait: Duration,
}

impl FromEnv for Settings {
    fn from_env(env: &mut Env) -> Self {
        let cpu_permits: usize = env.get(
            "ANALYZER_CPU_PERMITS",
            pkg_service::cpu_limit::available_cores(),
            "analyses run at once (default: the cores)",
        );
        if cpu_permits == 0 {
            env.invalid("ANALYZER_CPU_PERMITS must be at least 1");
        }
        Settings {
            host: env.get("HOST", "0.0.0.0".to_string(), "listen address"),
            port: env.get("PORT", 8082, "listen port (0 = any free port)"),
            faults: FaultSettings::from_env(env),
            max_bytes: env.get("ANALYZER_MAX_BYTES", 1024 * 1024, "largest text accepted, in bytes (1 MiB)"),
            cpu_permits,
            cpu_wait: Duration::from_millis(env.get(
                "ANALYZER_CPU_WAIT_MS",
                2_000,
                "longest wait for an analysis slot before answering 503 overloaded",
            )),
        }
    }
}
