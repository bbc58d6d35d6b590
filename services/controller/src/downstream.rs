//! The controller's calls to the scraper and the analyzer (failures mapped by
//! `pkg_service::downstream`).

use pkg_api::{Analysis, AnalyzeRequest, ApiError, ScrapeRequest, ScrapedPage};
use pkg_service::downstream::{Callee, interpret};
use pkg_tracing::metrics::HttpClientMetrics;
use pkg_tracing::{ClientSettings, InternalClient};

use crate::settings::Settings;

/// One per thread (awc clients are not `Send`): each actix worker and the job runner own one.
pub struct Downstream {
    scraper: InternalClient,
    analyzer: InternalClient,
}

impl Downstream {
    pub fn new(settings: &Settings, metrics: &HttpClientMetrics) -> Self {
        let client = ClientSettings {
            timeout: settings.downstream_timeout,
            // Analyses of a megabyte of text and scraped pages both fit with room to spare.
            max_body: 32 << 20,
            ..ClientSettings::default()
        };
        Self {
            scraper: InternalClient::new("scraper", &settings.scraper_url, &client)
                .with_metrics(metrics.clone()),
            analyzer: InternalClient::new("analyzer", &settings.analyzer_url, &client)
                .with_metrics(metrics.clone()),
        }
    }

    pub async fn scrape(&self, url: &str) -> Result<ScrapedPage, ApiError> {
        let reply = self.scraper.post_json("/v1/scrape", &ScrapeRequest { url: url.to_owned() }).await;
        interpret(Callee::SCRAPER, reply)
    }

    pub async fn analyze(&self, text: String) -> Result<Analysis, ApiError> {
        let reply = self.analyzer.post_json("/v1/analyze", &AnalyzeRequest { text }).await;
        interpret(Callee::ANALYZER, reply)
    }

    /// Both callees answer their liveness probe.
    pub async fn ready(&self) -> Result<(), String> {
        for client in [&self.scraper, &self.analyzer] {
            match client.probe("/health").await {
                Ok(status) if status.is_success() => {}
                Ok(status) => return Err(format!("{} answered {status}", client.peer_service())),
                Err(e) => return Err(e.to_string()),
            }
        }
        Ok(())
    }
}
