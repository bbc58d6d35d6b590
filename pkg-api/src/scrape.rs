//! The scraper's internal API: `POST /v1/scrape`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScrapeRequest {
    pub url: String,
}

/// What the scraper extracted from one page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ScrapedPage {
    /// The URL asked for.
    pub url: String,
    /// The URL after redirects.
    pub final_url: String,
    /// HTTP status of the final response.
    pub status: u16,
    pub content_type: String,
    pub title: Option<String>,
    pub description: Option<String>,
    pub author: Option<String>,
    /// As the page states it (`article:published_time` or `<time datetime>`).
    pub published_at: Option<String>,
    /// From `<html lang>`.
    pub lang: Option<String>,
    /// Readable text: paragraphs separated by blank lines; scripts, styles, navigation,
    /// headers, footers and asides removed.
    pub text: String,
    /// Absolute, de-duplicated http(s) links in document order.
    pub links: Vec<String>,
    /// Time spent fetching (all redirect hops), in milliseconds.
    pub fetch_ms: u64,
}
