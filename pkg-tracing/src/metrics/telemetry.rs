//! The span exporter's own health: spans exported, spans dropped (in batches the collector
//! refused or never got) and failed exports, from [`ExportStats`].

use std::sync::{Arc, OnceLock};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric as _};
use prometheus_client::metrics::counter::ConstCounter;

use crate::exporter::ExportStats;

/// The process's exporter statistics, set by `init` (one telemetry pipeline per process).
static EXPORT_STATS: OnceLock<Arc<ExportStats>> = OnceLock::new();

pub(crate) fn set_export_stats(stats: Arc<ExportStats>) {
    let _ = EXPORT_STATS.set(stats);
}

#[derive(Debug, Default)]
pub struct TelemetryCollector;

impl Collector for TelemetryCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        // Before `init` (or with OTEL_SDK_DISABLED) nothing is exported: zeros, not absence,
        // so alerts on these series do not go blind.
        let zero = ExportStats::default();
        let stats = EXPORT_STATS.get().map_or(&zero, |s| s.as_ref());
        for (name, help, value) in [
            ("skein_telemetry_spans_exported", "Spans the OTLP collector accepted", stats.exported_spans()),
            (
                "skein_telemetry_spans_dropped",
                "Spans lost: in exports that failed (the collector was unreachable or refused them), or past a full queue",
                stats.lost_spans(),
            ),
            ("skein_telemetry_export_errors", "Span exports (batches) that failed", stats.failed_exports()),
        ] {
            let counter = ConstCounter::new(value);
            counter.encode(encoder.encode_descriptor(name, help, None, counter.metric_type())?)?;
        }
        Ok(())
    }
}
