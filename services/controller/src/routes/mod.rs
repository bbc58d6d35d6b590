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

use actix_web::web;
use serde::Deserialize;

use crate::jobs::JobQueue;
use crate::store::Store;

/// What every handler may need, shared by all workers.
pub struct AppState {
    pub store: Store,
    pub queue: JobQueue,
    pub grafana_url: String,
    pub job_max_attempts: u32,
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/health", web::get().to(pkg_service::health))
        .route("/ready", web::get().to(health::ready))
        .route("/api/v1/scrape", web::post().to(scrape::scrape))
        .route("/api/v1/jobs", web::post().to(jobs::submit))
        .route("/api/v1/jobs", web::get().to(jobs::list))
        .route("/api/v1/jobs/{id}", web::get().to(jobs::get))
        .route("/api/v1/jobs/{id}", web::delete().to(jobs::cancel))
        .route("/api/v1/jobs/{id}/events", web::get().to(job_events::stream))
        .route("/api/v1/documents", web::get().to(documents::list))
        .route("/api/v1/documents/{id}", web::get().to(documents::get))
        .route("/api/v1/documents/{id}", web::delete().to(documents::delete))
        .route("/api/v1/tags", web::get().to(tags::list))
        .route("/api/v1/traces/{trace_id}", web::get().to(traces::get))
        .route("/api/v1/service-map", web::get().to(service_map::get))
        .route("/", web::get().to(page::index))
        .route("/assets/page.css", web::get().to(page::style))
        .route("/assets/page.js", web::get().to(page::script));
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
