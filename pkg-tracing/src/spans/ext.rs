//! What code can do to a `tracing` span's OpenTelemetry side: read its context (to carry it
//! somewhere), give it a caller's context as its parent, and add attributes, a status or events
//! that were not fields when it was made.

use std::borrow::Cow;

use opentelemetry::KeyValue;
use opentelemetry::trace::{SpanContext, Status};
use tracing_subscriber::registry::{LookupSpan as _, Registry};

use super::layer::SpanLayer;
use super::record::{EventFields, SpanRecord, now_nanos};

/// Why a parent could not be set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SetParentError {
    #[error("the span is not traced (disabled, or no Skein telemetry is installed)")]
    NotTraced,
    #[error(
        "the span's context was already handed out (to a child, a header or a log line); its parent can no longer change"
    )]
    AlreadyStarted,
}

/// The OpenTelemetry side of a `tracing` span made under Skein's telemetry.
pub trait SpanExt {
    /// Makes the context carried in `cx` (a caller's, extracted from headers) this span's parent:
    /// its trace, sampling decision and baggage. Call it before the span's context is used.
    fn set_parent(&self, cx: opentelemetry::Context) -> Result<(), SetParentError>;
    /// The span's context (ids, flags, trace state, baggage); empty for a span that is not
    /// traced.
    fn context(&self) -> opentelemetry::Context;
    /// The span's ids, flags and trace state alone (for a `traceresponse`, an exemplar): what
    /// `context()` holds without building a context around it. Invalid for a span that is not
    /// traced.
    fn span_context(&self) -> SpanContext;
    /// An attribute that was not a field when the span was made.
    fn set_attribute(&self, key: &str, value: impl Into<opentelemetry::Value>);
    fn set_status(&self, status: Status);
    /// An event, now, with `attributes`.
    fn add_event(&self, name: impl Into<Cow<'static, str>>, attributes: Vec<KeyValue>);
    /// A link to another span, in this trace or another (a retried job's previous attempt).
    fn add_link(&self, to: SpanContext);
}

/// Runs `f` on the record of `span` and the layer that keeps it.
fn with_record<R>(span: &tracing::Span, f: impl FnOnce(&SpanLayer, &mut SpanRecord) -> R) -> Option<R> {
    span.with_subscriber(|(id, dispatch)| {
        let layer = dispatch.downcast_ref::<SpanLayer>()?;
        let span = dispatch.downcast_ref::<Registry>()?.span(id)?;
        let mut extensions = span.extensions_mut();
        extensions.get_mut::<SpanRecord>().map(|record| f(layer, record))
    })
    .flatten()
}

impl SpanExt for tracing::Span {
    fn set_parent(&self, cx: opentelemetry::Context) -> Result<(), SetParentError> {
        with_record(self, |layer, record| {
            if record.is_handed_out() {
                return Err(SetParentError::AlreadyStarted);
            }
            layer.reparent(record, cx);
            Ok(())
        })
        .unwrap_or(Err(SetParentError::NotTraced))
    }

    fn context(&self) -> opentelemetry::Context {
        with_record(self, |_, record| record.context()).unwrap_or_default()
    }

    fn span_context(&self) -> SpanContext {
        with_record(self, |_, record| record.span_context()).unwrap_or_else(SpanContext::empty_context)
    }

    fn set_attribute(&self, key: &str, value: impl Into<opentelemetry::Value>) {
        let value = value.into();
        with_record(self, |_, record| {
            if let Some(recording) = record.recording.as_mut() {
                recording.attribute_value(key, &value);
            }
        });
    }

    fn set_status(&self, status: Status) {
        with_record(self, |_, record| {
            if let Some(recording) = record.recording.as_mut() {
                recording.status = status;
            }
        });
    }

    fn add_link(&self, to: SpanContext) {
        if !to.is_valid() {
            return;
        }
        with_record(self, |_, record| {
            if let Some(recording) = record.recording.as_mut() {
                recording.link(&to);
            }
        });
    }

    fn add_event(&self, name: impl Into<Cow<'static, str>>, attributes: Vec<KeyValue>) {
        let name = name.into();
        let nanos = now_nanos();
        with_record(self, |_, record| {
            let Some(recording) = record.recording.as_mut() else { return };
            let mut bytes = Vec::new();
            let mut fields = EventFields::new(&mut bytes);
            for kv in &attributes {
                fields.value(kv.key.as_str(), &kv.value);
            }
            let dropped = fields.dropped;
            recording.event(&name, nanos, &bytes, dropped);
        });
    }
}
