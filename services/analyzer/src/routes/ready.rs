//! `GET /ready`: the analyzer is ready once its warm-up (lexicons, stop words) has finished;
//! before that it is alive (`/health`) but answers 503, so no traffic is sent its way.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use actix_web::{HttpResponse, web};
use pkg_api::{ApiError, ErrorCode};

/// Set once, when the warm-up completes.
#[derive(Debug, Clone, Default)]
pub(crate) struct Readiness(Arc<AtomicBool>);

impl Readiness {
    pub(crate) fn set_ready(&self) {
        self.0.store(true, Ordering::Release);
    }

    fn is_ready(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

pub(crate) async fn ready(readiness: web::Data<Readiness>) -> Result<HttpResponse, ApiError> {
    if readiness.is_ready() {
        Ok(pkg_service::readiness::ready())
    } else {
        Err(ApiError::new(
            ErrorCode::WarmingUp,
            "The analyzer is still loading its lexicons and stop-word lists.",
        ))
    }
}
