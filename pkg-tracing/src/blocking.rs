//! CPU-bound work off the async executor without losing the trace.

use tracing::Span;

/// Runs `work` on the blocking thread pool inside the current span, so spans and log lines it
/// creates stay in the request's trace. Errors only if `work` panicked.
pub async fn spawn_blocking_in_span<F, R>(work: F) -> Result<R, tokio::task::JoinError>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let span = Span::current();
    actix_web::rt::task::spawn_blocking(move || span.in_scope(work)).await
}
