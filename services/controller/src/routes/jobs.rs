use actix_web::http::StatusCode;
use actix_web::http::header::LOCATION;
use actix_web::{HttpResponse, web};
use pkg_api::{ApiError, ScrapeOrder};

use super::{AppState, ListQuery, parse_id};
use crate::normalize::NormalizedUrl;
use crate::pipeline::internal;
use crate::store::{JobStatus, decode_cursor};

/// `POST /api/v1/jobs`: 202 with the queued job and its `Location`.
pub async fn submit(
    order: web::Json<ScrapeOrder>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let url = NormalizedUrl::parse(&order.url)?;
    let job =
        state.queue.submit(url.as_str(), order.force, state.job_max_attempts).await.map_err(internal)?;
    tracing::info!(job.id = %job.id, url = %pkg_tracing::redact_url_str(url.as_str()), "job queued");
    Ok(HttpResponse::Accepted()
        .insert_header((LOCATION, format!("/api/v1/jobs/{}", job.id)))
        .json(job.to_json(&state.grafana_url)))
}

pub async fn get(id: web::Path<String>, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id, "job")?;
    let job = state.store.job(&id).await.map_err(internal)?.ok_or_else(|| not_found(&id))?;
    Ok(HttpResponse::Ok().json(job.to_json(&state.grafana_url)))
}

/// `GET /api/v1/jobs?status=&limit=&cursor=`, newest first.
pub async fn list(
    query: web::Query<ListQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    if query.tag.is_some() {
        return Err(ApiError::bad_request("invalid_query", "Jobs are filtered by status, not tag."));
    }
    let status = match query.status.as_deref() {
        None => None,
        Some(s) => Some(JobStatus::parse(s).ok_or_else(|| {
            ApiError::bad_request(
                "invalid_status",
                format!("status must be queued, running, succeeded, failed or cancelled, not {s:?}."),
            )
        })?),
    };
    let after = query.cursor.as_deref().map(decode_cursor).transpose()?;
    let limit = crate::store::page_limit(query.limit)?;
    let page = state.store.jobs(status, after.as_deref(), limit).await.map_err(internal)?;
    let items: Vec<_> = page.items.iter().map(|j| j.to_json(&state.grafana_url)).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items, "next_cursor": page.next_cursor })))
}

/// `DELETE /api/v1/jobs/{id}`: cancels a queued job; 409 once it has started.
pub async fn cancel(id: web::Path<String>, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id, "job")?;
    if let Some(job) = state.store.cancel_job(&id).await.map_err(internal)? {
        state.queue.publish(crate::jobs::JobEvent::status(&job));
        return Ok(HttpResponse::Ok().json(job.to_json(&state.grafana_url)));
    }
    match state.store.job(&id).await.map_err(internal)? {
        None => Err(not_found(&id)),
        Some(job) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "job_not_cancellable",
            format!("Job {id} is {}; only queued jobs can be cancelled.", job.status),
        )),
    }
}

pub fn not_found(id: &str) -> ApiError {
    ApiError::not_found("job_not_found", format!("There is no job {id}."))
}
