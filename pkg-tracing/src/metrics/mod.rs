//! `GET /metrics` in the OpenMetrics text format, with exemplars that open the trace behind a
//! point (`prometheus-client`: the OpenTelemetry Rust metrics SDK fills no exemplars yet).
//!
//! * [`MetricsBuilder`] — one registry per application: the HTTP server and client metrics,
//!   process and telemetry collectors, plus whatever the service registers itself.
//! * [`Metrics`] — the finished registry: [`Metrics::configure`] mounts `GET /metrics`
//!   (untraced, never faulted, no admin token) and hands the request middleware its metrics.
//! * [`TraceExemplar`] — the `trace_id`/`span_id` exemplar of a sampled span; unsampled spans
//!   give none, so an exemplar always names a trace that was exported.
//!
//! Label values are never user-controlled: methods outside the known set are `_OTHER`, routes
//! are templates (`unmatched` when none matched), peers are configured service names or
//! `external`. The README's metrics table lists every series and its labels.

mod http;
mod process;
mod telemetry;

use std::fmt::Write as _;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::SystemTime;

use crate::SpanExt as _;
use actix_web::{HttpResponse, web};
use opentelemetry::trace::TraceContextExt as _;
use opentelemetry::trace::{SpanId, TraceId};
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelSetEncoder, LabelValueEncoder};
use prometheus_client::registry::Registry;

pub use http::{ClientLabels, EXTERNAL_PEER, HttpClientMetrics, HttpServerMetrics, UNMATCHED_ROUTE};
pub use process::ProcessCollector;
pub use telemetry::TelemetryCollector;
pub(crate) use telemetry::set_export_stats;

/// The route the scrape is served at; the request middleware and fault injection skip it.
pub const METRICS_ROUTE: &str = "/metrics";

/// The OpenMetrics media type Prometheus asks for when exemplars are wanted.
pub const OPENMETRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Latency buckets in seconds, from a cached answer (5 ms) to a slow page fetch (30 s).
pub const DURATION_BUCKETS: [f64; 14] =
    [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0, 30.0];

/// The exemplar of one observation: the span it was made in, as the labels `trace_id` and
/// `span_id`. The ids are kept as they are and written as hex only when a scrape reads them: a
/// request makes several observations, a scrape every few seconds reads one per series.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct TraceExemplar {
    trace_id: TraceId,
    span_id: SpanId,
}

impl EncodeLabelSet for TraceExemplar {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> Result<(), std::fmt::Error> {
        (
            [("trace_id", HexLabel(crate::hex_ids::trace_id(self.trace_id)))],
            [("span_id", HexLabel(crate::hex_ids::span_id(self.span_id)))],
        )
            .encode(encoder)
    }
}

/// An id written as a label value.
struct HexLabel(String);

impl EncodeLabelValue for HexLabel {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        encoder.write_str(&self.0)
    }
}

impl TraceExemplar {
    /// The exemplar of `span` if it is sampled (recorded and exported); else none: an exemplar
    /// must open a trace that exists.
    pub fn of_span(span: &tracing::Span) -> Option<Self> {
        Self::of_span_context(&span.span_context())
    }

    /// The same, for the span of an OpenTelemetry context.
    pub fn of_context(cx: &opentelemetry::Context) -> Option<Self> {
        Self::of_span_context(cx.span().span_context())
    }

    /// The same, from a span's ids.
    pub fn of_span_context(ids: &opentelemetry::trace::SpanContext) -> Option<Self> {
        (ids.is_valid() && ids.is_sampled())
            .then(|| Self { trace_id: ids.trace_id(), span_id: ids.span_id() })
    }

    /// The current span's exemplar, if sampled.
    pub fn current() -> Option<Self> {
        Self::of_span(&tracing::Span::current())
    }
}

/// An exemplar's timestamp: Grafana places the exemplar's dot at the time of the request.
pub(crate) fn exemplar_time() -> Option<SystemTime> {
    Some(SystemTime::now())
}

/// Work run before each scrape, e.g. refreshing gauges that are read from a store.
pub type ScrapeHook = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = ()>>> + Send + Sync>;

/// Collects one application's metrics; [`MetricsBuilder::build`] freezes the registry.
pub struct MetricsBuilder {
    registry: Registry,
    server: HttpServerMetrics,
    client: HttpClientMetrics,
    before_scrape: Option<ScrapeHook>,
}

impl Default for MetricsBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl MetricsBuilder {
    /// A registry holding what every service has: HTTP server and client metrics, the process
    /// and the span exporter.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let server = HttpServerMetrics::register(&mut registry);
        let client = HttpClientMetrics::register(&mut registry);
        registry.register_collector(Box::new(ProcessCollector));
        registry.register_collector(Box::new(TelemetryCollector));
        Self { registry, server, client, before_scrape: None }
    }

    /// Where a service registers its own metrics.
    pub fn registry(&mut self) -> &mut Registry {
        &mut self.registry
    }

    /// The client metrics, for the service's `InternalClient`s and `ExternalClient`s.
    pub fn http_client(&self) -> HttpClientMetrics {
        self.client.clone()
    }

    /// Runs `hook` before every scrape (gauges read from a store, say). A hook must not fail
    /// the scrape: it logs its own trouble and leaves the last values in place.
    pub fn before_scrape(mut self, hook: ScrapeHook) -> Self {
        self.before_scrape = Some(hook);
        self
    }

    pub fn build(self) -> Metrics {
        Metrics(Arc::new(Inner {
            registry: self.registry,
            server: self.server,
            client: self.client,
            before_scrape: self.before_scrape,
        }))
    }
}

struct Inner {
    registry: Registry,
    server: HttpServerMetrics,
    client: HttpClientMetrics,
    before_scrape: Option<ScrapeHook>,
}

/// One application's metrics. Cheap to clone.
#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    pub fn builder() -> MetricsBuilder {
        MetricsBuilder::new()
    }

    pub fn http_server(&self) -> &HttpServerMetrics {
        &self.0.server
    }

    pub fn http_client(&self) -> HttpClientMetrics {
        self.0.client.clone()
    }

    /// The exposition: every family, then `# EOF`.
    pub fn encode(&self) -> String {
        let mut text = String::with_capacity(16 * 1024);
        // Writing into a String cannot fail; an encoder error would be a bug in a metric.
        if let Err(error) = prometheus_client::encoding::text::encode(&mut text, &self.0.registry) {
            tracing::error!(%error, "encoding the metrics failed");
        }
        text
    }

    /// Mounts `GET /metrics` and gives the request middleware ([`crate::RequestTracing`]) the
    /// server metrics to record into: `App::new().configure(metrics.configure())`.
    pub fn configure(&self) -> impl FnOnce(&mut web::ServiceConfig) + use<> {
        let data = web::Data::new(self.clone());
        move |cfg| {
            cfg.app_data(data).route(METRICS_ROUTE, web::get().to(scrape));
        }
    }
}

/// `GET /metrics`.
async fn scrape(metrics: web::Data<Metrics>) -> HttpResponse {
    if let Some(hook) = &metrics.0.before_scrape {
        hook().await;
    }
    HttpResponse::Ok().content_type(OPENMETRICS_CONTENT_TYPE).body(metrics.encode())
}
