//! The scrape pipeline: scraper, then analyzer, then the store. The synchronous endpoint and
//! the job workers both run exactly this.

use pkg_api::ApiError;
use pkg_service::store_failure;

use crate::downstream::Downstream;
use crate::normalize::NormalizedUrl;
use crate::store::{Document, NewDocument, Store};

/// The analyzer sees at most this much of a page's text; longer pages are analysed on their
/// first mebibyte (cut at a character boundary). Equal to the analyzer's default
/// ANALYZER_MAX_BYTES, whose JSON body limit covers the worst-case escaped size (six bytes per
/// control character), so a page of control characters is analysed, not refused with a 413.
pub const MAX_ANALYZED_BYTES: usize = 1 << 20;

/// Where a run is, for job events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Scraping,
    Analyzing,
    Storing,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Scraping => "scraping",
            Stage::Analyzing => "analyzing",
            Stage::Storing => "storing",
        }
    }
}

pub struct Outcome {
    pub document: Document,
    /// False when an earlier scrape was returned instead of scraping again.
    pub created: bool,
}

pub async fn run(
    downstream: &Downstream,
    store: &Store,
    url: &NormalizedUrl,
    force: bool,
    on_stage: impl Fn(Stage),
) -> Result<Outcome, ApiError> {
    pkg_tracing::mark_current_span("url.domain", url.domain());
    // The stored document is a cache of the pipeline: `skein.cache` on the span in which the
    // pipeline runs (the request's, or the job's `job.run`) says whether it answered.
    if force {
        pkg_tracing::mark_current_span("skein.cache", "bypass");
    } else if let Some(document) = store.document_by_url(url.as_str()).await.map_err(store_failure)? {
        pkg_tracing::mark_current_span("skein.cache", "hit");
        pkg_tracing::mark_current_span("document.id", document.id.clone());
        tracing::event!(name: "cache.hit", tracing::Level::INFO, document.id = %document.id);
        return Ok(Outcome { document, created: false });
    } else {
        pkg_tracing::mark_current_span("skein.cache", "miss");
        tracing::event!(name: "cache.miss", tracing::Level::INFO, {});
    }
    on_stage(Stage::Scraping);
    let mut page = downstream.scrape(url.as_str()).await?;
    let fetched_at = pkg_service::time::now();
    on_stage(Stage::Analyzing);
    // The store keeps the analysis, not the text: move it out rather than copy up to megabytes.
    let mut text = std::mem::take(&mut page.text);
    truncate_at_char_boundary(&mut text, MAX_ANALYZED_BYTES);
    let analysis = downstream.analyze(text).await?;
    on_stage(Stage::Storing);
    let (document, inserted) = store
        .upsert_document(NewDocument {
            url: url.as_str(),
            page: &page,
            analysis: &analysis,
            fetched_at,
            analyzed_at: pkg_service::time::now(),
            trace_id: pkg_tracing::current_trace_id(),
        })
        .await
        .map_err(store_failure)?;
    pkg_tracing::mark_current_span("document.id", document.id.clone());
    tracing::event!(
        name: "document.stored", tracing::Level::INFO,
        document.id = %document.id,
        document.change = if inserted { "created" } else { "updated" },
        document.words = analysis.counts.words as i64,
    );
    Ok(Outcome { document, created: true })
}

fn truncate_at_char_boundary(text: &mut String, max: usize) {
    if text.len() > max {
        let cut = (0..=max).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
        text.truncate(cut);
    }
}

#[cfg(test)]
mod tests {
    use super::{MAX_ANALYZED_BYTES, truncate_at_char_boundary};
    use crate::downstream::Downstream;

    #[test]
    fn truncation_never_splits_a_character() {
        let mut text = "aé".repeat(10);
        truncate_at_char_boundary(&mut text, 4);
        assert_eq!(text, "aéa");
        let mut short = "abc".to_owned();
        truncate_at_char_boundary(&mut short, 10);
        assert_eq!(short, "abc");
    }

    /// Both services on their default limits: the truncated text of a page of control
    /// characters (sixfold when JSON-escaped) is analysed by the real analyzer.
    #[actix_web::test]
    async fn a_truncated_page_of_control_characters_fits_the_analyzers_defaults() {
        let analyzer_settings: skein_analyzer::Settings =
            pkg_service::load(pkg_service::Env::from_vars([("HOST", "127.0.0.1"), ("PORT", "0")])).unwrap();
        let analyzer = skein_analyzer::Application::build(analyzer_settings).await.unwrap();
        let analyzer_url = format!("http://127.0.0.1:{}", analyzer.port());
        actix_web::rt::spawn(analyzer.run_until_stopped());
        let settings: crate::Settings =
            pkg_service::load(pkg_service::Env::from_vars([("ANALYZER_URL", analyzer_url)])).unwrap();

        let mut text = "\u{1}\u{7}\n".repeat(MAX_ANALYZED_BYTES);
        truncate_at_char_boundary(&mut text, MAX_ANALYZED_BYTES);
        let analysis = Downstream::new(&settings, &pkg_tracing::metrics::HttpClientMetrics::unregistered())
            .analyze(text)
            .await;
        let analysis = analysis.unwrap_or_else(|e| panic!("the analyzer refused the text: {e}"));
        assert_eq!(analysis.counts.characters, MAX_ANALYZED_BYTES);
    }
}
