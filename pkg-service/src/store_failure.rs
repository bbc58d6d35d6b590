//! A failing store is the server's fault, never the client's: the cause goes to the log and the
//! span, the client gets a bare 500 (whose traceresponse header locates the cause).

use pkg_api::ApiError;

/// Logs `error` with its cause chain and returns `ApiError::internal()`; use as
/// `.map_err(store_failure)`.
pub fn store_failure<E: std::error::Error + 'static>(error: E) -> ApiError {
    tracing::error!(error.message = %error, error.cause_chain = %pkg_tracing::cause_chain(&error), "store failure");
    ApiError::internal()
}
