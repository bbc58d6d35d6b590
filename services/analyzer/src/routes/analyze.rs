use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use pkg_api::{AnalyzeRequest, ApiError};

pub(crate) struct Limits {
    pub(crate) max_bytes: usize,
}

/// `POST /v1/analyze`: the CPU work runs on the blocking pool, inside this request's span, so
/// the executor keeps serving and the stage spans stay in the trace.
pub(crate) async fn analyze(
    body: web::Json<AnalyzeRequest>,
    limits: web::Data<Limits>,
) -> Result<HttpResponse, ApiError> {
    let text = body.into_inner().text;
    if text.len() > limits.max_bytes {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "text_too_large",
            format!(
                "The text is {} bytes; the analyzer accepts at most {} bytes.",
                text.len(),
                limits.max_bytes
            ),
        ));
    }
    let analysis =
        pkg_tracing::spawn_blocking_in_span(move || crate::analysis::analyze(&text)).await.map_err(|e| {
            tracing::error!(error = %e, "analysis panicked");
            ApiError::internal()
        })?;
    Ok(HttpResponse::Ok().json(analysis))
}
