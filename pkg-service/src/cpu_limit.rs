//! A bound on CPU-bound work in flight (extraction, analysis): a semaphore sized to the cores.
//! A request that would wait longer than a deadline for a permit is answered 503 `overloaded`
//! with `Retry-After`, instead of queueing on the blocking pool without end. Callers (the
//! controller's job workers) treat 503 as transient and retry later.

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::http::header::RETRY_AFTER;
use actix_web::{HttpResponse, ResponseError};
use pkg_api::{ApiError, ErrorCode};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Permits for CPU-bound work, shared by every worker of one service.
#[derive(Debug, Clone)]
pub struct CpuLimit {
    permits: Arc<Semaphore>,
    size: usize,
    max_wait: Duration,
}

/// A permit held: CPU work may run until it is dropped.
#[derive(Debug)]
pub struct CpuPermit(#[allow(dead_code)] OwnedSemaphorePermit);

/// Why CPU work did not run to completion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CpuLimitError {
    Overloaded { permits: usize, waited_ms: u64 },
    Panicked,
}

impl std::fmt::Display for CpuLimitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CpuLimitError::Overloaded { permits, waited_ms } => {
                write!(f, "all {permits} CPU permits stayed busy for {waited_ms} ms")
            }
            CpuLimitError::Panicked => f.write_str("the work panicked"),
        }
    }
}

impl std::error::Error for CpuLimitError {}

/// The number of cores this process may use (at least 1).
pub fn available_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

impl CpuLimit {
    /// `permits` tasks at once (at least 1); a request waits at most `max_wait` for one.
    pub fn new(permits: usize, max_wait: Duration) -> Self {
        let size = permits.max(1);
        Self { permits: Arc::new(Semaphore::new(size)), size, max_wait }
    }

    /// A permit, or `Overloaded` if none frees up within the deadline.
    pub async fn permit(&self) -> Result<CpuPermit, CpuLimitError> {
        let acquire = Arc::clone(&self.permits).acquire_owned();
        match actix_web::rt::time::timeout(self.max_wait, acquire).await {
            Ok(Ok(permit)) => Ok(CpuPermit(permit)),
            // The semaphore is never closed; treat it like a timeout rather than panic.
            Ok(Err(_)) | Err(_) => Err(CpuLimitError::Overloaded {
                permits: self.size,
                waited_ms: self.max_wait.as_millis() as u64,
            }),
        }
    }

    /// Runs `work` on the blocking pool, in the current span, once a permit is free.
    pub async fn run<F, R>(&self, work: F) -> Result<R, CpuLimitError>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let permit = self.permit().await?;
        Self::run_holding(permit, work).await
    }

    /// Like [`run`](Self::run) but waits as long as it takes: for start-up work (warm-up),
    /// which no caller is waiting on.
    pub async fn run_when_free<F, R>(&self, work: F) -> Result<R, CpuLimitError>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let permit = Arc::clone(&self.permits).acquire_owned().await.map_err(|_| CpuLimitError::Panicked)?;
        Self::run_holding(CpuPermit(permit), work).await
    }

    async fn run_holding<F, R>(permit: CpuPermit, work: F) -> Result<R, CpuLimitError>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let result = pkg_tracing::spawn_blocking_in_span(work).await;
        drop(permit);
        result.map_err(|e| {
            tracing::error!(error = %e, "CPU-bound work panicked");
            CpuLimitError::Panicked
        })
    }
}

impl ResponseError for CpuLimitError {
    fn status_code(&self) -> StatusCode {
        match self {
            CpuLimitError::Overloaded { .. } => StatusCode::SERVICE_UNAVAILABLE,
            CpuLimitError::Panicked => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            CpuLimitError::Overloaded { waited_ms, .. } => {
                let body = ApiError::new(
                    ErrorCode::Overloaded,
                    format!("The service is at capacity: {self}; retry later."),
                )
                .body();
                let retry_after = waited_ms.div_ceil(1000).max(1);
                HttpResponse::ServiceUnavailable().insert_header((RETRY_AFTER, retry_after)).json(body)
            }
            CpuLimitError::Panicked => ApiError::internal().error_response(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_web::test]
    async fn work_runs_while_permits_last_and_is_refused_after_the_deadline() {
        let limit = CpuLimit::new(1, Duration::from_millis(20));
        assert_eq!(limit.run(|| 2 + 2).await, Ok(4));
        let held = limit.permit().await.unwrap();
        let refused = limit.run(|| ()).await.unwrap_err();
        assert_eq!(refused, CpuLimitError::Overloaded { permits: 1, waited_ms: 20 });
        let response = refused.error_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers().get(RETRY_AFTER).unwrap(), "1");
        drop(held);
        assert_eq!(limit.run(|| "free again").await, Ok("free again"));
        assert_eq!(limit.run(|| panic!("boom")).await, Err::<(), _>(CpuLimitError::Panicked));
    }
}
