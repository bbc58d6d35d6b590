//! The public API. Handlers are thin: parse, call the pipeline or the store, shape the JSON.

mod documents;
mod health;
mod job_events;
mod jobs;
mod page;
mod scrape;
mod service_map;
mod tags;
mod traces;

use actix_web::http::Method;
use actix_web::web;
use pkg_api::ErrorCode::{self, *};
use pkg_api::openapi::{Documented, JSON_BODY, PATH_ID, QUERY, RouteTable};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::jobs::JobQueue;
use crate::store::{DocumentView, JobStatus, JobView, Store};

/// What every handler may need, shared by all workers.
pub struct AppState {
    pub store: Store,
    pub queue: JobQueue,
    pub grafana_url: String,
    pub job_max_attempts: u32,
}

/// What the scrape pipeline can fail with: the scraper's and analyzer's verdicts pass through
/// (`pkg_service::downstream`), their own failures become `scraper_*` / `analyzer_*`.
const PIPELINE: &[ErrorCode] = &[
    DestinationBlocked,
    PageTooLarge,
    NotHtml,
    PageTooComplex,
    UpstreamError,
    UpstreamTimeout,
    TextTooLarge,
    ScraperUnavailable,
    ScraperTimeout,
    ScraperError,
    AnalyzerUnavailable,
    AnalyzerTimeout,
    AnalyzerError,
];
const PAGING: &[ErrorCode] = &[InvalidCursor, InvalidLimit];
/// The web page's stores (`crate::backends`). In run-local `TEMPO_URL` is trace-view itself,
/// answering as Tempo does.
const TEMPO: &[ErrorCode] = &[TempoUnavailable, TempoTimeout, TempoError];
const PROMETHEUS_OR_TRACE_VIEW: &[ErrorCode] = &[
    PrometheusUnavailable,
    PrometheusTimeout,
    PrometheusError,
    TraceViewUnavailable,
    TraceViewTimeout,
    TraceViewError,
];

/// Every route, with the error codes it can answer with: the router and the OpenAPI document
/// are both built from this list (see `pkg_api::openapi`).
fn route_table(t: &mut RouteTable) {
    t.probe("/health", &[], pkg_service::health)
        .probe("/ready", &[NotReady], health::ready)
        .operation(Method::POST, "/api/v1/scrape", &[JSON_BODY, &[InvalidUrl], PIPELINE], scrape::scrape)
        .operation(
            Method::POST,
            "/api/v1/jobs",
            &[JSON_BODY, &[InvalidUrl, InvalidIdempotencyKey, IdempotencyKeyReused]],
            jobs::submit,
        )
        .operation(Method::GET, "/api/v1/jobs", &[QUERY, PAGING, &[InvalidStatus]], jobs::list)
        .operation(Method::GET, "/api/v1/jobs/{id}", &[PATH_ID, &[JobNotFound]], jobs::get)
        .operation(
            Method::DELETE,
            "/api/v1/jobs/{id}",
            &[PATH_ID, &[JobNotFound, JobNotCancellable]],
            jobs::cancel,
        )
        .operation(Method::GET, "/api/v1/jobs/{id}/events", &[PATH_ID, &[JobNotFound]], job_events::stream)
        .operation(Method::GET, "/api/v1/documents", &[QUERY, PAGING], documents::list)
        .operation(Method::GET, "/api/v1/documents/{id}", &[PATH_ID, &[DocumentNotFound]], documents::get)
        .operation(
            Method::DELETE,
            "/api/v1/documents/{id}",
            &[PATH_ID, &[DocumentNotFound]],
            documents::delete,
        )
        .operation(Method::GET, "/api/v1/tags", &[], tags::list)
        .operation(
            Method::GET,
            "/api/v1/traces/{trace_id}",
            &[&[InvalidTraceId, TraceNotFound, BackendNotConfigured], TEMPO],
            traces::get,
        )
        .operation(
            Method::GET,
            "/api/v1/service-map",
            &[QUERY, &[InvalidWindow, BackendNotConfigured], PROMETHEUS_OR_TRACE_VIEW],
            service_map::get,
        )
        .not_api(Method::GET, "/", page::index)
        .not_api(Method::GET, "/assets/page.css", page::style)
        .not_api(Method::GET, "/assets/page.js", page::script);
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Skein controller",
        description = "Skein's public API: scrape a page now or as a queued job; stored documents, jobs and tags."
    ),
    paths(
        scrape::scrape,
        jobs::submit,
        jobs::list,
        jobs::get,
        jobs::cancel,
        job_events::stream,
        documents::list,
        documents::get,
        documents::delete,
        tags::list,
        traces::get,
        service_map::get
    )
)]
struct ApiDoc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    let mut table = RouteTable::new(cfg);
    route_table(&mut table);
    table.serve_document(ApiDoc::openapi);
}

/// The document served at `/openapi.json`, and any disagreement between it and the routes.
pub fn openapi() -> Documented {
    let mut table = RouteTable::recording();
    route_table(&mut table);
    table.document(ApiDoc::openapi())
}

/// `?limit=&cursor=` (and a filter) on listings. Unknown parameters are refused: a typo such
/// as `?tags=` must not silently list everything.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub limit: Option<i64>,
    pub cursor: Option<String>,
    pub status: Option<String>,
    pub tag: Option<String>,
}

/// `GET /api/v1/jobs`'s parameters, as documented.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct JobsQuery {
    /// Only jobs in this status.
    status: Option<JobStatus>,
    /// Page size, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
    /// `next_cursor` of the previous page.
    #[param(
        pattern = r"^c1\.(3[0-9]|6[1-6]){8}2d(3[0-9]|6[1-6]){4}2d(3[0-9]|6[1-6]){4}2d(3[0-9]|6[1-6]){4}2d(3[0-9]|6[1-6]){12}$"
    )]
    cursor: Option<String>,
}

/// `GET /api/v1/documents`'s parameters, as documented.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct DocumentsQuery {
    /// Only documents with this tag.
    tag: Option<String>,
    /// Page size, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
    /// `next_cursor` of the previous page.
    #[param(
        pattern = r"^c1\.(3[0-9]|6[1-6]){8}2d(3[0-9]|6[1-6]){4}2d(3[0-9]|6[1-6]){4}2d(3[0-9]|6[1-6]){4}2d(3[0-9]|6[1-6]){12}$"
    )]
    cursor: Option<String>,
}

/// A page of jobs, newest first.
#[derive(Serialize, ToSchema)]
pub struct JobPage {
    pub items: Vec<JobView>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// A page of documents, newest first.
#[derive(Serialize, ToSchema)]
pub struct DocumentPage {
    pub items: Vec<DocumentView>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}
