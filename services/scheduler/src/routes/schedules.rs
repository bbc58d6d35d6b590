use actix_web::http::StatusCode;
use actix_web::http::header::LOCATION;
use actix_web::{HttpResponse, web};
use jiff::Timestamp;
use pkg_api::ApiError;
use pkg_tracing::InternalClient;
use tracing::Instrument as _;

use super::AppState;
use crate::input::ScheduleInput;
use crate::runner::{run_span, trigger};
use crate::store::is_name_taken;

pub async fn list(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let schedules = state.store.list().await.map_err(internal)?;
    let items: Vec<_> = schedules.iter().map(|s| s.to_json()).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items })))
}

pub async fn create(
    input: web::Json<ScheduleInput>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let definition = input.into_inner().validate(Timestamp::now())?;
    let schedule = state.store.insert(&definition).await.map_err(|e| write_error(e, &definition.name))?;
    state.wake.notify_one();
    tracing::info!(schedule.id = %schedule.id, schedule.name = %schedule.name, "schedule created");
    Ok(HttpResponse::Created()
        .insert_header((LOCATION, format!("/api/v1/schedules/{}", schedule.id)))
        .json(schedule.to_json()))
}

pub async fn get(id: web::Path<String>, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    let schedule = state.store.get(&id).await.map_err(internal)?.ok_or_else(|| not_found(&id))?;
    Ok(HttpResponse::Ok().json(schedule.to_json()))
}

/// `PUT`: the whole definition is replaced; the next run is recomputed from now.
pub async fn replace(
    id: web::Path<String>,
    input: web::Json<ScheduleInput>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    let definition = input.into_inner().validate(Timestamp::now())?;
    let schedule = state
        .store
        .update(&id, &definition)
        .await
        .map_err(|e| write_error(e, &definition.name))?
        .ok_or_else(|| not_found(&id))?;
    state.wake.notify_one();
    Ok(HttpResponse::Ok().json(schedule.to_json()))
}

pub async fn delete(id: web::Path<String>, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    if !state.store.delete(&id).await.map_err(internal)? {
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
    let id = parse_id(&id)?;
    let schedule = state.store.get(&id).await.map_err(internal)?.ok_or_else(|| not_found(&id))?;
    let job = trigger(&state.store, &controller, &schedule).instrument(run_span(&schedule, false)).await?;
    let schedule = state.store.get(&id).await.map_err(internal)?.ok_or_else(|| not_found(&id))?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "schedule": schedule.to_json(), "job": job })))
}

fn parse_id(raw: &str) -> Result<String, ApiError> {
    uuid::Uuid::parse_str(raw)
        .map(|id| id.to_string())
        .map_err(|_| ApiError::bad_request("invalid_id", format!("{raw:?} is not a schedule id.")))
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
        internal(error)
    }
}

fn internal(error: sqlx::Error) -> ApiError {
    tracing::error!(error.message = %error, error.cause_chain = %pkg_tracing::cause_chain(&error), "store failure");
    ApiError::internal()
}
