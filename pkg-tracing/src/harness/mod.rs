//! Test support, and the no-Docker way to look at a trace.
//!
//! * [`Collector`] — a real OTLP/gRPC trace receiver (tonic + opentelemetry-proto) running
//!   in-process, recording every exported span and letting a test wait for them.
//! * [`service_graph`] — the service-graph edges Tempo's metrics-generator would draw from the
//!   same spans, computed with its pairing rules.
//! * [`render_trace`] / [`render_edges`] — the text the `trace-view` binary prints.
//! * [`serve_http`] — trace-view's HTTP API: a trace by id (Tempo's route and OTLP JSON) and
//!   the service graph of the last minutes, for the controller's web page without Docker.
//! * [`ServiceProcess`] — real service binaries in tests, stopped with SIGTERM.
//! * [`openmetrics`] — a strict parser of `/metrics` scrapes (OpenMetrics text format).
//! * [`test_telemetry`] — the real telemetry pipeline for in-process tests.

mod collector;
mod counting;
mod graph;
mod http_api;
pub mod openmetrics;
mod process;
mod span;
mod telemetry;
mod tempdir;
mod tree;

pub use collector::Collector;
pub use graph::{Edge, EdgeKind, PEER_ATTRIBUTES, service_graph};
pub use http_api::{RecentTraces, otlp_json, serve_http};
pub use process::{ServiceProcess, service_command};
pub use span::{AttrValue, RecordedSpan, SpanKind, SpanStatus};
pub use telemetry::test_telemetry;
pub use tempdir::{TempDir, temp_dir};
pub use tree::{render_edges, render_trace};
