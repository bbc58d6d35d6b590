//! The layer that turns Skein's `tracing` spans into OpenTelemetry spans, in place of
//! tracing-opentelemetry and the SDK's span pipeline (README, "Why Skein's own span layer").
//!
//! A span's identity is decided when it is made: its trace and span ids, parent and sampling
//! decision (the `OTEL_TRACES_SAMPLER` rules, [`super::sampler`]). While it lives, its fields are
//! written as OTLP attribute bytes as they are recorded; when it closes, the span is encoded in
//! one pass on the thread that closed it and queued for export. Entering and leaving a span —
//! every poll of an instrumented future — costs this layer nothing.

use std::sync::Arc;

use opentelemetry::trace::{SpanContext, SpanId, Status};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::{LookupSpan, SpanRef};

use super::callsite::{code_location, with_callsite_attributes};
use super::ids::{new_span_id, new_trace_id};
use super::record::{EventFields, Recording, SpanFields, SpanRecord, now_nanos};
use super::sampler::decide;
use super::sink::SpanSink;
use crate::config::{SamplerConfig, SpanLimits};

pub(crate) struct SpanLayer {
    /// The SDK is disabled: no spans of this service's own; the caller's context is forwarded
    /// as it came.
    pub(crate) forward_only: bool,
    pub(crate) sampler: SamplerConfig,
    pub(crate) limits: SpanLimits,
    /// Where sampled spans go; without one (`OTEL_TRACES_EXPORTER=none`) spans get ids and
    /// sampling decisions but record nothing.
    pub(crate) sink: Option<Arc<SpanSink>>,
}

impl SpanLayer {
    /// The record of a span whose nearest traced ancestor handed it `parent` (`None`: a root).
    fn new_record(
        &self,
        parent: Option<(SpanContext, opentelemetry::Context)>,
        meta: &'static tracing::Metadata<'static>,
    ) -> SpanRecord {
        let (parent_span, parent_cx) = parent.unzip();
        let parent_cx = parent_cx.unwrap_or_default();
        if self.forward_only {
            return SpanRecord {
                context: parent_span.unwrap_or_else(SpanContext::empty_context),
                parent_span_id: SpanId::INVALID,
                parent_is_remote: false,
                parent_cx,
                handed_out: Default::default(),
                recording: None,
            };
        }
        let (context, parent_span_id) = self.identity(parent_span.as_ref(), new_span_id());
        SpanRecord {
            context,
            parent_span_id,
            parent_is_remote: false,
            parent_cx,
            handed_out: Default::default(),
            recording: self.sink.is_some().then(|| Recording::new(meta, self.limits)),
        }
    }

    /// A span's context and parent id under `parent` (a new trace for a root).
    fn identity(&self, parent: Option<&SpanContext>, span_id: SpanId) -> (SpanContext, SpanId) {
        let parent = parent.filter(|p| p.is_valid());
        let trace_id = parent.map_or_else(new_trace_id, SpanContext::trace_id);
        let decision = decide(self.sampler, parent, trace_id);
        let context = SpanContext::new(trace_id, span_id, decision.flags, false, decision.trace_state);
        (context, parent.map_or(SpanId::INVALID, SpanContext::span_id))
    }

    /// Gives `record` the parent carried in `cx` (a caller's context): its trace, its sampling
    /// decision, its baggage. A context without a valid span makes the span a new root.
    pub(crate) fn reparent(&self, record: &mut SpanRecord, cx: opentelemetry::Context) {
        use opentelemetry::trace::TraceContextExt as _;
        let remote = cx.span().span_context().clone();
        if self.forward_only {
            record.context = remote;
        } else {
            let (context, parent_span_id) = self.identity(Some(&remote), record.context.span_id());
            record.context = context;
            record.parent_span_id = parent_span_id;
            record.parent_is_remote = remote.is_valid() && remote.is_remote();
        }
        record.parent_cx = cx;
    }
}

/// The context the nearest traced ancestor of `span` hands its children, if it has one.
fn inherited<S>(span: &SpanRef<'_, S>) -> Option<(SpanContext, opentelemetry::Context)>
where
    S: for<'a> LookupSpan<'a>,
{
    let mut next = span.parent();
    while let Some(ancestor) = next {
        if let Some(record) = ancestor.extensions().get::<SpanRecord>() {
            return Some(record.hand_out());
        }
        next = ancestor.parent();
    }
    None
}

/// The nearest span with a record, from `span` up.
fn with_nearest_record<S, R>(span: SpanRef<'_, S>, f: impl FnOnce(&mut SpanRecord) -> R) -> Option<R>
where
    S: for<'a> LookupSpan<'a>,
{
    let mut f = Some(f);
    for span in span.scope() {
        let mut extensions = span.extensions_mut();
        if let Some(record) = extensions.get_mut::<SpanRecord>() {
            return f.take().map(|f| f(record));
        }
    }
    None
}

impl<S> tracing_subscriber::Layer<S> for SpanLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let meta = attrs.metadata();
        let mut record = self.new_record(inherited(&span), meta);
        if let Some(recording) = record.recording.as_mut() {
            attrs.record(&mut SpanFields(recording));
        }
        span.extensions_mut().insert(record);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        if let Some(recording) = extensions.get_mut::<SpanRecord>().and_then(|r| r.recording.as_mut()) {
            values.record(&mut SpanFields(recording));
        }
    }

    /// A milestone (the filter lets no other event through) becomes an event of the span it
    /// happened in, with tracing-opentelemetry's attributes: `level`, `target`, the event's own
    /// fields, then where in the code it was written. An ERROR-level one makes the span's
    /// status Error, unless it already has one.
    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        if self.sink.is_none() {
            return;
        }
        let span = match event.parent() {
            Some(id) => ctx.span(id),
            None if event.is_contextual() => ctx.lookup_current(),
            None => None,
        };
        let Some(span) = span else { return };
        let meta = event.metadata();
        let nanos = now_nanos();
        EVENT_SCRATCH.with(|scratch| {
            let mut fresh = Vec::new();
            let mut borrowed = scratch.try_borrow_mut();
            let mut fields = EventFields::new(borrowed.as_deref_mut().unwrap_or(&mut fresh));
            with_callsite_attributes(meta, |callsite| {
                fields.encoded(&callsite.before, callsite.before_count);
                event.record(&mut fields);
                if !fields.encoded(&callsite.after, callsite.after_count) {
                    // Over the event's attribute limit: as many as still fit, one by one.
                    code_location(meta, |key, value| fields.attribute(key, value));
                }
            });
            let EventFields { attributes, dropped, name, status, .. } = fields;
            with_nearest_record(span, |record| {
                let Some(recording) = record.recording.as_mut() else { return };
                if recording.status == Status::Unset && *meta.level() == tracing::Level::ERROR {
                    recording.status = Status::error("");
                }
                if let Some(status) = status {
                    recording.status = status;
                }
                recording.event(name.as_deref().unwrap_or(meta.name()), nanos, attributes, dropped);
            });
        });
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let Some(mut record) = span.extensions_mut().remove::<SpanRecord>() else { return };
        if let Some(recording) = record.recording.take() {
            if let Some(sink) = &self.sink
                && record.context.is_sampled()
            {
                sink.end(&record, &recording, now_nanos());
            }
            recording.recycle();
        }
    }
}

thread_local! {
    /// An event's attributes are gathered here before they are copied into their span.
    static EVENT_SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}
