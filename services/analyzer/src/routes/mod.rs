mod analyze;
mod ready;

use actix_web::http::Method;
use actix_web::web;
use pkg_api::ErrorCode::*;
use pkg_api::openapi::{Documented, JSON_BODY, RouteTable};
use utoipa::OpenApi;

pub(crate) use analyze::Limits;
pub(crate) use ready::Readiness;

/// Every route, with the error codes it can answer with: the router and the OpenAPI document
/// are both built from this list (see `pkg_api::openapi`).
fn route_table(t: &mut RouteTable) {
    t.probe("/health", &[], pkg_service::health).probe("/ready", &[WarmingUp], ready::ready).operation(
        Method::POST,
        "/v1/analyze",
        &[JSON_BODY, &[TextTooLarge, Overloaded]],
        analyze::analyze,
    );
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Skein analyzer (internal)",
        description = "Rule-based text analysis: counts, readability, keywords, key phrases, sentiment, language, tags. Called by the controller."
    ),
    paths(analyze::analyze)
)]
struct ApiDoc;

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
