use std::time::Duration;

use pkg_service::faults::FaultSettings;
use pkg_service::{Env, FromEnv};

#[derive(Debug, Clone)]
pub struct Settings {
    pub host: String,
    pub port: u16,
    /// Fault injection for demos (off unless set).
    pub faults: FaultSettings,
    pub scraper_url: String,
    pub analyzer_url: String,
    pub database_url: String,
    /// Base of the trace links in responses (Grafana Explore on Tempo).
    pub grafana_url: String,
    /// Jobs run at once.
    pub job_workers: usize,
    /// Attempts per job, counting the first; retries only follow 502/503/504.
    pub job_max_attempts: u32,
    /// First retry delay; doubles per attempt, capped at a minute.
    pub job_retry_base: Duration,
    /// How long a claimed job stays this process's without a heartbeat (renewed every third).
    /// After it, another controller sharing the store may take the job over.
    pub job_lease: Duration,
    /// Limit on each call to the scraper or analyzer.
    pub downstream_timeout: Duration,
    /// Where the web page's traces and service map come from.
    pub telemetry_backends: TelemetryBackends,
}

/// The telemetry stores the page reads through the controller (all optional: unset, the
/// endpoint that needs one answers 503 saying which variable to set).
#[derive(Debug, Clone, Default)]
pub struct TelemetryBackends {
    /// Tempo's HTTP API (`GET /api/traces/{id}`), or trace-view answering the same route.
    pub tempo_url: Option<String>,
    /// Prometheus, for the service graph Tempo's metrics-generator writes.
    pub prometheus_url: Option<String>,
    /// trace-view's HTTP port, for the service graph without Prometheus (run-local.sh).
    pub trace_view_url: Option<String>,
}

impl FromEnv for TelemetryBackends {
    fn from_env(env: &mut Env) -> Self {
        let backends = TelemetryBackends {
            tempo_url: env.optional(
                "TEMPO_URL",
                "Tempo's HTTP API (or trace-view --http), for the page's trace waterfall",
            ),
            prometheus_url: env.optional(
                "PROMETHEUS_URL",
                "Prometheus, for the page's service map (traces_service_graph_* series)",
            ),
            trace_view_url: env.optional(
                "TRACE_VIEW_URL",
                "trace-view --http, for the page's service map when PROMETHEUS_URL is unset",
            ),
        };
        for (name, url) in [
            ("TEMPO_URL", &backends.tempo_url),
            ("PROMETHEUS_URL", &backends.prometheus_url),
            ("TRACE_VIEW_URL", &backends.trace_view_url),
        ] {
            if let Some(url) = url
                && !(url.starts_with("http://") || url.starts_with("https://"))
            {
                env.invalid(format!("{name}={url:?} must be an http(s) URL"));
            }
        }
        backends
    }
}

impl FromEnv for Settings {
    fn from_env(env: &mut Env) -> Self {
        let settings = Settings {
            host: env.get("HOST", "0.0.0.0".to_string(), "listen address"),
            port: env.get("PORT", 8080, "listen port (0 = any free port)"),
            faults: FaultSettings::from_env(env),
            scraper_url: env.get(
                "SCRAPER_URL",
                "http://localhost:8081".to_string(),
                "base URL of the scraper",
            ),
            analyzer_url: env.get(
                "ANALYZER_URL",
                "http://localhost:8082".to_string(),
                "base URL of the analyzer",
            ),
            database_url: env.get(
                "DATABASE_URL",
                "sqlite://data/controller.db".to_string(),
                "sqlite://path (created with its directory if missing) or postgres://user:password@host:port/db",
            ),
            grafana_url: env.get(
                "GRAFANA_URL",
                "http://localhost:3000".to_string(),
                "Grafana base URL for trace links",
            ),
            job_workers: env.get("JOB_WORKERS", 4, "jobs run concurrently"),
            job_max_attempts: env.get("JOB_MAX_ATTEMPTS", 3, "attempts per job, the first included"),
            job_retry_base: Duration::from_millis(env.get(
                "JOB_RETRY_BASE_MS",
                500,
                "first retry delay in ms (doubles)",
            )),
            job_lease: Duration::from_millis(env.get(
                "JOB_LEASE_MS",
                30_000,
                "a claimed job's lease in ms; renewed every third; another replica takes over after it",
            )),
            // Above the scraper's whole-scrape deadline (SCRAPER_DEADLINE_MS, 20 s by default),
            // so the scraper gives up first and answers 504 before this call is abandoned.
            downstream_timeout: Duration::from_millis(env.get(
                "DOWNSTREAM_TIMEOUT_MS",
                30_000,
                "limit on each scraper/analyzer call, in ms; keep it above the scraper's SCRAPER_DEADLINE_MS (default 20000)",
            )),
            telemetry_backends: TelemetryBackends::from_env(env),
        };
        if settings.job_workers == 0 {
            env.invalid("JOB_WORKERS must be at least 1");
        }
        if settings.job_lease < Duration::from_millis(300) {
            env.invalid("JOB_LEASE_MS must be at least 300");
        }
        if settings.job_max_attempts == 0 {
            env.invalid("JOB_MAX_ATTEMPTS must be at least 1");
        }
        for (name, url) in [("SCRAPER_URL", &settings.scraper_url), ("ANALYZER_URL", &settings.analyzer_url)]
        {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                env.invalid(format!("{name}={url:?} must be an http(s) URL"));
            }
        }
        settings
    }
}

#[cfg(test)]
mod tests {
    use pkg_service::{Env, load};

    use super::Settings;

    #[test]
    fn telemetry_backends_are_optional_urls() {
        let unset: Settings = load(Env::from_vars([("PORT", "0")])).unwrap();
        assert_eq!(unset.telemetry_backends.tempo_url, None);
        let set: Settings = load(Env::from_vars([
            ("TEMPO_URL", "http://tempo:3200"),
            ("PROMETHEUS_URL", "http://prometheus:9090"),
            ("TRACE_VIEW_URL", "http://127.0.0.1:3200"),
        ]))
        .unwrap();
        assert_eq!(set.telemetry_backends.tempo_url.as_deref(), Some("http://tempo:3200"));
        assert_eq!(set.telemetry_backends.prometheus_url.as_deref(), Some("http://prometheus:9090"));
        assert_eq!(set.telemetry_backends.trace_view_url.as_deref(), Some("http://127.0.0.1:3200"));
        let error =
            load::<Settings>(Env::from_vars([("TEMPO_URL", "tempo:3200"), ("PROMETHEUS_URL", "prom")]))
                .unwrap_err();
        assert!(error.0.iter().any(|e| e.starts_with("TEMPO_URL=")), "{error}");
        assert!(error.0.iter().any(|e| e.starts_with("PROMETHEUS_URL=")), "{error}");
    }
}
