//! actix's extractors answer bad input with plain text by default; these configs turn every
//! such failure into an [`ApiError`] so clients parse one error shape everywhere.

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::StatusCode;
use actix_web::web::{self, JsonConfig, PathConfig, QueryConfig, ServiceConfig};
use actix_web::{HttpRequest, HttpResponse};

use crate::ApiError;

/// Registers JSON (with a body limit in bytes), path and query extractor configs whose errors
/// use the shared body. Call it from every `App::configure`.
pub fn extractor_configs(json_limit: usize) -> impl FnOnce(&mut ServiceConfig) {
    move |cfg| {
        cfg.app_data(
            JsonConfig::default().limit(json_limit).error_handler(|err, _req| json_error(err).into()),
        )
        .app_data(PathConfig::default().error_handler(|err, _req| path_error(err).into()))
        .app_data(QueryConfig::default().error_handler(|err, _req| query_error(err).into()));
    }
}

/// The `default_service` of every app: unknown routes get the shared body, not an empty 404.
pub async fn not_found_handler(req: HttpRequest) -> HttpResponse {
    let err = ApiError::not_found("route_not_found", format!("No route for {} {}", req.method(), req.path()));
    actix_web::ResponseError::error_response(&err)
}

fn json_error(err: JsonPayloadError) -> ApiError {
    match err {
        JsonPayloadError::OverflowKnownLength { length, limit } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("The body is {length} bytes; the limit is {limit} bytes."),
        ),
        JsonPayloadError::Overflow { limit } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("The body exceeds the limit of {limit} bytes."),
        ),
        JsonPayloadError::ContentType => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "The body must be JSON with Content-Type: application/json.",
        ),
        JsonPayloadError::Deserialize(e) if e.is_data() => {
            ApiError::bad_request("invalid_request", format!("The JSON body does not fit: {e}."))
        }
        JsonPayloadError::Deserialize(e) => {
            ApiError::bad_request("invalid_json", format!("The body is not valid JSON: {e}."))
        }
        other => ApiError::bad_request("invalid_body", format!("The body could not be read: {other}.")),
    }
}

fn path_error(err: PathError) -> ApiError {
    ApiError::bad_request("invalid_path", format!("A path segment is malformed: {err}."))
}

fn query_error(err: QueryPayloadError) -> ApiError {
    ApiError::bad_request("invalid_query", format!("The query string is malformed: {err}."))
}

/// Registers the shared not-found handler as the app's default service.
pub fn default_service() -> actix_web::Route {
    web::route().to(not_found_handler)
}
