//! The analyzer's own series, next to the shared HTTP and process ones.

use std::time::Duration;

use pkg_tracing::metrics::{DURATION_BUCKETS, TraceExemplar};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::exemplar::HistogramWithExemplars;
use prometheus_client::registry::Registry;

/// Cheap to clone; shared by every worker.
#[derive(Clone, Debug)]
pub struct AnalyzerMetrics {
    text_bytes: Counter,
    duration: HistogramWithExemplars<TraceExemplar>,
}

impl AnalyzerMetrics {
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self {
            text_bytes: Counter::default(),
            duration: HistogramWithExemplars::new(DURATION_BUCKETS.into_iter()),
        };
        registry.register("skein_analyzer_text_bytes", "Bytes of text analysed", metrics.text_bytes.clone());
        registry.register(
            "skein_analyzer_analysis_duration_seconds",
            "CPU time of one analysis (without the wait for a CPU slot)",
            metrics.duration.clone(),
        );
        metrics
    }

    /// One analysis of `bytes` that took `took`, in the current span (the exemplar).
    pub fn analysed(&self, bytes: usize, took: Duration) {
        self.text_bytes.inc_by(bytes as u64);
        let exemplar = TraceExemplar::current();
        let time = exemplar.as_ref().map(|_| std::time::SystemTime::now());
        self.duration.observe(took.as_secs_f64(), exemplar, time);
    }
}
