use std::fmt;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ErrorCode;

/// The JSON body of every error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable, snake_case.
    pub code: String,
    /// A sentence for people; never internal details of a 5xx.
    pub message: String,
}

/// An HTTP error in Skein's one shape: a code from the table (which fixes the status) and a
/// message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    code: ErrorCode,
    message: String,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }

    /// A 500 whose body says nothing about the cause: the cause belongs in the logs and the
    /// span, not in a response a stranger can read.
    pub fn internal() -> Self {
        Self::new(
            ErrorCode::InternalError,
            "The server hit an unexpected error; the trace id in the traceresponse header locates it.",
        )
    }

    /// Rebuilds a callee's error so a caller can pass its verdict through unchanged. A code
    /// the table does not have becomes `fallback` (the caller's `<callee>_error`), with the
    /// callee's code and message in the message: a caller never sends an unknown code on.
    pub fn from_body(body: ErrorBody, fallback: ErrorCode) -> Self {
        match ErrorCode::from_code(&body.error.code) {
            Some(code) => Self::new(code, body.error.message),
            None => Self::new(
                fallback,
                format!(
                    "The callee answered with the unknown code {:?}: {}",
                    body.error.code, body.error.message
                ),
            ),
        }
    }

    pub fn status(&self) -> StatusCode {
        self.code.status()
    }

    /// The wire name of the code (`"invalid_url"`).
    pub fn code(&self) -> &'static str {
        self.code.as_str()
    }

    pub fn error_code(&self) -> ErrorCode {
        self.code
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody { error: ErrorDetail { code: self.code.to_string(), message: self.message.clone() } }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.status().as_u16(), self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status()
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status()).json(self.body())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_500_a_panic_becomes_is_the_internal_error() {
        // pkg-tracing's middleware answers panics itself (it depends on no crate of ours):
        // its body must stay the one shape, word for word.
        let ours = serde_json::to_value(ApiError::internal().body()).unwrap();
        assert_eq!(ours, pkg_tracing::internal_error_body());
    }

    #[test]
    fn a_callees_known_code_passes_through_and_an_unknown_one_becomes_the_fallback() {
        let body = |code: &str| ErrorBody { error: ErrorDetail { code: code.into(), message: "why".into() } };
        let known = ApiError::from_body(body("not_html"), ErrorCode::ScraperError);
        assert_eq!((known.status().as_u16(), known.code(), known.message()), (415, "not_html", "why"));
        let unknown = ApiError::from_body(body("made_up"), ErrorCode::ScraperError);
        assert_eq!((unknown.status().as_u16(), unknown.code()), (502, "scraper_error"));
        assert!(unknown.message().contains("made_up") && unknown.message().contains("why"), "{unknown}");
    }
}
