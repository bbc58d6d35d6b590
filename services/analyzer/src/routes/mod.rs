mod analyze;
mod ready;

use actix_web::web;

pub(crate) use analyze::Limits;
pub(crate) use ready::Readiness;

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/health", web::get().to(pkg_service::health))
        .route("/ready", web::get().to(ready::ready))
        .route("/v1/analyze", web::post().to(analyze::analyze));
}
