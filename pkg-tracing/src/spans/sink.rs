//! Where ended spans go: the OTLP processor (encoded and batched for the collector) or the
//! console (a line each on stderr, for a developer without a collector).

use std::io::Write as _;
use std::time::Duration;

use opentelemetry::trace::{SpanKind, Status};

use super::record::{Recording, SpanRecord};
use crate::otlp::EncodingProcessor;

pub(crate) enum SpanSink {
    Otlp(EncodingProcessor),
    Console { service: String },
}

impl SpanSink {
    /// A sampled span has ended at `end_nanos`.
    pub(crate) fn end(&self, record: &SpanRecord, recording: &Recording, end_nanos: u64) {
        match self {
            SpanSink::Otlp(processor) => processor.on_end(record, recording, end_nanos),
            SpanSink::Console { service } => print_span(service, record, recording, end_nanos),
        }
    }

    /// Exports everything queued so far and waits for it, at most `timeout`.
    pub(crate) fn flush(&self, timeout: Option<Duration>) -> Result<(), String> {
        match self {
            SpanSink::Otlp(processor) => processor.flush(timeout),
            SpanSink::Console { .. } => Ok(()),
        }
    }

    /// Exports everything queued and accepts no more spans.
    pub(crate) fn shutdown(&self, timeout: Duration) -> Result<(), String> {
        match self {
            SpanSink::Otlp(processor) => processor.shutdown(timeout),
            SpanSink::Console { .. } => Ok(()),
        }
    }
}

fn print_span(service: &str, record: &SpanRecord, recording: &Recording, end_nanos: u64) {
    let took_ms = end_nanos.saturating_sub(recording.start_nanos) as f64 / 1e6;
    let status = match &recording.status {
        Status::Unset => "unset".to_owned(),
        Status::Ok => "ok".to_owned(),
        Status::Error { description } => format!("error: {description}"),
    };
    let kind = match recording.kind {
        SpanKind::Client => "Client",
        SpanKind::Server => "Server",
        SpanKind::Producer => "Producer",
        SpanKind::Consumer => "Consumer",
        SpanKind::Internal => "Internal",
    };
    let _ = writeln!(
        std::io::stderr().lock(),
        "span trace_id={} span_id={} parent={} service={} kind={} name={:?} duration_ms={:.3} status={:?} at={}",
        record.context.trace_id(),
        record.context.span_id(),
        record.parent_span_id,
        service,
        kind,
        recording.name,
        took_ms,
        status,
        recording.start_nanos / 1_000_000,
    );
}
