mod schedules;

use std::sync::Arc;

use actix_web::{HttpResponse, web};
use pkg_tracing::InternalClient;
use tokio::sync::Notify;

use crate::metrics::SchedulerMetrics;
use crate::store::Store;

pub struct AppState {
    pub store: Store,
    /// Wakes the run loop after a change, so it takes effect without a restart.
    pub wake: Arc<Notify>,
    pub metrics: SchedulerMetrics,
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/health", web::get().to(pkg_service::health))
        .route("/ready", web::get().to(ready))
        .route("/api/v1/schedules", web::get().to(schedules::list))
        .route("/api/v1/schedules", web::post().to(schedules::create))
        .route("/api/v1/schedules/{id}", web::get().to(schedules::get))
        .route("/api/v1/schedules/{id}", web::put().to(schedules::replace))
        .route("/api/v1/schedules/{id}", web::delete().to(schedules::delete))
        .route("/api/v1/schedules/{id}/run", web::post().to(schedules::run));
}

/// `GET /ready`: the store answers and the controller is up.
async fn ready(state: web::Data<AppState>, controller: web::Data<InternalClient>) -> HttpResponse {
    let store = state.store.ping().await.map_err(|e| format!("store: {e}"));
    let controller = match controller.probe("/health").await {
        Ok(status) if status.is_success() => Ok(()),
        Ok(status) => Err(format!("controller answered {status}")),
        Err(e) => Err(e.to_string()),
    };
    pkg_service::readiness::from_checks([store, controller])
}
