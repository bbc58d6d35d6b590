mod scrape;

use actix_web::http::Method;
use actix_web::web;
use pkg_api::ErrorCode::*;
use pkg_api::openapi::{Documented, JSON_BODY, RouteTable};
use utoipa::OpenApi;

/// Every route, with the error codes it can answer with: the router and the OpenAPI document
/// are both built from this list (see `pkg_api::openapi`).
fn route_table(t: &mut RouteTable) {
    t.probe("/health", &[], pkg_service::health).probe("/ready", &[], ready).operation(
        Method::POST,
        "/v1/scrape",
        &[
            JSON_BODY,
            &[
                InvalidUrl,
                DestinationBlocked,
                PageTooLarge,
                NotHtml,
                PageTooComplex,
                UpstreamError,
                UpstreamTimeout,
                Overloaded,
            ],
        ],
        scrape::scrape,
    );
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Skein scraper (internal)",
        description = "Fetches a web page safely and extracts its title, metadata, readable text and links. Called by the controller."
    ),
    paths(scrape::scrape)
)]
struct ApiDoc;

/// `GET /ready`: the scraper needs nothing but itself, so it is ready once it serves.
async fn ready() -> actix_web::HttpResponse {
    pkg_service::readiness::ready()
}

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
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
