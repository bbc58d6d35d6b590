//! Server side: one `.wrap(RequestTracing)` gives every request a SERVER span that continues the
//! caller's trace, a correlation id, and a `traceresponse` header; and a handler that panics
//! still answers a JSON 500 and leaves an Error span behind instead of a dropped connection.

use std::any::Any;
use std::future::{Ready, ready};
use std::panic::AssertUnwindSafe;
use std::rc::Rc;
use std::time::Instant;

use crate::SpanExt as _;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::error::InternalError;
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::{Error, HttpResponse, web};
use futures_util::FutureExt as _;
use futures_util::future::LocalBoxFuture;
use opentelemetry::baggage::{Baggage, BaggageExt, BaggageMetadata};
use opentelemetry::trace::TraceContextExt;
use tracing::Instrument;
use tracing::field::Empty;

use crate::metrics::{Metrics, TraceExemplar, UNMATCHED_ROUTE};
use crate::propagation;

/// The header that carries a correlation id between Skein and its callers.
pub const CORRELATION_ID_HEADER: &str = "x-correlation-id";
/// The baggage key (and span attribute) that carries the correlation id.
pub const CORRELATION_ID_KEY: &str = "correlation.id";
/// The W3C Trace Context Level 2 response header.
pub const TRACERESPONSE_HEADER: &str = "traceresponse";

/// Request tracing for an actix `App`: `App::new().wrap(RequestTracing)`, outermost.
///
/// For each request it extracts `traceparent`/`baggage`, starts a SERVER span named
/// `METHOD /route/{template}` (never the raw path, so ids do not explode span names), takes the
/// `X-Correlation-ID` header (or baggage entry) or makes one, puts it into baggage for every
/// downstream call, on the span as `correlation.id` and back on the response, and answers with
/// a `traceresponse` header naming the span. Probes (`/health`, `/ready`) and the `/metrics`
/// scrape are served untraced and carry neither header.
///
/// With [`Metrics`] in the app data (`.configure(metrics.configure())`) it also records
/// `http_server_request_duration_seconds` (exemplar: this span, when sampled) and
/// `http_server_active_requests`; probes and scrapes are not counted.
///
/// A panic anywhere inside (handler, extractor, inner middleware) becomes a 500 in the one error
/// shape, logged with the panic message, and the span ends with status Error and
/// `error.type = panic`: the worker thread and the connection survive.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestTracing;

impl<S, B> Transform<S, ServiceRequest> for RequestTracing
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Transform = RequestTracingMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RequestTracingMiddleware { service: Rc::new(service) }))
    }
}

pub struct RequestTracingMiddleware<S> {
    service: Rc<S>,
}

impl<S, B> Service<ServiceRequest> for RequestTracingMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let route = req.match_pattern();
        if route.as_deref().is_some_and(is_probe) {
            // Liveness and readiness probes and metric scrapes run every few seconds; tracing
            // them would bury the service graph under probe traffic. They get no span and no
            // trace headers.
            let service = Rc::clone(&self.service);
            return Box::pin(async move {
                call_catching_panics(service, req).await.unwrap_or_else(|Panicked| Err(panic_error(None)))
            });
        }
        let started = Instant::now();
        // The caller's baggage, with our correlation id replacing any it sent.
        let mut baggage = propagation::extract_baggage(req.headers());
        let correlation_id = correlation_id(&req, &baggage);
        baggage.insert_with_metadata(CORRELATION_ID_KEY, correlation_id.clone(), BaggageMetadata::default());
        let parent = propagation::extract_trace(req.headers()).with_baggage(baggage);

        // Clients choose the method: only the known ones may name a span (semantic conventions:
        // `_OTHER` in the attribute, `HTTP` in the name, the original kept aside).
        let method = known_method(req.method());
        let method_original = method.is_none().then(|| req.method().as_str().to_owned());
        let name_method = method.unwrap_or("HTTP");
        // Unmatched requests are named by method alone and carry no `http.route`.
        let name = match &route {
            Some(route) => format!("{name_method} {route}"),
            None => name_method.to_owned(),
        };
        let span = tracing::info_span!(
            "HTTP request",
            otel.name = name.as_str(),
            otel.kind = "server",
            otel.status_code = Empty,
            http.request.method = method.unwrap_or("_OTHER"),
            http.request.method_original = Empty,
            http.route = Empty,
            url.path = req.path(),
            url.scheme = req.connection_info().scheme(),
            network.peer.address = req.peer_addr().map(|a| a.ip().to_string()).unwrap_or_default(),
            user_agent.original = req.headers().get("user-agent").and_then(|v| v.to_str().ok()).unwrap_or(""),
            correlation.id = correlation_id.as_str(),
            http.response.status_code = Empty,
            error.type = Empty,
        );
        if let Some(route) = route.as_deref() {
            span.record("http.route", route);
        }
        if let Some(original) = &method_original {
            span.record("http.request.method_original", original.as_str());
        }
        // A caller without (valid) trace headers starts a trace here: that is normal for a
        // server, so only a parent that could not be set at all is worth a warning.
        propagation::set_parent_or_warn(&span, parent, false);
        let ids = span.span_context();
        let traceresponse = propagation::traceresponse(&ids);
        // Label values: known methods and route templates only, never the raw path.
        let metrics = req.app_data::<web::Data<Metrics>>().map(|m| m.http_server().clone());
        let metric_method = method.unwrap_or("_OTHER");
        let metric_route = route.unwrap_or_else(|| UNMATCHED_ROUTE.to_owned());
        let in_flight = metrics.as_ref().map(|m| m.start(metric_method, &metric_route));
        let exemplar = metrics.as_ref().and_then(|_| TraceExemplar::of_span_context(&ids));

        let service = Rc::clone(&self.service);
        let fut = async move {
            let outcome = call_catching_panics(service, req).await;
            let status = match &outcome {
                Ok(Ok(res)) => res.status(),
                Ok(Err(err)) => err.as_response_error().status_code(),
                Err(Panicked) => StatusCode::INTERNAL_SERVER_ERROR,
            };
            let current = tracing::Span::current();
            current.record("http.response.status_code", i64::from(status.as_u16()));
            // Server spans: a 4xx is the caller's mistake, not ours: no error.type, status
            // stays Unset. A 5xx is Error with its class.
            if status.is_server_error() {
                let kind = if outcome.is_err() { "panic" } else { status.as_str() };
                current.record("error.type", kind);
                current.record("otel.status_code", "ERROR");
            }
            let took = started.elapsed();
            drop(in_flight);
            if let Some(metrics) = &metrics {
                metrics.record(metric_method, metric_route, status.as_u16(), took, exemplar);
            }
            let latency_ms = took.as_secs_f64() * 1e3;
            tracing::info!(status = status.as_u16(), latency_ms, "request completed");
            let trace_headers = (correlation_id, traceresponse);
            match outcome {
                Ok(result) => result.map(|mut res| {
                    add_trace_headers(res.headers_mut(), trace_headers);
                    res
                }),
                Err(Panicked) => Err(panic_error(Some(trace_headers))),
            }
        }
        .instrument(span);
        Box::pin(fut)
    }
}

/// `X-Correlation-ID` and `traceresponse` on a response.
fn add_trace_headers(headers: &mut HeaderMap, (correlation_id, traceresponse): (String, Option<String>)) {
    if let Ok(value) = HeaderValue::try_from(correlation_id) {
        headers.insert(HeaderName::from_static(CORRELATION_ID_HEADER), value);
    }
    if let Some(value) = traceresponse.and_then(|v| HeaderValue::try_from(v).ok()) {
        headers.insert(HeaderName::from_static(TRACERESPONSE_HEADER), value);
    }
}

/// The inner service panicked; the panic has been logged.
struct Panicked;

/// The JSON 500 that stands in for a panicked handler's response. It travels as an error whose
/// response is fixed: the request went down with the handler, and a response proper needs it.
fn panic_error(trace_headers: Option<(String, Option<String>)>) -> Error {
    let mut response = HttpResponse::InternalServerError().json(internal_error_body());
    if let Some(trace_headers) = trace_headers {
        add_trace_headers(response.headers_mut(), trace_headers);
    }
    InternalError::from_response("a handler panicked", response).into()
}

/// Calls the inner service; a panic while building or polling its future is logged and
/// reported as [`Panicked`]. Unwinding out of a handler leaves nothing of ours half-updated: the
/// request, its state and the future are all dropped here, so asserting unwind safety is sound.
async fn call_catching_panics<S, B>(
    service: Rc<S>,
    req: ServiceRequest,
) -> Result<Result<ServiceResponse<B>, Error>, Panicked>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
{
    // Owned copies: the request itself must stay unshared while the router matches it.
    let (method, path) = (req.method().clone(), req.path().to_owned());
    AssertUnwindSafe(async move { service.call(req).await }).catch_unwind().await.map_err(|panic| {
        tracing::error!(
            panic.message = %panic_message(panic.as_ref()),
            %method,
            path,
            "a handler panicked; answered 500"
        );
        Panicked
    })
}

fn panic_message(panic: &(dyn Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(a panic without a message)")
}

/// The body of the 500 a panic becomes: the one error shape (pkg-api's `ApiError::internal()`,
/// spelled out here because the lowest crate depends on no other crate of ours; a pkg-api test
/// keeps the two equal). Nothing about the cause: that is in the log line and the span.
pub fn internal_error_body() -> serde_json::Value {
    serde_json::json!({
        "error": {
            "code": "internal_error",
            "message": "The server hit an unexpected error; the trace id in the traceresponse header locates it.",
        }
    })
}

/// The request methods of RFC 9110 plus PATCH: the only ones that may name a span.
fn known_method(method: &Method) -> Option<&'static str> {
    Some(match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::CONNECT => "CONNECT",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::PATCH => "PATCH",
        _ => return None,
    })
}

/// Routes that are probed, not used: `/health`, `/ready` and the `/metrics` scrape. They are
/// neither traced nor faulted.
pub fn is_probe(route: &str) -> bool {
    matches!(route, "/health" | "/ready" | crate::metrics::METRICS_ROUTE)
}

/// The caller's correlation id if it is sane (header first, then baggage), else a new one.
fn correlation_id(req: &ServiceRequest, baggage: &Baggage) -> String {
    req.headers()
        .get(CORRELATION_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| baggage.get(CORRELATION_ID_KEY).map(|v| v.as_str().to_owned()))
        .filter(|id| is_valid_correlation_id(id))
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

/// Up to 128 characters of `[A-Za-z0-9._:-]`: safe in headers, baggage and log lines alike.
fn is_valid_correlation_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// The correlation id of the request being handled, from the current context's baggage.
pub fn current_correlation_id() -> Option<String> {
    crate::current_context::current().baggage().get(CORRELATION_ID_KEY).map(|v| v.as_str().to_owned())
}

/// The trace id of the span being handled, as 32 hex digits, if there is a trace.
pub fn current_trace_id() -> Option<String> {
    let cx = crate::current_context::current();
    let span = cx.span();
    let ids = span.span_context();
    ids.is_valid().then(|| crate::hex_ids::trace_id(ids.trace_id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_known_methods_name_spans() {
        assert_eq!(known_method(&Method::GET), Some("GET"));
        assert_eq!(known_method(&Method::PATCH), Some("PATCH"));
        assert_eq!(known_method(&Method::from_bytes(b"FOO").unwrap()), None);
        assert_eq!(known_method(&Method::from_bytes(b"get").unwrap()), None, "methods are case-sensitive");
    }

    #[test]
    fn correlation_ids_must_be_header_and_log_safe() {
        assert!(is_valid_correlation_id("req-42_a.b:c"));
        assert!(!is_valid_correlation_id(""));
        assert!(!is_valid_correlation_id("has space"));
        assert!(!is_valid_correlation_id("line\nbreak"));
        assert!(!is_valid_correlation_id(&"x".repeat(129)));
    }
}
