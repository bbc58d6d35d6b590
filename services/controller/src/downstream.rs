//! The controller's calls to the scraper and the analyzer (failures mapped by
//! `pkg_service::downstream`).

use pkg_api::{Analysis, AnalyzeRequest, ApiError, ScrapeRequest};
use pkg_service::downstream::{Callee, interpret};
use pkg_tracing::metrics::HttpClientMetrics;
use pkg_tracing::{ClientSettings, InternalClient};

use crate::ScrapedPage;
use crate::analyzed_text::AnalyzedText;
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

    pub async fn analyze(&self, text: &AnalyzedText) -> Result<Analysis, ApiError> {
        // The text already encoded: serde_json writes a raw value as it is, so the scraper's
        // JSON string becomes the analyzer's without a second escaping.
        let reply = self.analyzer.post_json("/v1/analyze", &AnalyzeRequest { text: text.as_json() }).await;
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

#[cfg(test)]
mod tests {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::Downstream;

    /// A scraper whose answer is no page, or a page whose text is no string, is a 502
    /// `scraper_error` that says why, as when the text was read into a `String`.
    #[actix_web::test]
    async fn a_scraper_answering_garbage_is_a_502_scraper_error() {
        let page = |text: &str| {
            format!(
                r#"{{"url":"http://a.test/","final_url":"http://a.test/","status":200,"content_type":"text/html",
                "title":null,"description":null,"author":null,"published_at":null,"lang":null,
                "text":{text},"links":[],"fetch_ms":1}}"#
            )
        };
        let answers = [
            ("not json".to_owned(), "expected ident"),
            (page("5"), "invalid type: integer `5`, expected a string"),
            (page("{}"), "invalid type: map, expected a string"),
            (page(r#""\ud800""#), "unexpected end of hex escape"),
            (page(r#""a\qb""#), "invalid escape"),
            (page("\"\u{1}\""), "control character"),
        ];
        for (answer, why) in answers {
            let scraper = MockServer::start().await;
            Mock::given(method("POST"))
                .and(path("/v1/scrape"))
                .respond_with(ResponseTemplate::new(200).set_body_raw(answer.clone(), "application/json"))
                .mount(&scraper)
                .await;
            let settings: crate::Settings =
                pkg_service::load(pkg_service::Env::from_vars([("SCRAPER_URL", scraper.uri())])).unwrap();
            let downstream =
                Downstream::new(&settings, &pkg_tracing::metrics::HttpClientMetrics::unregistered());
            let err = downstream.scrape("http://a.test/").await.unwrap_err();
            assert_eq!((err.status().as_u16(), err.code()), (502, "scraper_error"), "{answer}");
            assert!(
                err.message().starts_with("The scraper sent an unreadable answer: "),
                "{}",
                err.message()
            );
            assert!(err.message().contains(why), "{answer}: {}", err.message());
        }
        let fine = page(r#""ok \u00e9""#);
        assert!(serde_json::from_str::<super::ScrapedPage>(&fine).is_ok(), "{fine}");
    }
}
