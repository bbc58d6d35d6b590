//! The resource every span carries: who produced it.

use opentelemetry::KeyValue;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::resource::{EnvResourceDetector, TelemetryResourceDetector};

use crate::config::TelemetryConfig;

/// The SDK's `telemetry.sdk.*` attributes and Skein's defaults first, then
/// `OTEL_RESOURCE_ATTRIBUTES` over them (a set variable always wins), then the resolved service
/// name, which already honours both variables.
pub(crate) fn build(config: &TelemetryConfig) -> Resource {
    let defaults = [
        KeyValue::new("service.namespace", "skein"),
        KeyValue::new("service.version", config.service_version.clone()),
        KeyValue::new("service.instance.id", uuid::Uuid::new_v4().to_string()),
        KeyValue::new("deployment.environment.name", "local"),
        KeyValue::new("host.name", host_name()),
    ];
    Resource::builder_empty()
        .with_detector(Box::new(TelemetryResourceDetector))
        .with_attributes(defaults)
        .with_detector(Box::new(EnvResourceDetector::new()))
        .with_service_name(config.service_name.clone())
        .build()
}

fn host_name() -> String {
    // Linux exposes the kernel's host name here; containers set it to the container name.
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".to_owned())
}
