//! Calls between Skein services, and how a callee's failure becomes the caller's.
//!
//! A callee's verdict about the request passes through unchanged (its 4xx, and its 502/504
//! about an external site, keep their status and code); a callee that is unreachable, times
//! out, or fails on its own becomes 503, 504 or 502 at the caller, with the cause in the message.
//!
//! Every message that leaves here has its URLs redacted like `url.full` (credentials dropped,
//! query values `REDACTED`): this is the one place a callee's words enter the caller, and from
//! here they reach job rows, log lines and responses. A scraped URL's `?token=` stays out of all
//! of them.

use actix_web::http::StatusCode;
use pkg_api::{ApiError, ErrorBody};
use pkg_tracing::{ClientError, HttpReply};
use serde::de::DeserializeOwned;

/// The typed answer of `callee`, or the error the caller should answer with.
pub fn interpret<T: DeserializeOwned>(
    callee: &str,
    reply: Result<HttpReply, ClientError>,
) -> Result<T, ApiError> {
    interpret_unredacted(callee, reply)
        .map_err(|e| ApiError::new(e.status(), e.code().to_owned(), pkg_tracing::redact_urls_in(e.message())))
}

fn interpret_unredacted<T: DeserializeOwned>(
    callee: &str,
    reply: Result<HttpReply, ClientError>,
) -> Result<T, ApiError> {
    let reply = match reply {
        Ok(reply) => reply,
        Err(e @ ClientError::Connect { .. }) => {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("{callee}_unavailable"),
                format!("The {callee} is unreachable: {e}."),
            ));
        }
        Err(e @ ClientError::Timeout { .. }) => {
            return Err(ApiError::new(
                StatusCode::GATEWAY_TIMEOUT,
                format!("{callee}_timeout"),
                format!("The {callee} timed out: {e}."),
            ));
        }
        Err(e) => {
            return Err(ApiError::new(
                StatusCode::BAD_GATEWAY,
                format!("{callee}_error"),
                format!("The call to the {callee} failed: {e}."),
            ));
        }
    };
    if reply.status.is_success() {
        return reply.json().map_err(|e| {
            ApiError::new(
                StatusCode::BAD_GATEWAY,
                format!("{callee}_error"),
                format!("The {callee} sent an unreadable answer: {e}."),
            )
        });
    }
    let body: Option<ErrorBody> = reply.json().ok();
    let passes_through = reply.status.is_client_error()
        || matches!(reply.status, StatusCode::BAD_GATEWAY | StatusCode::GATEWAY_TIMEOUT);
    match body {
        Some(body) if passes_through => Err(ApiError::from_body(reply.status, body)),
        Some(body) => Err(ApiError::new(
            StatusCode::BAD_GATEWAY,
            format!("{callee}_error"),
            format!("The {callee} failed with {}: {}", reply.status, body.error.message),
        )),
        None => Err(ApiError::new(
            StatusCode::BAD_GATEWAY,
            format!("{callee}_error"),
            format!("The {callee} answered {} without an error body.", reply.status),
        )),
    }
}

/// Downstream failures worth another try: the callee or the site may recover.
pub fn is_transient(error: &ApiError) -> bool {
    matches!(
        error.status(),
        StatusCode::BAD_GATEWAY | StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::HeaderMap;
    use actix_web::web::Bytes;

    fn reply(status: u16, body: &str) -> Result<HttpReply, ClientError> {
        Ok(HttpReply {
            status: StatusCode::from_u16(status).unwrap(),
            headers: HeaderMap::new(),
            body: Bytes::from(body.to_owned()),
        })
    }

    #[test]
    fn a_callees_client_error_passes_through_unchanged() {
        let err = interpret::<serde_json::Value>(
            "scraper",
            reply(415, r#"{"error":{"code":"not_html","message":"an image"}}"#),
        )
        .unwrap_err();
        assert_eq!((err.status().as_u16(), err.code(), err.message()), (415, "not_html", "an image"));
        let err = interpret::<serde_json::Value>(
            "scraper",
            reply(504, r#"{"error":{"code":"upstream_timeout","message":"slow site"}}"#),
        )
        .unwrap_err();
        assert_eq!((err.status().as_u16(), err.code()), (504, "upstream_timeout"));
    }

    #[test]
    fn a_failing_or_missing_callee_becomes_502_503_504_with_the_cause() {
        let err = interpret::<serde_json::Value>(
            "analyzer",
            reply(500, r#"{"error":{"code":"internal_error","message":"boom"}}"#),
        )
        .unwrap_err();
        assert_eq!((err.status().as_u16(), err.code()), (502, "analyzer_error"));
        assert!(err.message().contains("boom"));
        let down = Err(ClientError::Connect { target: "analyzer".into(), message: "refused".into() });
        assert_eq!(interpret::<serde_json::Value>("analyzer", down).unwrap_err().status().as_u16(), 503);
        let slow = Err(ClientError::Timeout { target: "scraper".into(), timeout_ms: 5 });
        let err = interpret::<serde_json::Value>("scraper", slow).unwrap_err();
        assert_eq!((err.status().as_u16(), err.code()), (504, "scraper_timeout"));
        assert!(is_transient(&err));
        let garbage = interpret::<serde_json::Value>("scraper", reply(200, "not json")).unwrap_err();
        assert_eq!(garbage.status().as_u16(), 502);
    }

    #[test]
    fn urls_in_a_callees_message_lose_their_query_values_and_credentials() {
        let passed = interpret::<serde_json::Value>(
            "scraper",
            reply(
                502,
                r#"{"error":{"code":"upstream_error","message":"http://u:pw@site.example/a?token=secret answered 404 Not Found."}}"#,
            ),
        )
        .unwrap_err();
        assert_eq!((passed.status().as_u16(), passed.code()), (502, "upstream_error"), "the verdict is kept");
        assert_eq!(passed.message(), "http://site.example/a?token=REDACTED answered 404 Not Found.");
        let failed = interpret::<serde_json::Value>(
            "scraper",
            reply(
                500,
                r#"{"error":{"code":"internal_error","message":"\"http://x/ bad?sig=secret\" broke"}}"#,
            ),
        )
        .unwrap_err();
        assert!(!failed.message().contains("secret"), "{}", failed.message());
        let unreachable =
            Err(ClientError::Failed { target: "http://x/?token=secret".into(), message: "invalid".into() });
        let err = interpret::<serde_json::Value>("scraper", unreachable).unwrap_err();
        assert!(!err.message().contains("secret"), "{}", err.message());
    }
}
