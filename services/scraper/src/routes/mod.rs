mod scrape;

use actix_web::web;

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/health", web::get().to(pkg_service::health))
        .route("/ready", web::get().to(pkg_service::health))
        .route("/v1/scrape", web::post().to(scrape::scrape));
}
