//! JSON log lines that carry the trace and span ids of the span they were written in, so a log
//! line leads to its trace (Loki → Tempo) and a trace to its log lines.

use std::fmt;

use opentelemetry::baggage::BaggageExt;
use opentelemetry::trace::TraceContextExt;
use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_log::NormalizeEvent as _;
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

use crate::CORRELATION_ID_KEY;
use crate::current_context::OwnDispatch;

/// One JSON object per line: `timestamp`, `level`, `service`, `target`, `message`, the event's
/// fields, the enclosing `span` name, and `trace_id`/`span_id`/`correlation_id` when inside a
/// trace. Records of the `log` crate (actix-web, awc, sqlx) come out the same way, with their
/// own target and level.
pub(crate) struct JsonLines {
    pub(crate) service: String,
    pub(crate) dispatch: OwnDispatch,
}

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut line = Map::new();
        let mut timestamp = String::new();
        SystemTime.format_time(&mut Writer::new(&mut timestamp))?;
        // A `log` record arrives as an event of the `log` target with its real target in
        // `log.*` fields: report the real one and leave those fields out.
        let normalized = event.normalized_metadata();
        let meta = normalized.as_ref().unwrap_or_else(|| event.metadata());
        line.insert("timestamp".into(), timestamp.into());
        line.insert("level".into(), meta.level().as_str().into());
        line.insert("service".into(), self.service.clone().into());
        line.insert("target".into(), meta.target().into());
        event.record(&mut JsonFields { line: &mut line, from_log: normalized.is_some() });
        // A milestone has no message: its name says what happened.
        if crate::telemetry::is_milestone(meta) {
            line.entry("message").or_insert_with(|| meta.name().into());
        }
        // The traced span the event was written in, however RUST_LOG filters spans out of the
        // logs: its name and ids (with the SDK disabled too, where the context is the one
        // received from the caller).
        let (span, cx) = self.dispatch.traced_span().unzip();
        if let Some(name) = span {
            line.insert("span".into(), name.into());
        }
        let cx = cx.unwrap_or_default();
        let span = cx.span();
        let ids = span.span_context();
        if ids.is_valid() {
            line.insert("trace_id".into(), crate::hex_ids::trace_id(ids.trace_id()).into());
            line.insert("span_id".into(), crate::hex_ids::span_id(ids.span_id()).into());
        }
        if let Some(id) = cx.baggage().get(CORRELATION_ID_KEY) {
            line.insert("correlation_id".into(), id.as_str().into());
        }
        let json = serde_json::to_string(&line).map_err(|_| fmt::Error)?;
        writeln!(writer, "{json}")
    }
}

/// The JSON log layer's span-field formatter: nothing. The fmt layer formats every new span's
/// fields into a string kept on the span, for event formatters that print them; `JsonLines`
/// prints the span's name and ids, never those fields, so formatting them was CPU and an
/// allocation per span for nothing.
pub(crate) struct NoSpanFields;

impl<'writer> FormatFields<'writer> for NoSpanFields {
    fn format_fields<R: RecordFields>(&self, _writer: Writer<'writer>, _fields: R) -> fmt::Result {
        Ok(())
    }

    fn add_fields(
        &self,
        _current: &'writer mut FormattedFields<Self>,
        _fields: &tracing::span::Record<'_>,
    ) -> fmt::Result {
        Ok(())
    }
}

struct JsonFields<'a> {
    line: &'a mut Map<String, Value>,
    /// A `log` record: its `log.target`, `log.file`… fields are the bridge's, not the writer's.
    from_log: bool,
}

impl JsonFields<'_> {
    fn insert(&mut self, field: &Field, value: Value) {
        if !(self.from_log && field.name().starts_with("log.")) {
            self.line.insert(field.name().into(), value);
        }
    }
}

impl Visit for JsonFields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.insert(field, value.into());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.insert(field, value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.insert(field, value.into());
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.insert(field, value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.insert(field, value.into());
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.insert(field, value.to_string().into());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.insert(field, format!("{value:?}").into());
    }
}
