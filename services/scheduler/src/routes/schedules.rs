use actix_web::http::header::LOCATION;
use actix_web::{HttpResponse, web};
use jiff::Timestamp;
use pkg_api::{ApiError, ErrorCode, parse_id};
use pkg_service::store_failure;
use pkg_tracing::InternalClient;
use serde::Serialize;
use tracing::Instrument as _;
use utoipa::ToSchema;

use super::AppState;
use crate::input::{NewSchedule, ScheduleInput};
use crate::runner::{run_span, trigger};
use crate::store::{Schedule, ScheduleView, Updated, is_name_taken};

#[utoipa::path(
    get,
    path = "/api/v1/schedules",
    operation_id = "list_schedules",
    tag = "schedules",
    summary = "Every schedule",
    responses((status = 200, description = "The schedules", body = ScheduleList))
)]
pub async fn list(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let schedules = state.store.list().await.map_err(store_failure)?;
    let items = schedules.iter().map(Schedule::view).collect();
    Ok(HttpResponse::Ok().json(ScheduleList { items }))
}

#[utoipa::path(
    post,
    path = "/api/v1/schedules",
    operation_id = "create_schedule",
    tag = "schedules",
    summary = "Create a schedule",
    request_body = NewSchedule,
    responses((status = 201, description = "Created; `Location` names it", body = ScheduleView,
        headers(("Location" = String, description = "/api/v1/schedules/{id}"))))
)]
pub async fn create(
    input: web::Json<ScheduleInput>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let input = input.into_inner();
    if input.version.is_some() {
        return Err(ApiError::new(
            ErrorCode::InvalidVersion,
            "A new schedule has no version yet; send version only with PUT.",
        ));
    }
    let definition = input.validate(Timestamp::now())?;
    let schedule = state.store.insert(&definition).await.map_err(|e| write_error(e, &definition.name))?;
    state.wake.notify_one();
    pkg_tracing::mark_current_span("schedule.id", schedule.id.clone());
    tracing::info!(schedule.id = %schedule.id, schedule.name = %schedule.name, "schedule created");
    Ok(HttpResponse::Created()
        .insert_header((LOCATION, format!("/api/v1/schedules/{}", schedule.id)))
        .json(schedule.to_json()))
}

#[utoipa::path(
    get,
    path = "/api/v1/schedules/{id}",
    operation_id = "get_schedule",
    tag = "schedules",
    summary = "One schedule",
    params(("id" = uuid::Uuid, Path, description = "The schedule's id")),
    responses((status = 200, description = "The schedule", body = ScheduleView))
)]
pub async fn get(id: web::Path<String>, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id, "schedule")?;
    pkg_tracing::mark_current_span("schedule.id", id.clone());
    let schedule = state.store.get(&id).await.map_err(store_failure)?.ok_or_else(|| not_found(&id))?;
    Ok(HttpResponse::Ok().json(schedule.to_json()))
}

/// `PUT`: the whole definition is replaced; the next run is recomputed from now. With
/// `version` (as last read), the replacement is compare-and-set: 409 `conflict` naming the
/// current version if the schedule changed since.
#[utoipa::path(
    put,
    path = "/api/v1/schedules/{id}",
    operation_id = "replace_schedule",
    tag = "schedules",
    summary = "Replace a schedule's definition",
    params(("id" = uuid::Uuid, Path, description = "The schedule's id")),
    request_body = ScheduleInput,
    responses((status = 200, description = "Replaced; the next run is recomputed from now", body = ScheduleView))
)]
pub async fn replace(
    id: web::Path<String>,
    input: web::Json<ScheduleInput>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id, "schedule")?;
    pkg_tracing::mark_current_span("schedule.id", id.clone());
    let input = input.into_inner();
    let expected = input.version;
    let definition = input.validate(Timestamp::now())?;
    let schedule = match state
        .store
        .update(&id, &definition, expected)
        .await
        .map_err(|e| write_error(e, &definition.name))?
    {
        Updated::Done(schedule) => *schedule,
        Updated::NotFound => return Err(not_found(&id)),
        Updated::Conflict(current) => {
            return Err(ApiError::new(
                ErrorCode::Conflict,
                format!(
                    "Schedule {id} is at version {current}, not {}: it changed since you read it. Read it again and retry.",
                    expected.unwrap_or_default()
                ),
            ));
        }
    };
    state.wake.notify_one();
    Ok(HttpResponse::Ok().json(schedule.to_json()))
}

#[utoipa::path(
    delete,
    path = "/api/v1/schedules/{id}",
    operation_id = "delete_schedule",
    tag = "schedules",
    summary = "Delete a schedule",
    params(("id" = uuid::Uuid, Path, description = "The schedule's id")),
    responses((status = 204, description = "Deleted"))
)]
pub async fn delete(id: web::Path<String>, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id, "schedule")?;
    pkg_tracing::mark_current_span("schedule.id", id.clone());
    if !state.store.delete(&id).await.map_err(store_failure)? {
        return Err(not_found(&id));
    }
    state.wake.notify_one();
    Ok(HttpResponse::NoContent().finish())
}

/// `POST .../run`: runs the schedule now, inside this request's trace, and answers with the
/// job the controller queued (or the controller's error).
#[utoipa::path(
    post,
    path = "/api/v1/schedules/{id}/run",
    operation_id = "run_schedule",
    tag = "schedules",
    summary = "Run a schedule now",
    params(("id" = uuid::Uuid, Path, description = "The schedule's id")),
    responses((status = 200, description = "The schedule after the run and the job the controller queued", body = RunOutcome))
)]
pub async fn run(
    id: web::Path<String>,
    state: web::Data<AppState>,
    controller: web::Data<InternalClient>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id, "schedule")?;
    pkg_tracing::mark_current_span("schedule.id", id.clone());
    let schedule = state.store.get(&id).await.map_err(store_failure)?.ok_or_else(|| not_found(&id))?;
    let job = trigger(&state.store, &controller, &state.metrics, &schedule, None)
        .instrument(run_span(&schedule, false))
        .await?;
    let schedule = state.store.get(&id).await.map_err(store_failure)?.ok_or_else(|| not_found(&id))?;
    Ok(HttpResponse::Ok().json(RunOutcome { schedule: schedule.view(), job }))
}

/// Every schedule.
#[derive(Serialize, ToSchema)]
pub struct ScheduleList {
    pub items: Vec<ScheduleView>,
}

/// `POST .../run`'s answer.
#[derive(Serialize, ToSchema)]
pub struct RunOutcome {
    pub schedule: ScheduleView,
    /// The controller's job, as `POST /api/v1/jobs` answered it.
    #[schema(value_type = Object)]
    pub job: serde_json::Value,
}

fn not_found(id: &str) -> ApiError {
    ApiError::new(ErrorCode::ScheduleNotFound, format!("There is no schedule {id}."))
}

fn write_error(error: sqlx::Error, name: &str) -> ApiError {
    if is_name_taken(&error) {
        ApiError::new(ErrorCode::ScheduleNameTaken, format!("A schedule named {name:?} exists already."))
    } else {
        store_failure(error)
    }
}
