//! HTTP server and client metrics: request duration histograms with trace exemplars, and
//! requests in flight.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::exemplar::HistogramWithExemplars;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::{DURATION_BUCKETS, TraceExemplar, exemplar_time};

/// The `route` label of a request that matched no route: paths are user input and must never
/// become label values.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// The `peer` label of every call the external client makes: hosts are user input (submitted
/// URLs) and must never become label values. Spans name the host; metrics do not.
pub const EXTERNAL_PEER: &str = "external";

/// Labels of `http_server_request_duration_seconds`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ServerLabels {
    pub method: &'static str,
    pub route: String,
    pub status_code: u16,
}

/// Labels of `http_server_active_requests`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ActiveLabels {
    pub method: &'static str,
    pub route: String,
}

/// Labels of `http_client_request_duration_seconds`. `status_code` is the response's status,
/// or the kind of failure when there was none (`timeout`, `connect_error`, …; a fixed set).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ClientLabels {
    pub peer: String,
    pub method: &'static str,
    pub status_code: String,
}

fn duration_histogram() -> HistogramWithExemplars<TraceExemplar> {
    HistogramWithExemplars::new(DURATION_BUCKETS.into_iter())
}

type DurationFamily<L> =
    Family<L, HistogramWithExemplars<TraceExemplar>, fn() -> HistogramWithExemplars<TraceExemplar>>;

/// What the request middleware records. Cheap to clone.
#[derive(Clone, Debug)]
pub struct HttpServerMetrics {
    duration: DurationFamily<ServerLabels>,
    active: Family<ActiveLabels, Gauge>,
}

impl HttpServerMetrics {
    pub(crate) fn register(registry: &mut Registry) -> Self {
        let duration: DurationFamily<ServerLabels> = Family::new_with_constructor(duration_histogram);
        let active = Family::<ActiveLabels, Gauge>::default();
        registry.register(
            "http_server_request_duration_seconds",
            "Duration of HTTP requests served, by method, route template and status code",
            duration.clone(),
        );
        registry.register(
            "http_server_active_requests",
            "HTTP requests being served, by method and route template",
            active.clone(),
        );
        Self { duration, active }
    }

    /// Counts a request in flight until the returned guard is dropped (answered, failed or
    /// cancelled alike).
    pub fn start(&self, method: &'static str, route: &str) -> InFlight {
        let labels = ActiveLabels { method, route: route.to_owned() };
        self.active.get_or_create(&labels).inc();
        InFlight { active: self.active.clone(), labels }
    }

    /// Records one answered request.
    pub fn record(
        &self,
        method: &'static str,
        route: String,
        status_code: u16,
        took: Duration,
        exemplar: Option<TraceExemplar>,
    ) {
        let time = exemplar.as_ref().and_then(|_| exemplar_time());
        self.duration.get_or_create(&ServerLabels { method, route, status_code }).observe(
            took.as_secs_f64(),
            exemplar,
            time,
        );
    }
}

/// A request in flight; dropping it takes the request off `http_server_active_requests`.
pub struct InFlight {
    active: Family<ActiveLabels, Gauge>,
    labels: ActiveLabels,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.active.get_or_create(&self.labels).dec();
    }
}

/// What the internal and external clients record. Cheap to clone.
#[derive(Clone, Debug)]
pub struct HttpClientMetrics {
    duration: DurationFamily<ClientLabels>,
}

impl HttpClientMetrics {
    pub(crate) fn register(registry: &mut Registry) -> Self {
        let duration: DurationFamily<ClientLabels> = Family::new_with_constructor(duration_histogram);
        registry.register(
            "http_client_request_duration_seconds",
            "Duration of outgoing HTTP calls, by callee (peer), method and status code or failure kind",
            duration.clone(),
        );
        Self { duration }
    }

    /// A client that records nowhere (tools and tests that have no registry).
    pub fn unregistered() -> Self {
        Self { duration: Family::new_with_constructor(duration_histogram) }
    }

    pub fn record(&self, labels: &ClientLabels, took: Duration, exemplar: Option<TraceExemplar>) {
        let time = exemplar.as_ref().and_then(|_| exemplar_time());
        self.duration.get_or_create(labels).observe(took.as_secs_f64(), exemplar, time);
    }
}
