//! Moving trace context and baggage in and out of HTTP headers.

use std::collections::HashMap;

use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::trace::{SpanContext, TraceContextExt};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// Reads W3C `traceparent`, `tracestate` and `baggage` from request headers.
/// Only what the headers carry: extracting on top of the current context would let an absent or
/// broken `traceparent` fall back to whatever span happens to be current.
pub(crate) fn extract(headers: &HeaderMap) -> opentelemetry::Context {
    opentelemetry::global::get_text_map_propagator(|p| {
        p.extract_with_context(&opentelemetry::Context::new(), &HeaderExtractor(headers))
    })
}

/// Writes `traceparent`, `tracestate` and `baggage` for `cx` into outgoing headers.
pub(crate) fn inject(cx: &opentelemetry::Context, headers: &mut awc::http::header::HeaderMap) {
    opentelemetry::global::get_text_map_propagator(|p| p.inject_context(cx, &mut HeaderInjector(headers)));
}

/// The current span's context as W3C headers (`traceparent`, `tracestate`, `baggage`), to
/// carry a trace somewhere other than an HTTP request: a queued job's row, a message.
pub fn current_context_headers() -> HashMap<String, String> {
    let mut headers = HashMap::new();
    let cx = tracing::Span::current().context();
    opentelemetry::global::get_text_map_propagator(|p| p.inject_context(&cx, &mut headers));
    headers
}

/// The context carried in headers made by [`current_context_headers`]. To continue the work
/// under it, prefer [`continue_trace`], which reports a context that cannot be used.
pub fn context_from_headers(headers: &HashMap<String, String>) -> opentelemetry::Context {
    opentelemetry::global::get_text_map_propagator(|p| {
        p.extract_with_context(&opentelemetry::Context::new(), headers)
    })
}

/// Makes `span` continue the trace carried in `headers` (made by [`current_context_headers`]
/// when the work was handed over: a queued job's row, a message). Returns whether it does.
///
/// A carried context that is missing or invalid, or a parent that cannot be set, is logged as
/// a warning: the work then starts a new trace, and whoever reads that trace must be able to
/// learn why it is not joined to the request that caused it.
pub fn continue_trace(span: &tracing::Span, headers: &HashMap<String, String>) -> bool {
    set_parent_or_warn(span, context_from_headers(headers), true)
}

/// Sets `parent` on `span`; a failure is logged, never silently a new root. With
/// `expect_remote`, a parent without a valid remote span is worth a warning too.
pub(crate) fn set_parent_or_warn(
    span: &tracing::Span,
    parent: opentelemetry::Context,
    expect_remote: bool,
) -> bool {
    let carried = parent.span().span_context().is_valid();
    if expect_remote && !carried {
        tracing::warn!(
            span = span.metadata().map(|m| m.name()).unwrap_or("(disabled)"),
            "the carried trace context is missing or invalid; the work starts a new trace"
        );
    }
    match span.set_parent(parent) {
        Ok(()) => carried,
        Err(error) => {
            tracing::warn!(%error, "could not set the span's parent; it starts a new trace");
            false
        }
    }
}

/// The W3C `traceresponse` value for a span: `00-<trace-id>-<span-id>-<flags>`.
pub fn traceresponse(span: &SpanContext) -> Option<String> {
    span.is_valid().then(|| crate::hex_ids::version_00(span))
}

/// The `traceresponse` of the span current in `cx`.
pub(crate) fn traceresponse_of(cx: &opentelemetry::Context) -> Option<String> {
    traceresponse(cx.span().span_context())
}

struct HeaderExtractor<'a>(&'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }
}

struct HeaderInjector<'a>(&'a mut awc::http::header::HeaderMap);

/// The names the W3C propagators write, made once: parsing them from the propagators' strings
/// on every outgoing call costs as much as the rest of the injection.
const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
const TRACESTATE: HeaderName = HeaderName::from_static("tracestate");
const BAGGAGE: HeaderName = HeaderName::from_static("baggage");

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        let name = match key {
            "traceparent" => Ok(TRACEPARENT),
            "tracestate" => Ok(TRACESTATE),
            "baggage" => Ok(BAGGAGE),
            other => HeaderName::try_from(other),
        };
        // The propagators emit valid names and values; anything else is skipped, never a panic.
        if let (Ok(name), Ok(value)) = (name, HeaderValue::try_from(value)) {
            self.0.insert(name, value);
        }
    }
}
