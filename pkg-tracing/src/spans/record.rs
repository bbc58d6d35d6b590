//! What Skein keeps for each traced span, in the span's registry extensions: its place in the
//! trace, and while it records, its fields already encoded as OTLP attributes.

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt::{self, Write as _};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry::trace::{SpanContext, SpanId, SpanKind, Status, TraceContextExt as _};
use tracing::field::{Field, Visit};

use super::callsite::{EVENT_ATTRIBUTES, SPAN_ATTRIBUTES, with_callsite_attributes};
use crate::config::SpanLimits;
use crate::otlp::attributes::{AttributeValue, put_attribute};

/// Attributes one event keeps at most (the SDK's default; no variable sets it). What is over a
/// limit is counted as dropped, as OTLP has fields for.
const MAX_EVENT_ATTRIBUTES: u32 = 128;

pub(crate) struct SpanRecord {
    /// This span's ids, flags and trace state: what children inherit and outgoing calls carry.
    /// With the SDK disabled it is the caller's, forwarded unchanged.
    pub(crate) context: SpanContext,
    pub(crate) parent_span_id: SpanId,
    pub(crate) parent_is_remote: bool,
    /// The context the span was started under (a caller's baggage lives here); the span's own
    /// context is built on it when asked for.
    pub(crate) parent_cx: opentelemetry::Context,
    /// Set once the span's context was handed out (to a child, a header, a log line): from then
    /// on its parent, hence its trace id, can no longer change.
    pub(crate) handed_out: AtomicBool,
    /// `None` when nothing is exported (no exporter, or the SDK disabled).
    pub(crate) recording: Option<Recording>,
}

impl SpanRecord {
    /// The span's context as OpenTelemetry code expects it, and from now on a fixed one.
    pub(crate) fn context(&self) -> opentelemetry::Context {
        self.handed_out.store(true, Ordering::Relaxed);
        self.parent_cx.with_remote_span_context(self.context.clone())
    }

    /// The span's ids, flags and trace state, from now on fixed.
    pub(crate) fn span_context(&self) -> SpanContext {
        self.handed_out.store(true, Ordering::Relaxed);
        self.context.clone()
    }

    /// What a child inherits: the span's context and the one it was started under.
    pub(crate) fn hand_out(&self) -> (SpanContext, opentelemetry::Context) {
        self.handed_out.store(true, Ordering::Relaxed);
        (self.context.clone(), self.parent_cx.clone())
    }

    pub(crate) fn is_handed_out(&self) -> bool {
        self.handed_out.load(Ordering::Relaxed)
    }
}

/// A recording span's name, kind, times, status, and its attributes and events as OTLP bytes.
pub(crate) struct Recording {
    pub(crate) name: Cow<'static, str>,
    pub(crate) kind: SpanKind,
    pub(crate) start_nanos: u64,
    pub(crate) status: Status,
    /// `Span.attributes` fields, tag and length included.
    pub(crate) attributes: Vec<u8>,
    pub(crate) attribute_count: u32,
    pub(crate) dropped_attributes: u32,
    /// `Span.events` fields, tag and length included.
    pub(crate) events: Vec<u8>,
    pub(crate) event_count: u32,
    pub(crate) dropped_events: u32,
    /// `Span.links` fields, tag and length included.
    pub(crate) links: Vec<u8>,
    pub(crate) link_count: u32,
    pub(crate) dropped_links: u32,
    pub(crate) limits: SpanLimits,
}

impl Recording {
    /// A span started now, with tracing-opentelemetry's span attributes: where in the code it
    /// was made and its target (encoded once per callsite and thread). Its own fields follow.
    pub(crate) fn new(meta: &'static tracing::Metadata<'static>, limits: SpanLimits) -> Self {
        let mut attributes = SPARE_BUFFERS
            .with(|spare| spare.try_borrow_mut().ok().and_then(|mut spare| spare.pop()))
            .unwrap_or_else(|| Vec::with_capacity(512));
        let attribute_count = with_callsite_attributes(meta, |callsite| {
            attributes.extend_from_slice(&callsite.before);
            callsite.before_count
        });
        let mut recording =
            Self::starting(Cow::Borrowed(meta.name()), now_nanos(), attributes, attribute_count);
        recording.limits = limits;
        recording
    }

    /// An internal span named `name`, started at `start_nanos`, with `attribute_count`
    /// attributes already in `attributes` and nothing else yet.
    pub(crate) fn starting(
        name: Cow<'static, str>,
        start_nanos: u64,
        attributes: Vec<u8>,
        attribute_count: u32,
    ) -> Self {
        Self {
            name,
            kind: SpanKind::Internal,
            start_nanos,
            status: Status::Unset,
            attributes,
            attribute_count,
            dropped_attributes: 0,
            events: Vec::new(),
            event_count: 0,
            dropped_events: 0,
            links: Vec::new(),
            link_count: 0,
            dropped_links: 0,
            limits: SpanLimits::default(),
        }
    }

    /// Done with: its attribute buffer is kept for a span that starts on this thread later.
    pub(crate) fn recycle(self) {
        let mut attributes = self.attributes;
        if attributes.capacity() > MAX_SPARE_CAPACITY {
            return;
        }
        attributes.clear();
        SPARE_BUFFERS.with(|spare| {
            if let Ok(mut spare) = spare.try_borrow_mut()
                && spare.len() < MAX_SPARE_BUFFERS
            {
                spare.push(attributes);
            }
        });
    }

    pub(crate) fn attribute(&mut self, key: &str, value: AttributeValue<'_>) {
        if admit(&mut self.attribute_count, &mut self.dropped_attributes, self.limits.attributes) {
            put_attribute(&mut self.attributes, SPAN_ATTRIBUTES, key, value);
        }
    }

    /// An attribute given as an OpenTelemetry value (`SpanExt::set_attribute`).
    pub(crate) fn attribute_value(&mut self, key: &str, value: &opentelemetry::Value) {
        if admit(&mut self.attribute_count, &mut self.dropped_attributes, self.limits.attributes) {
            crate::otlp::put_key_value(&mut self.attributes, SPAN_ATTRIBUTES, key, value);
        }
    }

    /// Appends an `Event` at time `nanos` whose `attributes` are already `KeyValue` fields under
    /// number 3 (written by [`put_attribute`]).
    pub(crate) fn event(&mut self, name: &str, nanos: u64, attributes: &[u8], dropped_attributes: u32) {
        if admit(&mut self.event_count, &mut self.dropped_events, self.limits.events) {
            crate::otlp::put_event(&mut self.events, nanos, name, attributes, dropped_attributes);
        }
    }

    /// A link to another span (a job's previous attempt).
    pub(crate) fn link(&mut self, to: &SpanContext) {
        if admit(&mut self.link_count, &mut self.dropped_links, self.limits.links) {
            crate::otlp::put_link(&mut self.links, to);
        }
    }
}

/// Counts one more item against `limit`: kept (true) while under it, else counted as dropped.
fn admit(kept: &mut u32, dropped: &mut u32, limit: u32) -> bool {
    if *kept >= limit {
        *dropped += 1;
        return false;
    }
    *kept += 1;
    true
}

/// Attribute buffers kept per thread for the next spans, and how large one may be to be kept.
const MAX_SPARE_BUFFERS: usize = 64;
const MAX_SPARE_CAPACITY: usize = 16 * 1024;

thread_local! {
    /// Attribute buffers of spans that ended on this thread.
    static SPARE_BUFFERS: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

pub(crate) fn now_nanos() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos() as u64
}

/// tracing-opentelemetry's special fields: `otel.name`, `otel.kind`, `otel.status_code` and
/// `otel.status_description` set the span's name, kind and status instead of attributes.
pub(crate) struct SpanFields<'a>(pub(crate) &'a mut Recording);

impl SpanFields<'_> {
    fn text(&mut self, field: &Field, value: &str) {
        let name = field.name();
        // Most fields are attributes: one prefix test tells them apart.
        let Some(special) = name.strip_prefix("otel.") else {
            return self.0.attribute(name, AttributeValue::Str(value));
        };
        match special {
            "name" => self.0.name = Cow::Owned(value.to_owned()),
            "kind" => {
                if let Some(kind) = kind_named(value) {
                    self.0.kind = kind;
                }
            }
            "status_code" => self.0.status = status_named(value),
            "status_description" => self.0.status = Status::error(value.to_owned()),
            _ => self.0.attribute(name, AttributeValue::Str(value)),
        }
    }
}

impl Visit for SpanFields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.text(field, value);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        with_formatted(value, |text| self.text(field, text));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.attribute(field.name(), AttributeValue::I64(value));
    }

    /// An unsigned number is an integer when it fits OTLP's `int64`, else its digits.
    fn record_u64(&mut self, field: &Field, value: u64) {
        match i64::try_from(value) {
            Ok(value) => self.record_i64(field, value),
            Err(_) => self.record_debug(field, &value),
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.attribute(field.name(), AttributeValue::Bool(value));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.attribute(field.name(), AttributeValue::F64(value));
    }

    /// An error field: its message and source chain, and the `exception.*` attributes trace
    /// back-ends read, as tracing-opentelemetry records them.
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        error_attributes(field, value, |key, value| self.0.attribute(key, value));
    }
}

/// An error field as tracing-opentelemetry records one, on a span or an event: the
/// `exception.*` attributes trace back-ends read, then the field's message and source chain.
fn error_attributes(
    field: &Field,
    error: &(dyn std::error::Error + 'static),
    mut attribute: impl FnMut(&str, AttributeValue<'_>),
) {
    let message = error.to_string();
    let mut chain = Vec::new();
    let mut next = error.source();
    while let Some(source) = next {
        chain.push(source.to_string());
        next = source.source();
    }
    attribute("exception.message", AttributeValue::Str(&message));
    attribute("exception.stacktrace", AttributeValue::Strs(&chain));
    attribute(field.name(), AttributeValue::Str(&message));
    attribute(&format!("{}.chain", field.name()), AttributeValue::Strs(&chain));
}

/// A milestone event's fields, as tracing-opentelemetry records an event's: `message` names
/// the event, an `error` field on an event without one makes it an `exception` event and the
/// span's status Error, fields of the `log` crate's records are left out.
pub(crate) struct EventFields<'a> {
    pub(crate) attributes: &'a mut Vec<u8>,
    pub(crate) count: u32,
    pub(crate) dropped: u32,
    pub(crate) name: Option<String>,
    pub(crate) status: Option<Status>,
}

impl<'a> EventFields<'a> {
    /// An event's fields, written into `attributes` (cleared first).
    pub(crate) fn new(attributes: &'a mut Vec<u8>) -> Self {
        attributes.clear();
        Self { attributes, count: 0, dropped: 0, name: None, status: None }
    }

    pub(crate) fn attribute(&mut self, key: &str, value: AttributeValue<'_>) {
        if admit(&mut self.count, &mut self.dropped, MAX_EVENT_ATTRIBUTES) {
            put_attribute(self.attributes, EVENT_ATTRIBUTES, key, value);
        }
    }

    /// `count` attributes already encoded (a callsite's fixed ones), if all of them are within
    /// the limit; else nothing, and false.
    pub(crate) fn encoded(&mut self, attributes: &[u8], count: u32) -> bool {
        if self.count + count > MAX_EVENT_ATTRIBUTES {
            return false;
        }
        self.attributes.extend_from_slice(attributes);
        self.count += count;
        true
    }

    /// An attribute given as an OpenTelemetry value (`SpanExt::add_event`).
    pub(crate) fn value(&mut self, key: &str, value: &opentelemetry::Value) {
        if admit(&mut self.count, &mut self.dropped, MAX_EVENT_ATTRIBUTES) {
            crate::otlp::put_key_value(self.attributes, EVENT_ATTRIBUTES, key, value);
        }
    }

    fn text(&mut self, field: &Field, value: &str, debug: &dyn fmt::Debug) {
        match field.name() {
            "message" => self.name = Some(value.to_owned()),
            "error" if self.name.is_none() => {
                let text = format!("{debug:?}");
                self.status = Some(Status::error(text.clone()));
                self.name = Some("exception".to_owned());
                self.attribute("exception.message", AttributeValue::Str(&text));
            }
            name if name.starts_with("log.") => {}
            name => self.attribute(name, AttributeValue::Str(value)),
        }
    }

    /// A number or a boolean: the event's name if it is the message, else an attribute.
    fn scalar(&mut self, field: &Field, value: AttributeValue<'_>, text: &dyn fmt::Display) {
        match field.name() {
            "message" => self.name = Some(text.to_string()),
            name if name.starts_with("log.") => {}
            name => self.attribute(name, value),
        }
    }
}

impl Visit for EventFields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.text(field, value, &value);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        with_formatted(value, |text| self.text(field, text, value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.scalar(field, AttributeValue::I64(value), &value);
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        match i64::try_from(value) {
            Ok(value) => self.record_i64(field, value),
            Err(_) => self.record_debug(field, &value),
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.scalar(field, AttributeValue::Bool(value), &value);
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.scalar(field, AttributeValue::F64(value), &value);
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        error_attributes(field, value, |key, value| self.attribute(key, value));
    }
}

thread_local! {
    /// Where `Debug` and `Display` fields are formatted: one buffer per thread, not a `String`
    /// per field.
    static FORMATTED: RefCell<String> = const { RefCell::new(String::new()) };
}

fn with_formatted(value: &dyn fmt::Debug, f: impl FnOnce(&str)) {
    FORMATTED.with(|buffer| match buffer.try_borrow_mut() {
        Ok(mut text) => {
            text.clear();
            let _ = write!(text, "{value:?}");
            f(&text);
        }
        // A `Debug` impl that records a span field itself: format into a buffer of its own.
        Err(_) => f(&format!("{value:?}")),
    });
}

fn kind_named(name: &str) -> Option<SpanKind> {
    [
        ("server", SpanKind::Server),
        ("client", SpanKind::Client),
        ("producer", SpanKind::Producer),
        ("consumer", SpanKind::Consumer),
        ("internal", SpanKind::Internal),
    ]
    .into_iter()
    .find(|(known, _)| name.eq_ignore_ascii_case(known))
    .map(|(_, kind)| kind)
}

fn status_named(name: &str) -> Status {
    if name.eq_ignore_ascii_case("ok") {
        Status::Ok
    } else if name.eq_ignore_ascii_case("error") {
        Status::error("")
    } else {
        Status::Unset
    }
}
