//! The scraper's internal API: `POST /v1/scrape`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScrapeRequest {
    pub url: String,
}

/// What the scraper extracted from one page.
// Generic over what holds the text so that the controller reads this same type: it keeps the
// text as the JSON string the scraper wrote, to forward it without decoding it
// (the controller's `ScrapedPage<AnalyzedText>`). The scraper and the schema use the default,
// `String`. Derives bound `Text` trait by trait: the controller's text needs only `Debug` and
// `Deserialize`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ScrapedPage<Text = String> {
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
    // A JSON string on the wire whatever holds it. Said here, the schema is the one a `String`
    // field gave; left generic, utoipa would describe it as a `$ref` to a `String` schema the
    // document does not define.
    #[schema(value_type = String)]
    pub text: Text,
    /// Absolute, de-duplicated http(s) links in document order.
    pub links: Vec<String>,
    /// Time spent fetching (all redirect hops), in milliseconds.
    pub fetch_ms: u64,
}
