use pkg_service::faults::FaultSettings;
use pkg_service::{Env, FromEnv};

#[derive(Debug, Clone)]
pub struct Settings {
    pub host: String,
    pub port: u16,
    /// Fault injection for demos (off unless set).
    pub faults: FaultSettings,
    pub controller_url: String,
    pub database_url: String,
    /// Demo schedules (JSON), added on start unless one of the same name exists.
    pub schedules_file: Option<String>,
}

impl FromEnv for Settings {
    fn from_env(env: &mut Env) -> Self {
        let settings = Settings {
            host: env.get("HOST", "0.0.0.0".to_string(), "listen address"),
            port: env.get("PORT", 8083, "listen port (0 = any free port)"),
            faults: FaultSettings::from_env(env),
            controller_url: env.get(
                "CONTROLLER_URL",
                "http://localhost:8080".to_string(),
                "base URL of the controller",
            ),
            database_url: env.get(
                "DATABASE_URL",
                "sqlite://data/scheduler.db".to_string(),
                "sqlite://path (created with its directory if missing) or postgres://user:password@host:port/db",
            ),
            schedules_file: env.optional("SCHEDULES_FILE", "JSON file of demo schedules to seed by name"),
        };
        if !(settings.controller_url.starts_with("http://")
            || settings.controller_url.starts_with("https://"))
        {
            env.invalid(format!("CONTROLLER_URL={:?} must be an http(s) URL", settings.controller_url));
        }
        settings
    }
}
