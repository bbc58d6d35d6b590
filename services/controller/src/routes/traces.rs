//! `GET /api/v1/traces/{trace_id}`: one trace from Tempo (or trace-view) as waterfall rows for
//! the web page, with the Grafana link to the same trace.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use pkg_api::{ApiError, ErrorCode};
use serde_json::json;

use super::AppState;
use crate::backends::{Backends, not_configured};
use crate::waterfall;

/// `GET /api/v1/traces/{trace_id}`'s answer: the trace as waterfall rows.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct TraceWaterfall {
    trace_id: String,
    /// The same trace in Grafana.
    trace_url: String,
    duration_ms: f64,
    /// Services in order of their first span.
    services: Vec<String>,
    spans: Vec<crate::waterfall::Row>,
}

#[utoipa::path(
    get,
    path = "/api/v1/traces/{trace_id}",
    operation_id = "get_trace",
    tag = "page",
    summary = "One trace as waterfall rows, from Tempo (TEMPO_URL) or trace-view",
    params((
        "trace_id" = String,
        Path,
        description = "32 hexadecimal digits, not all zero",
        pattern = "^[0-9a-fA-F]*[1-9a-fA-F][0-9a-fA-F]*$",
        min_length = 32,
        max_length = 32
    )),
    responses((status = 200, description = "The trace", body = TraceWaterfall))
)]
pub async fn get(
    trace_id: web::Path<String>,
    state: web::Data<AppState>,
    backends: web::Data<Backends>,
) -> Result<HttpResponse, ApiError> {
    let trace_id = parse_trace_id(&trace_id)?;
    let tempo = backends.tempo.as_ref().ok_or_else(|| not_configured("Reading traces", "TEMPO_URL"))?;
    let reply = tempo.get("/api/traces/{trace_id}", &format!("/api/traces/{trace_id}")).await?;
    if reply.status == StatusCode::NOT_FOUND {
        return Err(ApiError::new(
            ErrorCode::TraceNotFound,
            format!(
                "Trace {trace_id} is not in the trace store (yet): spans arrive a few seconds after a request ends."
            ),
        ));
    }
    if !reply.status.is_success() {
        return Err(tempo.unexpected(&reply));
    }
    let body: serde_json::Value = reply.json().map_err(|e| tempo.unreadable(e))?;
    let waterfall = waterfall::from_otlp_json(&body).map_err(|e| tempo.unreadable(e))?;
    Ok(HttpResponse::Ok().json(json!({
        "trace_id": trace_id,
        "trace_url": crate::trace_link::trace_url(&state.grafana_url, &trace_id),
        "duration_ms": waterfall.duration_ms,
        "services": waterfall.services,
        "spans": waterfall.spans,
    })))
}

/// A W3C trace id: 32 hex digits, not all zero; returned in lower case.
fn parse_trace_id(raw: &str) -> Result<String, ApiError> {
    let valid =
        raw.len() == 32 && raw.bytes().all(|b| b.is_ascii_hexdigit()) && raw.bytes().any(|b| b != b'0');
    if valid {
        Ok(raw.to_ascii_lowercase())
    } else {
        let shown: String = raw.chars().take(64).collect();
        Err(ApiError::new(
            ErrorCode::InvalidTraceId,
            format!("{shown:?} is not a trace id: expected 32 hexadecimal digits, not all zero."),
        ))
    }
}
