use actix_web::{HttpResponse, web};
use pkg_api::{ApiError, ErrorCode};
use pkg_service::store_failure;

use super::{AppState, DocumentPage, DocumentsQuery, ListQuery};
use crate::store::{DocumentView, decode_cursor};
use pkg_api::parse_id;

/// `GET /api/v1/documents?tag=&limit=&cursor=`, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/documents",
    operation_id = "list_documents",
    tag = "documents",
    summary = "List stored documents, newest first",
    params(DocumentsQuery),
    responses((status = 200, description = "A page of documents", body = DocumentPage))
)]
pub async fn list(
    query: web::Query<ListQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    if query.status.is_some() {
        return Err(ApiError::new(ErrorCode::InvalidQuery, "Documents are filtered by tag, not status."));
    }
    let after = query.cursor.as_deref().map(decode_cursor).transpose()?;
    let limit = crate::store::page_limit(query.limit)?;
    let tag = query.tag.as_deref().map(str::trim).filter(|t| !t.is_empty());
    let page = state.store.documents(tag, after.as_deref(), limit).await.map_err(store_failure)?;
    let items = page.items.iter().map(|d| d.view(&state.grafana_url)).collect();
    Ok(HttpResponse::Ok().json(DocumentPage { items, next_cursor: page.next_cursor }))
}

#[utoipa::path(
    get,
    path = "/api/v1/documents/{id}",
    operation_id = "get_document",
    tag = "documents",
    summary = "One stored document",
    params(("id" = uuid::Uuid, Path, description = "The document's id")),
    responses((status = 200, description = "The document", body = DocumentView))
)]
pub async fn get(id: web::Path<String>, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id, "document")?;
    pkg_tracing::mark_current_span("document.id", id.clone());
    let document = state.store.document(&id).await.map_err(store_failure)?.ok_or_else(|| not_found(&id))?;
    Ok(HttpResponse::Ok().json(document.view(&state.grafana_url)))
}

/// `DELETE /api/v1/documents/{id}`: 204, or 404 if there was none.
#[utoipa::path(
    delete,
    path = "/api/v1/documents/{id}",
    operation_id = "delete_document",
    tag = "documents",
    summary = "Delete a stored document",
    params(("id" = uuid::Uuid, Path, description = "The document's id")),
    responses((status = 204, description = "Deleted"))
)]
pub async fn delete(id: web::Path<String>, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id, "document")?;
    pkg_tracing::mark_current_span("document.id", id.clone());
    if state.store.delete_document(&id).await.map_err(store_failure)? {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(not_found(&id))
    }
}

fn not_found(id: &str) -> ApiError {
    ApiError::new(ErrorCode::DocumentNotFound, format!("There is no document {id}."))
}
