//! The scraper's own series, next to the shared HTTP and process ones.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Reason {
    /// The error code of the answer: one of the scraper's own fixed codes.
    reason: String,
}

/// Cheap to clone; shared by every worker.
#[derive(Clone, Debug)]
pub struct ScraperMetrics {
    fetched_bytes: Counter,
    refused: Family<Reason, Counter>,
}

impl ScraperMetrics {
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self { fetched_bytes: Counter::default(), refused: Family::default() };
        registry.register(
            "skein_scraper_fetched_bytes",
            "Bytes of page bodies fetched (the final response of each scrape)",
            metrics.fetched_bytes.clone(),
        );
        registry.register(
            "skein_scraper_pages_refused",
            "Scrapes answered with an error, by reason (the error code)",
            metrics.refused.clone(),
        );
        metrics
    }

    pub fn fetched(&self, bytes: usize) {
        self.fetched_bytes.inc_by(bytes as u64);
    }

    /// Counts a scrape that ended in `error`.
    pub fn refused(&self, error: &actix_web::Error) {
        let reason = error.as_error::<pkg_api::ApiError>().map_or("internal_error", |e| e.code());
        self.refused.get_or_create(&Reason { reason: reason.to_owned() }).inc();
    }
}
