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
use pkg_api::{ApiError, ErrorBody, ErrorCode};
use pkg_tracing::{ClientError, HttpReply};
use serde::de::DeserializeOwned;

/// A Skein service called by another, with the codes its failures become at the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Callee {
    pub name: &'static str,
    /// Unreachable (503).
    pub unavailable: ErrorCode,
    /// No answer in time (504).
    pub timeout: ErrorCode,
    /// A 5xx of its own, an unreadable answer, or an error code the table does not have (502).
    pub error: ErrorCode,
}

impl Callee {
    pub const SCRAPER: Callee = Callee {
        name: "scraper",
        unavailable: ErrorCode::ScraperUnavailable,
        timeout: ErrorCode::ScraperTimeout,
        error: ErrorCode::ScraperError,
    };
    pub const ANALYZER: Callee = Callee {
        name: "analyzer",
        unavailable: ErrorCode::AnalyzerUnavailable,
        timeout: ErrorCode::AnalyzerTimeout,
        error: ErrorCode::AnalyzerError,
    };
    pub const CONTROLLER: Callee = Callee {
        name: "controller",
        unavailable: ErrorCode::ControllerUnavailable,
        timeout: ErrorCode::ControllerTimeout,
        error: ErrorCode::ControllerError,
    };
}

/// The typed answer of `callee`, or the error the caller should answer with.
pub fn interpret<T: DeserializeOwned>(
    callee: Callee,
    reply: Result<HttpReply, ClientError>,
) -> Result<T, ApiError> {
    interpret_unredacted(callee, reply)
        .map_err(|e| ApiError::new(e.error_code(), pkg_tracing::redact_urls_in(e.message())))
}

fn interpret_unredacted<T: DeserializeOwned>(
    callee: Callee,
    reply: Result<HttpReply, ClientError>,
) -> Result<T, ApiError> {
    let name = callee.name;
    let reply = match reply {
        Ok(reply) => reply,
        Err(e @ ClientError::Connect { .. }) => {
            return Err(ApiError::new(callee.unavailable, format!("The {name} is unreachable: {e}.")));
        }
        Err(e @ ClientError::Timeout { .. }) => {
            return Err(ApiError::new(callee.timeout, format!("The {name} timed out: {e}.")));
        }
        Err(e) => {
            return Err(ApiError::new(callee.error, format!("The call to the {name} failed: {e}.")));
        }
    };
    if reply.status.is_success() {
        return reply
            .json()
            .map_err(|e| ApiError::new(callee.error, format!("The {name} sent an unreadable answer: {e}.")));
    }
    let body: Option<ErrorBody> = reply.json().ok();
    let passes_through = reply.status.is_client_error()
        || matches!(reply.status, StatusCode::BAD_GATEWAY | StatusCode::GATEWAY_TIMEOUT);
    match body {
        Some(body) if passes_through => Err(ApiError::from_body(body, callee.error)),
        Some(body) => Err(ApiError::new(
            callee.error,
            format!("The {name} failed with {}: {}", reply.status, body.error.message),
        )),
        None => Err(ApiError::new(
            callee.error,
            format!("The {name} answered {} without an error body.", reply.status),
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
            Callee::SCRAPER,
            reply(415, r#"{"error":{"code":"not_html","message":"an image"}}"#),
        )
        .unwrap_err();
        assert_eq!((err.status().as_u16(), err.code(), err.message()), (415, "not_html", "an image"));
        let err = interpret::<serde_json::Value>(
            Callee::SCRAPER,
            reply(504, r#"{"error":{"code":"upstream_timeout","message":"slow site"}}"#),
        )
        .unwrap_err();
        assert_eq!((err.status().as_u16(), err.code()), (504, "upstream_timeout"));
    }

    #[test]
    fn a_callees_code_outside_the_table_becomes_its_error_code_never_passes_through() {
        let err = interpret::<serde_json::Value>(
            Callee::CONTROLLER,
            reply(400, r#"{"error":{"code":"brand_new","message":"no idea"}}"#),
        )
        .unwrap_err();
        assert_eq!((err.status().as_u16(), err.code()), (502, "controller_error"));
        assert!(err.message().contains("brand_new"), "{}", err.message());
    }

    #[test]
    fn a_failing_or_missing_callee_becomes_502_503_504_with_the_cause() {
        let err = interpret::<serde_json::Value>(
            Callee::ANALYZER,
            reply(500, r#"{"error":{"code":"internal_error","message":"boom"}}"#),
        )
        .unwrap_err();
        assert_eq!((err.status().as_u16(), err.code()), (502, "analyzer_error"));
        assert!(err.message().contains("boom"));
        let down = Err(ClientError::Connect { target: "analyzer".into(), message: "refused".into() });
        assert_eq!(
            interpret::<serde_json::Value>(Callee::ANALYZER, down).unwrap_err().status().as_u16(),
            503
        );
        let slow = Err(ClientError::Timeout { target: "scraper".into(), timeout_ms: 5 });
        let err = interpret::<serde_json::Value>(Callee::SCRAPER, slow).unwrap_err();
        assert_eq!((err.status().as_u16(), err.code()), (504, "scraper_timeout"));
        assert!(is_transient(&err));
        let garbage = interpret::<serde_json::Value>(Callee::SCRAPER, reply(200, "not json")).unwrap_err();
        assert_eq!(garbage.status().as_u16(), 502);
    }

    #[test]
    fn urls_in_a_callees_message_lose_their_query_values_and_credentials() {
        let passed = interpret::<serde_json::Value>(
            Callee::SCRAPER,
            reply(
                502,
                r#"{"error":{"code":"upstream_error","message":"http://u:pw@site.example/a?token=secret answered 404 Not Found."}}"#,
            ),
        )
        .unwrap_err();
        assert_eq!((passed.status().as_u16(), passed.code()), (502, "upstream_error"), "the verdict is kept");
        assert_eq!(passed.message(), "http://site.example/a?token=REDACTED answered 404 Not Found.");
        let failed = interpret::<serde_json::Value>(
            Callee::SCRAPER,
            reply(
                500,
                r#"{"error":{"code":"internal_error","message":"\"http://x/ bad?sig=secret\" broke"}}"#,
            ),
        )
        .unwrap_err();
        assert!(!failed.message().contains("secret"), "{}", failed.message());
        let unreachable =
            Err(ClientError::Failed { target: "http://x/?token=secret".into(), message: "invalid".into() });
        let err = interpret::<serde_json::Value>(Callee::SCRAPER, unreachable).unwrap_err();
        assert!(!err.message().contains("secret"), "{}", err.message());
    }
}
