//! Skein's telemetry, configured in one place.
//!
//! * [`init`] — resource, sampler, OTLP/gRPC exporter with a batch processor, W3C trace-context
//!   and baggage propagators, JSON logs carrying `trace_id`/`span_id`; returns the
//!   [`TelemetryGuard`] that flushes on every exit path.
//! * [`SpanExt`] — a span's OpenTelemetry context, parent, and what is added to it after it
//!   was made.
//! * [`RequestTracing`] — the actix middleware: SERVER spans, correlation id, `traceresponse`,
//!   and a JSON 500 (with an Error span) for a handler that panics.
//! * [`InternalClient`] / [`ExternalClient`] — awc clients with CLIENT spans; only the internal
//!   one propagates context.
//! * [`spawn_blocking_in_span`], [`continue_trace`], [`record_error`] — keeping traces whole
//!   (and saying so when they cannot be) and failures visible.
//! * [`metrics`] — `GET /metrics` (OpenMetrics) with trace exemplars: HTTP server and client
//!   durations, process and exporter health, and each service's own series.
//! * `harness` feature — an in-process OTLP collector that computes Tempo's service-graph edges,
//!   and the `trace-view` terminal viewer built on it.

mod ask_every_time;
mod blocking;
mod client;
mod config;
mod current_context;
mod errors;
mod exporter;
mod hex_ids;
mod logs;
pub mod metrics;
mod middleware;
mod otlp;
mod propagation;
mod resource;
mod spans;
mod telemetry;

#[cfg(feature = "harness")]
pub mod harness;

pub use blocking::spawn_blocking_in_span;
pub use client::{
    ClientError, ClientSettings, EXTERNAL_SITE, ExternalClient, HttpReply, InternalClient, redact_url,
    redact_url_str, redact_urls_in,
};
pub use config::{
    ConfigError, DEFAULT_OTLP_ENDPOINT, ExporterKind, LogFormat, SamplerConfig, SpanLimits, TelemetryConfig,
};
pub use errors::{cause_chain, mark_current_span, record_error};
pub use exporter::ExportStats;
pub use middleware::{
    CORRELATION_ID_HEADER, CORRELATION_ID_KEY, RequestTracing, TRACERESPONSE_HEADER, current_correlation_id,
    current_trace_id, internal_error_body, is_probe,
};
pub use propagation::{context_from_headers, continue_trace, current_context_headers, traceresponse};
pub use spans::{SetParentError, SpanExt};
pub use telemetry::{InitError, TelemetryGuard, init, init_with};

/// The telemetry variables, for a service's `--help`.
pub const ENV_HELP: &str = "  OTEL_SERVICE_NAME                    service.name (default: the service's own name)
  OTEL_RESOURCE_ATTRIBUTES             extra resource attributes, k=v,k2=v2
  OTEL_EXPORTER_OTLP_ENDPOINT          OTLP/gRPC collector (default: http://localhost:4317)
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT   same, for traces only; wins over the above
  OTEL_TRACES_SAMPLER, _ARG            always_on|always_off|traceidratio|parentbased_* (default: parentbased_always_on)
  OTEL_TRACES_EXPORTER                 otlp|console|none (default: otlp)
  OTEL_SDK_DISABLED                    true: export nothing, still forward context (default: false)
  OTEL_BSP_SCHEDULE_DELAY, OTEL_BSP_MAX_QUEUE_SIZE, OTEL_BSP_MAX_EXPORT_BATCH_SIZE, OTEL_BSP_EXPORT_TIMEOUT
                                       span batching (SDK defaults: 5000 ms, 2048, 512, 30000 ms)
  OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT, OTEL_SPAN_EVENT_COUNT_LIMIT, OTEL_SPAN_LINK_COUNT_LIMIT
                                       what one span keeps at most (SDK defaults: 128 each)
  URL_QUERY_ALLOWLIST                  query keys whose values show in url.full and logs (default: none)
  RUST_LOG                             log filter (default: info)
  LOG_FORMAT                           json|pretty (default: pretty on a terminal, else json)
";
