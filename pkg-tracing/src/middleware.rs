//! Server side: one `.wrap(RequestTracing)` gives every request a SERVER span that continues the
//! caller's trace, a correlation id, and a `traceresponse` header.

use std::future::{Ready, ready};
use std::rc::Rc;
use std::time::Instant;

use actix_web::Error;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::header::{HeaderName, HeaderValue};
use futures_util::future::LocalBoxFuture;
use opentelemetry::baggage::{BaggageExt, BaggageMetadata, KeyValueMetadata};
use opentelemetry::trace::TraceContextExt;
use tracing::Instrument;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::propagation;

/// The header that carries a correlation id between Skein and its callers.
pub const CORRELATION_ID_HEADER: &str = "x-correlation-id";
/// The baggage key (and span attribute) that carries the correlation id.
pub const CORRELATION_ID_KEY: &str = "correlation.id";
/// The W3C Trace Context Level 2 response header.
pub const TRACERESPONSE_HEADER: &str = "traceresponse";

/// Request tracing for an actix `App`: `App::new().wrap(RequestTracing)`.
///
/// For each request it extracts `traceparent`/`baggage`, starts a SERVER span named
/// `METHOD /route/{template}` (never the raw path, so ids do not explode span names), takes the
/// `X-Correlation-ID` header (or baggage entry) or makes one, puts it into baggage for every
/// downstream call, on the span as `correlation.id` and back on the response, and answers with
/// a `traceresponse` header naming the span.
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
            // Liveness and readiness probes run every few seconds; tracing them would bury the
            // service graph under probe traffic.
            let service = Rc::clone(&self.service);
            return Box::pin(async move { service.call(req).await });
        }
        let started = Instant::now();
        let parent = propagation::extract(req.headers());
        let correlation_id = correlation_id(&req, &parent);
        // The caller's baggage, with our correlation id replacing any it sent.
        let baggage: Vec<KeyValueMetadata> = parent
            .baggage()
            .iter()
            .filter(|(key, _)| key.as_str() != CORRELATION_ID_KEY)
            .map(|(key, (value, meta))| KeyValueMetadata::new(key.clone(), value.clone(), meta.clone()))
            .chain([KeyValueMetadata::new(
                CORRELATION_ID_KEY,
                correlation_id.clone(),
                BaggageMetadata::default(),
            )])
            .collect();
        let parent = parent.with_baggage(baggage);

        let method = req.method().as_str().to_owned();
        // Unmatched requests are named by method alone (OpenTelemetry HTTP semantic conventions).
        let name = match &route {
            Some(route) => format!("{method} {route}"),
            None => method.clone(),
        };
        let span = tracing::info_span!(
            "HTTP request",
            otel.name = %name,
            otel.kind = "server",
            otel.status_code = Empty,
            http.request.method = %method,
            http.route = route.as_deref().unwrap_or(""),
            url.path = req.path(),
            url.scheme = req.connection_info().scheme(),
            network.peer.address = req.peer_addr().map(|a| a.ip().to_string()).unwrap_or_default(),
            user_agent.original = req.headers().get("user-agent").and_then(|v| v.to_str().ok()).unwrap_or(""),
            correlation.id = %correlation_id,
            http.response.status_code = Empty,
            error.type = Empty,
        );
        let _ = span.set_parent(parent);
        let traceresponse = propagation::traceresponse_of(&span.context());

        let service = Rc::clone(&self.service);
        let fut = async move {
            let result = service.call(req).await;
            let status = match &result {
                Ok(res) => res.status(),
                Err(err) => err.as_response_error().status_code(),
            };
            let current = tracing::Span::current();
            current.record("http.response.status_code", i64::from(status.as_u16()));
            if status.is_client_error() || status.is_server_error() {
                current.record("error.type", status.as_str());
            }
            // Server spans mark only 5xx as errors: a 4xx is the caller's mistake, not ours.
            if status.is_server_error() {
                current.record("otel.status_code", "ERROR");
            }
            let latency_ms = started.elapsed().as_secs_f64() * 1e3;
            tracing::info!(status = status.as_u16(), latency_ms, "request completed");
            result.map(|mut res| {
                let headers = res.headers_mut();
                if let Ok(value) = HeaderValue::try_from(correlation_id) {
                    headers.insert(HeaderName::from_static(CORRELATION_ID_HEADER), value);
                }
                if let Some(value) = traceresponse.and_then(|v| HeaderValue::try_from(v).ok()) {
                    headers.insert(HeaderName::from_static(TRACERESPONSE_HEADER), value);
                }
                res
            })
        }
        .instrument(span);
        Box::pin(fut)
    }
}

/// Routes that are probed, not used: `/health` and `/ready`.
pub fn is_probe(route: &str) -> bool {
    matches!(route, "/health" | "/ready")
}

/// The caller's correlation id if it is sane (header first, then baggage), else a new one.
fn correlation_id(req: &ServiceRequest, parent: &opentelemetry::Context) -> String {
    req.headers()
        .get(CORRELATION_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| parent.baggage().get(CORRELATION_ID_KEY).map(|v| v.as_str().to_owned()))
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
    opentelemetry::Context::current().baggage().get(CORRELATION_ID_KEY).map(|v| v.as_str().to_owned())
}

/// The trace id of the span being handled, as 32 hex digits, if there is a trace.
pub fn current_trace_id() -> Option<String> {
    let cx = tracing::Span::current().context();
    let span = cx.span();
    let ids = span.span_context();
    ids.is_valid().then(|| ids.trace_id().to_string())
}

#[cfg(test)]
mod tests {
    use super::is_valid_correlation_id;

    #[test]
    fn correlation_ids_must_be_header_and_log_safe() {
        assert!(is_valid_correlation_id("req-42_a.b:c"));
        assert!(!is_valid_correlation_id(""));
        assert!(!is_valid_correlation_id("has space"));
        assert!(!is_valid_correlation_id("line\nbreak"));
        assert!(!is_valid_correlation_id(&"x".repeat(129)));
    }
}
