use actix_web::http::StatusCode;
use actix_web::http::header::LOCATION;
use actix_web::{HttpResponse, web};
use jiff::Timestamp;
use pkg_api::{ApiError, parse_id};
use pkg_service::store_failure;
use pkg_tracing::InternalClient;
use tracing::Instrument as _;

use super::AppState;
use crate::input::ScheduleInput;
use crate::runner::{run_span, trigger};
use crate::store::{Updated, is_name_taken};

pub async fn list(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let schedules = state.store.list().await.map_err(store_failure)?;
    let items: Vec<_> = schedules.iter().map(|s| s.to_json()).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items })))
}

pub async fn create(
    input: web::Json<ScheduleInput>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let input = input.into_inner();
    if input.version.is_some() {
        return Err(ApiError::bad_request(
            "invalid_version",
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

pub async fn get(id: web::Path<String>, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id, "schedule")?;
    pkg_tracing::mark_current_span("schedule.id", id.clone());
    let schedule = state.store.get(&id).await.map_err(store_failure)?.ok_or_else(|| not_found(&id))?;
    Ok(HttpResponse::Ok().json(schedule.to_json()))
}

/// `PUT`: the whole definition is replaced; the next run is recomputed from now. With
/// `version` (as last read), the replacement is compare-and-set: 409 `conflict` naming the
/// current version if the schedule changed since.
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
                StatusCode::CONFLICT,
                "conflict",
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
    Ok(HttpResponse::Ok().json(serde_json::json!({ "schedule": schedule.to_json(), "job": job })))
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found("schedule_not_found", format!("There is no schedule {id}."))
}

fn write_error(error: sqlx::Error, name: &str) -> ApiError {
    if is_name_taken(&error) {
        ApiError::new(
            StatusCode::CONFLICT,
            "schedule_name_taken",
            format!("A schedule named {name:?} exists already."),
        )
    } else {
        store_failure(error)
    }
}
