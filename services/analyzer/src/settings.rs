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
}

impl FromEnv for Settings {
    fn from_env(env: &mut Env) -> Self {
        Settings {
            host: env.get("HOST", "0.0.0.0".to_string(), "listen address"),
            port: env.get("PORT", 8082, "listen port (0 = any free port)"),
            faults: FaultSettings::from_env(env),
            max_bytes: env.get("ANALYZER_MAX_BYTES", 1024 * 1024, "largest text accepted, in bytes (1 MiB)"),
        }
    }
}
