use actix_web::{HttpResponse, web};
use pkg_api::{Analysis, AnalyzeRequest, ApiError, ErrorCode};
use pkg_service::cpu_limit::CpuLimit;

use crate::metrics::AnalyzerMetrics;

pub(crate) struct Limits {
    pub(crate) max_bytes: usize,
}

/// `POST /v1/analyze`: the CPU work runs on the blocking pool, inside this request's span, so
/// the executor keeps serving and the stage spans stay in the trace; at most a core's worth at
/// once, and 503 `overloaded` when no slot frees up in time.
#[utoipa::path(
    post,
    path = "/v1/analyze",
    operation_id = "analyze_text",
    tag = "analyze",
    summary = "Analyse a text",
    request_body = AnalyzeRequest,
    responses((status = 200, description = "The analysis", body = Analysis))
)]
pub(crate) async fn analyze(
    body: web::Json<AnalyzeRequest>,
    limits: web::Data<Limits>,
    cpu_limit: web::Data<CpuLimit>,
    metrics: web::Data<AnalyzerMetrics>,
) -> Result<HttpResponse, actix_web::Error> {
    let text = body.into_inner().text;
    if text.len() > limits.max_bytes {
        return Err(ApiError::new(
            ErrorCode::TextTooLarge,
            format!(
                "The text is {} bytes; the analyzer accepts at most {} bytes.",
                text.len(),
                limits.max_bytes
            ),
        )
        .into());
    }
    let analysis = cpu_limit
        .run(move || {
            let started = std::time::Instant::now();
            let analysis = crate::analysis::analyze(&text);
            metrics.analysed(text.len(), started.elapsed());
            analysis
        })
        .await?;
    // A milestone on the request's span: what was found, never the text itself.
    tracing::event!(
        name: "analysis.completed", tracing::Level::INFO,
        analysis.words = analysis.counts.words as i64,
        analysis.language = analysis.language.code.as_str(),
        analysis.sentiment = analysis.sentiment.label.as_str(),
    );
    Ok(HttpResponse::Ok().json(analysis))
}
