//! Skein's telemetry, configured in one place.
//!
//! * [`init`] — resource, sampler, OTLP/gRPC exporter with a batch processor, W3C trace-context
//!   and baggage propagators, JSON logs carrying `trace_id`/`span_id`; returns the
//!   [`TelemetryGuard`] that flushes on every exit path.
//! * [`RequestTracing`] — the actix middleware: SERVER spans, correlation id, `traceresponse`.
//! * [`InternalClient`] / [`ExternalClient`] — awc clients with CLIENT spans; only the internal
//!   one propagates context.
//! * [`spawn_blocking_in_span`], [`record_error`] — keeping traces whole and failures visible.
//! * `harness` feature — an in-process OTLP collector that computes Tempo's service-graph edges,
//!   and the `trace-view` terminal viewer built on it.

mod blocking;
mod client;
mod config;
mod errors;
mod exporter;
mod logs;
mod middleware;
mod propagation;
mod resource;
mod telemetry;

#[cfg(feature = "harness")]
pub mod harness;

pub use blocking::spawn_blocking_in_span;
pub use client::{ClientError, ClientSettings, ExternalClient, HttpReply, InternalClient, redact_url};
pub use config::{
    ConfigError, DEFAULT_OTLP_ENDPOINT, ExporterKind, LogFormat, SamplerConfig, TelemetryConfig,
};
pub use errors::{cause_chain, record_error};
pub use exporter::ExportStats;
pub use middleware::{
    CORRELATION_ID_HEADER, CORRELATION_ID_KEY, RequestTracing, TRACERESPONSE_HEADER, current_correlation_id,
    current_trace_id,
};
pub use propagation::traceresponse;
pub use telemetry::{InitError, TelemetryGuard, init, init_with};
