use actix_web::{HttpResponse, web};
use pkg_api::{ApiError, ErrorCode, ScrapeRequest, ScrapedPage};
use pkg_service::cpu_limit::CpuLimit;
use pkg_tracing::ClientError;

use crate::fetch::{FetchError, Fetcher};
use crate::guard::{GuardError, TargetUrl};
use crate::metrics::ScraperMetrics;

/// `POST /v1/scrape`: vet, fetch (following redirects), check it is HTML, extract off the
/// executor. Bytes fetched and refusals (by code) are counted.
#[utoipa::path(
    post,
    path = "/v1/scrape",
    operation_id = "scrape_page",
    tag = "scrape",
    summary = "Fetch a page and extract it",
    request_body = ScrapeRequest,
    responses((status = 200, description = "The page, extracted", body = ScrapedPage))
)]
pub(crate) async fn scrape(
    body: web::Json<ScrapeRequest>,
    fetcher: web::Data<Fetcher>,
    cpu_limit: web::Data<CpuLimit>,
    metrics: web::Data<ScraperMetrics>,
) -> Result<HttpResponse, actix_web::Error> {
    let result = scrape_page(body.into_inner().url, &fetcher, &cpu_limit, &metrics).await;
    if let Err(error) = &result {
        metrics.refused(error);
    }
    result
}

async fn scrape_page(
    requested: String,
    fetcher: &Fetcher,
    cpu_limit: &CpuLimit,
    metrics: &ScraperMetrics,
) -> Result<HttpResponse, actix_web::Error> {
    let target = TargetUrl::parse(&requested).map_err(guard_error)?;
    if let Some(domain) = target.url().host_str() {
        pkg_tracing::mark_current_span("url.domain", domain.to_owned());
    }
    let fetched = fetcher.fetch(target).await.map_err(fetch_error)?;
    metrics.fetched(fetched.body.len());
    if !fetched.status.is_success() {
        return Err(ApiError::new(
            ErrorCode::UpstreamError,
            format!("{} answered {}.", fetched.final_url, fetched.status),
        )
        .into());
    }
    if !looks_like_html(fetched.content_type.as_deref(), &fetched.body) {
        return Err(ApiError::new(
            ErrorCode::NotHtml,
            format!(
                "{} is {}, not an HTML page.",
                fetched.final_url,
                fetched.content_type.as_deref().unwrap_or("of unknown type")
            ),
        )
        .into());
    }
    // At most a core's worth of extractions at once; past the wait, 503 overloaded.
    let page = cpu_limit
        .run(move || {
            let _span = tracing::info_span!("scrape.extract", page.bytes = fetched.body.len()).entered();
            let (html, encoding) = crate::charset::decode(&fetched.body, fetched.content_type.as_deref());
            let e = crate::extract::extract(&html, fetched.final_url.url()).map_err(|too_complex| {
                ApiError::new(
                    ErrorCode::PageTooComplex,
                    format!("{}: {too_complex}; it is not processed.", fetched.final_url),
                )
            })?;
            tracing::debug!(encoding = encoding.name(), links = e.links.len(), "extracted");
            tracing::event!(
                name: "text.extracted", tracing::Level::INFO,
                text.characters = e.text.chars().count() as i64,
                text.links = e.links.len() as i64,
            );
            Ok::<_, ApiError>(ScrapedPage {
                url: requested,
                final_url: fetched.final_url.to_string(),
                status: fetched.status.as_u16(),
                content_type: fetched.content_type.unwrap_or_else(|| "text/html".into()),
                title: e.title,
                description: e.description,
                author: e.author,
                published_at: e.published_at,
                lang: e.lang,
                text: e.text,
                links: e.links,
                fetch_ms: fetched.fetch_ms,
            })
        })
        .await??;
    Ok(HttpResponse::Ok().json(page))
}

fn looks_like_html(content_type: Option<&str>, body: &[u8]) -> bool {
    match content_type.map(|c| c.split(';').next().unwrap_or("").trim().to_ascii_lowercase()) {
        Some(mime) if !mime.is_empty() => mime == "text/html" || mime == "application/xhtml+xml",
        // No type given: believe the bytes.
        _ => {
            let start = String::from_utf8_lossy(&body[..body.len().min(256)])
                .trim_start_matches('\u{feff}')
                .trim_start()
                .to_ascii_lowercase();
            start.starts_with("<!doctype html") || start.starts_with("<html")
        }
    }
}

fn guard_error(error: GuardError) -> ApiError {
    match error {
        GuardError::InvalidUrl(message) => ApiError::new(ErrorCode::InvalidUrl, message),
        GuardError::Blocked(message) => ApiError::new(ErrorCode::DestinationBlocked, message),
        GuardError::Unresolvable { .. } => ApiError::new(ErrorCode::UpstreamError, format!("{error}.")),
    }
}

fn fetch_error(error: FetchError) -> ApiError {
    match error {
        FetchError::Guard(e) => guard_error(e),
        FetchError::Client(ClientError::TooLarge { limit, .. }) => ApiError::new(
            ErrorCode::PageTooLarge,
            format!("The page is larger than the {limit} bytes the scraper reads."),
        ),
        FetchError::Client(e @ ClientError::Timeout { .. }) => {
            ApiError::new(ErrorCode::UpstreamTimeout, format!("The site {e}."))
        }
        e @ FetchError::Deadline { .. } => {
            ApiError::new(ErrorCode::UpstreamTimeout, format!("The scrape {e}."))
        }
        other => ApiError::new(ErrorCode::UpstreamError, format!("{other}.")),
    }
}

#[cfg(test)]
mod tests {
    use super::looks_like_html;

    #[test]
    fn html_is_recognised_by_type_or_by_its_first_bytes() {
        assert!(looks_like_html(Some("text/html; charset=utf-8"), b""));
        assert!(looks_like_html(Some("application/xhtml+xml"), b""));
        assert!(!looks_like_html(Some("image/png"), b"<html>"));
        assert!(!looks_like_html(Some("application/json"), b"{}"));
        assert!(looks_like_html(None, b"\xef\xbb\xbf  <!DOCTYPE html><html>"));
        assert!(!looks_like_html(None, b"%PDF-1.7"));
    }
}
