use actix_web::{HttpResponse, web};
use pkg_api::{ApiError, ScrapeOrder};

use super::AppState;
use crate::downstream::Downstream;
use crate::metrics::ControllerMetrics;
use crate::normalize::NormalizedUrl;
use crate::pipeline;
use crate::store::DocumentView;

/// `POST /api/v1/scrape`: runs the pipeline now. 201 with the new document, or 200 with the
/// stored one when the URL was scraped before (unless `force`).
#[utoipa::path(
    post,
    path = "/api/v1/scrape",
    operation_id = "scrape",
    tag = "scrape",
    summary = "Scrape and analyse a page now",
    request_body = ScrapeOrder,
    responses(
        (status = 201, description = "Scraped, analysed and stored", body = DocumentView),
        (status = 200, description = "Scraped before (and `force` not set): the stored document", body = DocumentView),
    )
)]
pub async fn scrape(
    order: web::Json<ScrapeOrder>,
    state: web::Data<AppState>,
    downstream: web::Data<Downstream>,
    metrics: web::Data<ControllerMetrics>,
) -> Result<HttpResponse, ApiError> {
    let url = NormalizedUrl::parse(&order.url)?;
    let outcome = pipeline::run(&downstream, &state.store, &url, order.force, |_| {}).await;
    metrics.scrape_outcome(outcome.as_ref().map_or_else(|e| e.code(), |_| "ok"));
    let outcome = outcome?;
    // The typed view straight to the body: no `serde_json::Value` tree in between.
    let body = outcome.document.view(&state.grafana_url);
    Ok(if outcome.created { HttpResponse::Created().json(body) } else { HttpResponse::Ok().json(body) })
}
