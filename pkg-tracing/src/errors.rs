//! Recording a failure on a span the way trace back-ends expect it.

use crate::SpanExt as _;
use opentelemetry::KeyValue;
use opentelemetry::trace::Status;

/// Marks `span` as failed: status Error with the message, `error.type` = `kind`, and an
/// `exception` event carrying the message and the whole cause chain.
pub fn record_error(span: &tracing::Span, kind: &str, error: &(dyn std::error::Error + 'static)) {
    let message = error.to_string();
    span.set_status(Status::error(message.clone()));
    span.set_attribute("error.type", kind.to_owned());
    span.add_event(
        "exception",
        vec![
            KeyValue::new("exception.type", kind.to_owned()),
            KeyValue::new("exception.message", message),
            KeyValue::new("exception.cause_chain", cause_chain(error)),
        ],
    );
}

/// Sets an attribute on the current span that was not declared when the span was created
/// (say, `fault.injected` from a middleware inside the request span).
pub fn mark_current_span(key: &'static str, value: impl Into<opentelemetry::Value>) {
    tracing::Span::current().set_attribute(key, value);
}

/// `error: cause: deeper cause`, the way an operator wants to read it.
pub fn cause_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}
