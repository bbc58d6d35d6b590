use actix_web::{HttpResponse, web};
use pkg_api::ApiError;
use pkg_service::store_failure;

use super::AppState;
use crate::store::TagCount;

/// `GET /api/v1/tags`: `[{"tag", "count"}]`, most used first.
#[utoipa::path(
    get,
    path = "/api/v1/tags",
    operation_id = "list_tags",
    tag = "documents",
    summary = "Tags of the stored documents with their counts, most used first",
    responses((status = 200, description = "Every tag and how many documents carry it", body = Vec<TagCount>))
)]
pub async fn list(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(state.store.tags().await.map_err(store_failure)?))
}
