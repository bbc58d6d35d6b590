use actix_web::http::header::LOCATION;
use actix_web::{HttpRequest, HttpResponse, web};
use pkg_api::{ApiError, ErrorCode, ScrapeOrder};
use pkg_service::store_failure;

use super::{AppState, JobPage, JobsQuery, ListQuery};
use crate::normalize::NormalizedUrl;
use crate::store::{JobStatus, JobView, Submitted, decode_cursor};
use pkg_api::parse_id;

/// The longest `Idempotency-Key` accepted: room for a UUID and a timestamp with a prefix.
const MAX_IDEMPOTENCY_KEY: usize = 200;

/// `POST /api/v1/jobs`: 202 with the queued job and its `Location`.
///
/// With an `Idempotency-Key` header, a retried submission (same key, same URL and `force`)
/// queues nothing new: it answers 200 with the job the key first created. The same key with a
/// different order conflicts with what the key already names: 409 `idempotency_key_reused`.
#[utoipa::path(
    post,
    path = "/api/v1/jobs",
    operation_id = "submit_job",
    tag = "jobs",
    summary = "Queue a scrape job",
    request_body = ScrapeOrder,
    params(SubmitHeaders),
    responses(
        (status = 202, description = "Queued; `Location` names the job", body = JobView,
            headers(("Location" = String, description = "/api/v1/jobs/{id}"))),
        (status = 200, description = "Submitted before with this Idempotency-Key: the job it created", body = JobView,
            headers(("Location" = String, description = "/api/v1/jobs/{id}"))),
    )
)]
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
                ErrorCode::IdempotencyKeyReused,
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
        .json(job.view(&state.grafana_url)))
}

/// `POST /api/v1/jobs`'s header, as documented.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
struct SubmitHeaders {
    /// Makes a retried submission safe: the same key and order answer the first job.
    #[param(rename = "Idempotency-Key", min_length = 1, max_length = 200, pattern = "^[!-~]+$")]
    idempotency_key: Option<String>,
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
            ApiError::new(
                ErrorCode::InvalidIdempotencyKey,
                format!("Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} visible ASCII characters."),
            )
        })
}

#[utoipa::path(
    get,
    path = "/api/v1/jobs/{id}",
    operation_id = "get_job",
    tag = "jobs",
    summary = "One job: status, attempts, error, document",
    params(("id" = uuid::Uuid, Path, description = "The job's id")),
    responses((status = 200, description = "The job", body = JobView))
)]
pub async fn get(id: web::Path<String>, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id, "job")?;
    pkg_tracing::mark_current_span("job.id", id.clone());
    let job = state.store.job(&id).await.map_err(store_failure)?.ok_or_else(|| not_found(&id))?;
    Ok(HttpResponse::Ok().json(job.view(&state.grafana_url)))
}

/// `GET /api/v1/jobs?status=&limit=&cursor=`, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/jobs",
    operation_id = "list_jobs",
    tag = "jobs",
    summary = "List jobs, newest first",
    params(JobsQuery),
    responses((status = 200, description = "A page of jobs", body = JobPage))
)]
pub async fn list(
    query: web::Query<ListQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    if query.tag.is_some() {
        return Err(ApiError::new(ErrorCode::InvalidQuery, "Jobs are filtered by status, not tag."));
    }
    let status = match query.status.as_deref() {
        None => None,
        Some(s) => Some(JobStatus::parse(s).ok_or_else(|| {
            ApiError::new(
                ErrorCode::InvalidStatus,
                format!("status must be queued, running, succeeded, failed or cancelled, not {s:?}."),
            )
        })?),
    };
    let after = query.cursor.as_deref().map(decode_cursor).transpose()?;
    let limit = crate::store::page_limit(query.limit)?;
    let page = state.store.jobs(status, after.as_deref(), limit).await.map_err(store_failure)?;
    let items = page.items.iter().map(|j| j.view(&state.grafana_url)).collect();
    Ok(HttpResponse::Ok().json(JobPage { items, next_cursor: page.next_cursor }))
}

/// `DELETE /api/v1/jobs/{id}`: cancels a queued job; 409 once it has started.
#[utoipa::path(
    delete,
    path = "/api/v1/jobs/{id}",
    operation_id = "cancel_job",
    tag = "jobs",
    summary = "Cancel a queued job",
    params(("id" = uuid::Uuid, Path, description = "The job's id")),
    responses((status = 200, description = "Cancelled: the job", body = JobView))
)]
pub async fn cancel(id: web::Path<String>, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id, "job")?;
    pkg_tracing::mark_current_span("job.id", id.clone());
    if let Some(job) = state.store.cancel_job(&id).await.map_err(store_failure)? {
        tracing::event!(name: "job.cancelled", tracing::Level::INFO, job.id = %job.id, job.attempts = job.attempts);
        state.queue.publish(crate::jobs::JobEvent::status(&job));
        return Ok(HttpResponse::Ok().json(job.view(&state.grafana_url)));
    }
    match state.store.job(&id).await.map_err(store_failure)? {
        None => Err(not_found(&id)),
        Some(job) => Err(ApiError::new(
            ErrorCode::JobNotCancellable,
            format!("Job {id} is {}; only queued jobs can be cancelled.", job.status),
        )),
    }
}

pub fn not_found(id: &str) -> ApiError {
    ApiError::new(ErrorCode::JobNotFound, format!("There is no job {id}."))
}
