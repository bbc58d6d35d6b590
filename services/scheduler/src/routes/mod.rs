mod schedules;

use std::sync::Arc;

use actix_web::http::Method;
use actix_web::{HttpResponse, web};
use pkg_api::ErrorCode::{self, *};
use pkg_api::openapi::{Documented, JSON_BODY, PATH_ID, RouteTable};
use pkg_tracing::InternalClient;
use tokio::sync::Notify;
use utoipa::OpenApi;

use crate::metrics::SchedulerMetrics;
use crate::store::Store;

pub struct AppState {
    pub store: Store,
    /// Wakes the run loop after a change, so it takes effect without a restart.
    pub wake: Arc<Notify>,
    pub metrics: SchedulerMetrics,
}

/// A schedule's definition, validated (`input.rs`, `cron.rs`).
const DEFINITION: &[ErrorCode] = &[InvalidName, InvalidCron, InvalidTimezone, InvalidUrl];
/// What the controller's `POST /api/v1/jobs` can refuse (passed through), and its own failures.
const CONTROLLER: &[ErrorCode] = &[
    InvalidUrl,
    InvalidIdempotencyKey,
    IdempotencyKeyReused,
    InvalidJson,
    InvalidRequest,
    InvalidBody,
    PayloadTooLarge,
    UnsupportedMediaType,
    ControllerUnavailable,
    ControllerTimeout,
    ControllerError,
];

/// Every route, with the error codes it can answer with: the router and the OpenAPI document
/// are both built from this list (see `pkg_api::openapi`).
fn route_table(t: &mut RouteTable) {
    t.probe("/health", &[], pkg_service::health)
        .probe("/ready", &[NotReady], ready)
        .operation(Method::GET, "/api/v1/schedules", &[], schedules::list)
        .operation(
            Method::POST,
            "/api/v1/schedules",
            &[JSON_BODY, DEFINITION, &[InvalidVersion, ScheduleNameTaken]],
            schedules::create,
        )
        .operation(Method::GET, "/api/v1/schedules/{id}", &[PATH_ID, &[ScheduleNotFound]], schedules::get)
        .operation(
            Method::PUT,
            "/api/v1/schedules/{id}",
            &[JSON_BODY, PATH_ID, DEFINITION, &[ScheduleNotFound, ScheduleNameTaken, Conflict]],
            schedules::replace,
        )
        .operation(
            Method::DELETE,
            "/api/v1/schedules/{id}",
            &[PATH_ID, &[ScheduleNotFound]],
            schedules::delete,
        )
        .operation(
            Method::POST,
            "/api/v1/schedules/{id}/run",
            &[PATH_ID, &[ScheduleNotFound], CONTROLLER],
            schedules::run,
        );
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Skein scheduler",
        description = "Cron schedules (standard crontab, IANA time zones) that queue controller scrape jobs."
    ),
    paths(
        schedules::list,
        schedules::create,
        schedules::get,
        schedules::replace,
        schedules::delete,
        schedules::run
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
