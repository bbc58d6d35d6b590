//! `GET /ready`'s one response shape. Each service runs its own checks (store, callees,
//! warm-up); only turning their verdicts into the response lives here, so the services agree.

use actix_web::{HttpResponse, ResponseError as _};
use pkg_api::{ApiError, ErrorCode};

/// 200 `{"status":"ready"}`.
pub fn ready() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ready" }))
}

/// 200 when every check passed; otherwise 503 `not_ready` whose message names each failure,
/// in the order given (`"Not ready: store: …; controller answered 500."`).
pub fn from_checks(checks: impl IntoIterator<Item = Result<(), String>>) -> HttpResponse {
    let problems: Vec<String> = checks.into_iter().filter_map(Result::err).collect();
    if problems.is_empty() {
        ready()
    } else {
        let message = format!("Not ready: {}.", problems.join("; "));
        ApiError::new(ErrorCode::NotReady, message).error_response()
    }
}

#[cfg(test)]
mod tests {
    use actix_web::body::to_bytes;

    use super::from_checks;

    async fn answer(checks: Vec<Result<(), String>>) -> (u16, serde_json::Value) {
        let response = from_checks(checks);
        let status = response.status().as_u16();
        let body = to_bytes(response.into_body()).await.unwrap();
        (status, serde_json::from_slice(&body).unwrap())
    }

    #[actix_web::test]
    async fn all_checks_passing_is_ready() {
        let (status, body) = answer(vec![Ok(()), Ok(())]).await;
        assert_eq!((status, body), (200, serde_json::json!({ "status": "ready" })));
    }

    #[actix_web::test]
    async fn each_failure_is_named_in_the_503() {
        let (status, body) =
            answer(vec![Err("store: gone".into()), Ok(()), Err("controller answered 500".into())]).await;
        assert_eq!(status, 503);
        assert_eq!(body["error"]["code"], "not_ready");
        assert_eq!(body["error"]["message"], "Not ready: store: gone; controller answered 500.");
    }
}
