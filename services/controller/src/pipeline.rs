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
/// Applied as the scraper's answer is read ([`crate::analyzed_text::AnalyzedText`]).
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
    let page = downstream.scrape(url.as_str()).await?;
    let fetched_at = pkg_service::time::now();
    on_stage(Stage::Analyzing);
    // The text as the scraper encoded it, already cut to the limit when it was read.
    let analysis = downstream.analyze(&page.text).await?;
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

#[cfg(test)]
mod tests {
    use super::MAX_ANALYZED_BYTES;
    use crate::analyzed_text::AnalyzedText;
    use crate::downstream::Downstream;

    /// A controller calling the real analyzer, both on their default limits.
    async fn downstream_to_an_analyzer() -> Downstream {
        let analyzer_settings: skein_analyzer::Settings =
            pkg_service::load(pkg_service::Env::from_vars([("HOST", "127.0.0.1"), ("PORT", "0")])).unwrap();
        let analyzer = skein_analyzer::Application::build(analyzer_settings).await.unwrap();
        let analyzer_url = format!("http://127.0.0.1:{}", analyzer.port());
        actix_web::rt::spawn(analyzer.run_until_stopped());
        let settings: crate::Settings =
            pkg_service::load(pkg_service::Env::from_vars([("ANALYZER_URL", analyzer_url)])).unwrap();
        Downstream::new(&settings, &pkg_tracing::metrics::HttpClientMetrics::unregistered())
    }

    /// `text` as the scraper sends it, read as the controller reads it.
    fn scraped(text: &str) -> AnalyzedText {
        serde_json::from_str(&serde_json::to_string(text).unwrap()).unwrap()
    }

    /// The truncated text of a page of control characters (sixfold when JSON-escaped) is
    /// analysed by the real analyzer.
    #[actix_web::test]
    async fn a_truncated_page_of_control_characters_fits_the_analyzers_defaults() {
        let downstream = downstream_to_an_analyzer().await;
        let text = scraped(&"\u{1}\u{7}\n".repeat(MAX_ANALYZED_BYTES));
        let analysis = downstream.analyze(&text).await;
        let analysis = analysis.unwrap_or_else(|e| panic!("the analyzer refused the text: {e}"));
        assert_eq!(analysis.counts.characters, MAX_ANALYZED_BYTES);
    }

    /// Past the limit the analyzer sees the text's first mebibyte; within it, the scraper's
    /// string exactly as it is (escapes, quotes, characters outside the BMP): the same
    /// analysis as the decoded text sent the way the controller used to send it.
    #[actix_web::test]
    async fn a_long_page_is_analysed_cut_and_a_short_one_as_the_scraper_sent_it() {
        let downstream = downstream_to_an_analyzer().await;
        let sentence = "Gardens need \"water\", soil\tand seeds 🌱; gardeners water gardens daily.\n\n";

        let long = format!("ü{}", sentence.repeat(2 * MAX_ANALYZED_BYTES / sentence.len()));
        let analysis = downstream.analyze(&scraped(&long)).await.unwrap();
        let mut cut = MAX_ANALYZED_BYTES;
        while !long.is_char_boundary(cut) {
            cut -= 1;
        }
        assert_eq!(analysis.counts.characters, long[..cut].chars().count());

        let short = sentence.repeat(MAX_ANALYZED_BYTES / 2 / sentence.len());
        let forwarded = downstream.analyze(&scraped(&short)).await.unwrap();
        assert_eq!(forwarded.counts.characters, short.chars().count());
        // Through JSON, as the analyzer's answer comes: its floats are read the same way.
        let direct = serde_json::to_string(&skein_analyzer::analysis::analyze(&short)).unwrap();
        assert_eq!(forwarded, serde_json::from_str(&direct).unwrap(), "the analysis of the decoded text");
    }
}
