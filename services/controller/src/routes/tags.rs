use actix_web::{HttpResponse, web};
use pkg_api::ApiError;
use pkg_service::store_failure;

use super::AppState;

/// `GET /api/v1/tags`: `[{"tag", "count"}]`, most used first.
pub async fn list(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(state.store.tags().await.map_err(store_failure)?))
}
