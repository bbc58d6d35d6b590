//! actix's extractors answer bad input with plain text by default; these configs turn every
//! such failure into an [`ApiError`] so clients parse one error shape everywhere.

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::web::{self, JsonConfig, PathConfig, QueryConfig, ServiceConfig};
use actix_web::{HttpRequest, HttpResponse};

use crate::{ApiError, ErrorCode};

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
    let err =
        ApiError::new(ErrorCode::RouteNotFound, format!("No route for {} {}", req.method(), req.path()));
    actix_web::ResponseError::error_response(&err)
}

/// The catch-all of a path after its routes: a method the path has no operation for is 405
/// with `Allow`, not a 404 (the path exists).
pub fn method_not_allowed(allowed: Vec<actix_web::http::Method>) -> actix_web::Route {
    let allow: Vec<&str> = allowed.iter().map(|m| m.as_str()).collect();
    let allow = allow.join(", ");
    web::route().to(move |req: HttpRequest| {
        let allow = allow.clone();
        async move {
            let err = ApiError::new(
                ErrorCode::MethodNotAllowed,
                format!("{} {} has no operation; allowed: {allow}.", req.method(), req.path()),
            );
            let mut response = actix_web::ResponseError::error_response(&err);
            if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&allow) {
                response.headers_mut().insert(actix_web::http::header::ALLOW, value);
            }
            response
        }
    })
}

fn json_error(err: JsonPayloadError) -> ApiError {
    match err {
        JsonPayloadError::OverflowKnownLength { length, limit } => ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("The body is {length} bytes; the limit is {limit} bytes."),
        ),
        JsonPayloadError::Overflow { limit } => {
            ApiError::new(ErrorCode::PayloadTooLarge, format!("The body exceeds the limit of {limit} bytes."))
        }
        JsonPayloadError::ContentType => ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "The body must be JSON with Content-Type: application/json.",
        ),
        JsonPayloadError::Deserialize(e) if e.is_data() => {
            ApiError::new(ErrorCode::InvalidRequest, format!("The JSON body does not fit: {e}."))
        }
        JsonPayloadError::Deserialize(e) => {
            ApiError::new(ErrorCode::InvalidJson, format!("The body is not valid JSON: {e}."))
        }
        other => ApiError::new(ErrorCode::InvalidBody, format!("The body could not be read: {other}.")),
    }
}

fn path_error(err: PathError) -> ApiError {
    ApiError::new(ErrorCode::InvalidPath, format!("A path segment is malformed: {err}."))
}

fn query_error(err: QueryPayloadError) -> ApiError {
    ApiError::new(ErrorCode::InvalidQuery, format!("The query string is malformed: {err}."))
}

/// Registers the shared not-found handler as the app's default service.
pub fn default_service() -> actix_web::Route {
    web::route().to(not_found_handler)
}

#[cfg(test)]
mod tests {
    use actix_web::{App, HttpResponse, test, web};
    use serde::Deserialize;

    use crate::ErrorBody;

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Payload {
        url: String,
    }

    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct Paging {
        limit: u32,
    }

    async fn call(req: test::TestRequest) -> (u16, ErrorBody) {
        let app = test::init_service(
            App::new()
                .configure(super::extractor_configs(64))
                .route("/json", web::post().to(|_: web::Json<Payload>| async { HttpResponse::Ok().finish() }))
                .route(
                    "/items/{id}",
                    web::get().to(|_: web::Path<u32>| async { HttpResponse::Ok().finish() }),
                )
                .route("/list", web::get().to(|_: web::Query<Paging>| async { HttpResponse::Ok().finish() }))
                .default_service(super::default_service()),
        )
        .await;
        let res = test::call_service(&app, req.to_request()).await;
        let status = res.status().as_u16();
        let content_type = res.headers().get("content-type").unwrap().to_str().unwrap().to_owned();
        assert_eq!(content_type, "application/json");
        (status, test::read_body_json(res).await)
    }

    fn json(body: &'static str) -> test::TestRequest {
        test::TestRequest::post()
            .uri("/json")
            .insert_header(("content-type", "application/json"))
            .set_payload(body)
    }

    #[actix_web::test]
    async fn malformed_json_is_400_invalid_json_with_the_parsers_message() {
        let (status, body) = call(json(r#"{"url": "#)).await;
        assert_eq!((status, body.error.code.as_str()), (400, "invalid_json"));
        assert!(body.error.message.contains("EOF"), "{}", body.error.message);
    }

    #[actix_web::test]
    async fn json_of_the_wrong_shape_is_400_invalid_request_naming_the_field() {
        for (payload, needle) in [
            (r#"{"url": 5}"#, "invalid type"),
            (r#"{}"#, "missing field `url`"),
            (r#"{"url": "x", "urll": "y"}"#, "unknown field `urll`"),
        ] {
            let (status, body) = call(json(payload)).await;
            assert_eq!((status, body.error.code.as_str()), (400, "invalid_request"), "{payload}");
            assert!(body.error.message.contains(needle), "{payload}: {}", body.error.message);
        }
    }

    #[actix_web::test]
    async fn oversized_and_non_json_bodies_get_their_own_statuses() {
        let (status, body) =
            call(json(r#"{"url": "0123456789012345678901234567890123456789012345678901234567890"}"#)).await;
        assert_eq!((status, body.error.code.as_str()), (413, "payload_too_large"));
        let plain = test::TestRequest::post()
            .uri("/json")
            .insert_header(("content-type", "text/plain"))
            .set_payload("x");
        let (status, body) = call(plain).await;
        assert_eq!((status, body.error.code.as_str()), (415, "unsupported_media_type"));
    }

    #[actix_web::test]
    async fn bad_paths_queries_and_unknown_routes_use_the_shared_body() {
        let (status, body) = call(test::TestRequest::get().uri("/items/abc")).await;
        assert_eq!((status, body.error.code.as_str()), (400, "invalid_path"));
        let (status, body) = call(test::TestRequest::get().uri("/list?limit=-1")).await;
        assert_eq!((status, body.error.code.as_str()), (400, "invalid_query"));
        let (status, body) = call(test::TestRequest::get().uri("/nowhere")).await;
        assert_eq!((status, body.error.code.as_str()), (404, "route_not_found"));
        assert!(body.error.message.contains("/nowhere"));
    }
}
