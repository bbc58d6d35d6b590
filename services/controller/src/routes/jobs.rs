use actix_web::http::StatusCode;
use actix_web::http::header::LOCATION;
use actix_web::{HttpRequest, HttpResponse, web};
use pkg_api::{ApiError, ScrapeOrder};
use pkg_service::store_failure;

use super::{AppState, ListQuery};
use crate::normalize::NormalizedUrl;
use crate::store::{JobStatus, Submitted, decode_cursor};
use pkg_api::parse_id;

/// The longest `Idempotency-Key` accepted: room for a UUID and a timestamp with a prefix.
const MAX_IDEMPOTENCY_KEY: usize = 200;

/// `POST /api/v1/jobs`: 202 with the queued job and its `Location`.
///
/// With an `Idempotency-Key` header, a retried submission (same key, same URL and `force`)
/// queues nothing new: it answers 200 with the job the key first created. The same key with a
/// different order is a client bug: 422 `idempotency_key_reused`.
pub async fn submit(
    request: HttpRequest,
    order: web::Json<ScrapeOrder>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let key = idempotency_key(&request)?;
    let url = NormalizedUrl::parse(&order.url)?;
    pkg_tracing::mark_current_span("url.domain", url.domain());
    let submitted = state
        .queue
        .submit(url.as_str(), order.force, state.job_max_attempts, key.as_deref())
        .await
        .map_err(store_failure)?;
    let (mut response, job) = match submitted {
        Submitted::Created(job) => {
            tracing::info!(job.id = %job.id, url = %pkg_tracing::redact_url_str(url.as_str()), "job queued");
            (HttpResponse::Accepted(), job)
        }
        Submitted::Existing(job) if job.url == url.as_str() && job.force == order.force => {
            tracing::info!(job.id = %job.id, "job submitted again with its idempotency key; nothing queued");
            (HttpResponse::Ok(), job)
        }
        Submitted::Existing(job) => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                format!(
                    "The Idempotency-Key was used for job {} with a different order; use a new key.",
                    job.id
                ),
            ));
        }
    };
    pkg_tracing::mark_current_span("job.id", job.id.clone());
    Ok(response
        .insert_header((LOCATION, format!("/api/v1/jobs/{}", job.id)))
        .json(job.to_json(&state.grafana_url)))
}

/// The optional `Idempotency-Key` header: 1 to 200 visible ASCII characters.
fn idempotency_key(request: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(value) = request.headers().get("idempotency-key") else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .filter(|k| (1..=MAX_IDEMPOTENCY_KEY).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()))
        .map(|k| Some(k.to_owned()))
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_idempotency_key",
                format!("Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} visible ASCII characters."),
            )
        })
}

pub async fn get(id: web::Path<String>, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id, "job")?;
    pkg_tracing::mark_current_span("job.id", id.clone());
    let job = state.store.job(&id).await.map_err(store_failure)?.ok_or_else(|| not_found(&id))?;
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
    let page = state.store.jobs(status, after.as_deref(), limit).await.map_err(store_failure)?;
    let items: Vec<_> = page.items.iter().map(|j| j.to_json(&state.grafana_url)).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items, "next_cursor": page.next_cursor })))
}

/// `DELETE /api/v1/jobs/{id}`: cancels a queued job; 409 once it has started.
pub async fn cancel(id: web::Path<String>, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id, "job")?;
    pkg_tracing::mark_current_span("job.id", id.clone());
    if let Some(job) = state.store.cancel_job(&id).await.map_err(store_failure)? {
        tracing::event!(name: "job.cancelled", tracing::Level::INFO, job.id = %job.id, job.attempts = job.attempts);
        state.queue.publish(crate::jobs::JobEvent::status(&job));
        return Ok(HttpResponse::Ok().json(job.to_json(&state.grafana_url)));
    }
    match state.store.job(&id).await.map_err(store_failure)? {
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
