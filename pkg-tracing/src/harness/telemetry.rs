//! Telemetry for in-process service tests: one collector per test binary, the real pipeline
//! (`init_with`, OTLP/gRPC, batch processor) pointed at it.

use std::sync::OnceLock;

use super::Collector;
use crate::config::TelemetryConfig;

/// Installs telemetry for this test process (once) and returns the collector every span goes
/// to. Tests find their spans by trace id. Logs are printed only when `TEST_LOG` is set.
pub fn test_telemetry(service: &str) -> &'static Collector {
    static COLLECTOR: OnceLock<Collector> = OnceLock::new();
    COLLECTOR.get_or_init(|| {
        let collector = Collector::start().expect("the test collector starts");
        let endpoint = collector.endpoint();
        let log_filter = if std::env::var_os("TEST_LOG").is_some() { "info" } else { "off" };
        let config = TelemetryConfig::from_lookup(service, "test", false, |name| match name {
            "OTEL_EXPORTER_OTLP_ENDPOINT" => Some(endpoint.clone()),
            // Short batches: tests wait for spans, and 5 s per assertion adds up.
            "OTEL_BSP_SCHEDULE_DELAY" => Some("50".into()),
            "RUST_LOG" => Some(log_filter.into()),
            "LOG_FORMAT" => Some("json".into()),
            _ => None,
        })
        .expect("a valid test telemetry config");
        let guard = crate::init_with(config).expect("telemetry installs once per test process");
        // The provider must outlive every test in the process; the process exit ends it.
        std::mem::forget(guard);
        collector
    })
}
