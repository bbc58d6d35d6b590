//! The scraper's answer as the controller reads it.

use serde::Deserialize;

use crate::analyzed_text::AnalyzedText;

/// [`pkg_api::ScrapedPage`], field for field, but for the text: what the store keeps is typed
/// (and checked) as before, the text is kept as the JSON string the scraper wrote, to be sent
/// on to the analyzer without decoding it (see [`AnalyzedText`]).
#[derive(Debug, Deserialize)]
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
    pub published_at: Option<String>,
    pub lang: Option<String>,
    /// At most `MAX_ANALYZED_BYTES` of it once decoded.
    pub text: AnalyzedText,
    pub links: Vec<String>,
    pub fetch_ms: u64,
}

#[cfg(test)]
mod tests {
    use super::ScrapedPage;

    /// Every field of the wire type is read, with the same value.
    #[test]
    fn the_scrapers_answer_reads_as_it_was_sent() {
        let sent = pkg_api::ScrapedPage {
            url: "http://site.test/a".into(),
            final_url: "http://site.test/b".into(),
            status: 203,
            content_type: "text/html".into(),
            title: Some("T".into()),
            description: Some("D".into()),
            author: None,
            published_at: Some("2024-01-02".into()),
            lang: Some("en".into()),
            text: "Line one.\n\n\"Two\" \u{1}".into(),
            links: vec!["http://site.test/c".into()],
            fetch_ms: 7,
        };
        let json = serde_json::to_string(&sent).unwrap();
        let read: ScrapedPage = serde_json::from_str(&json).unwrap();
        let text: String = serde_json::from_str(read.text.as_json().get()).unwrap();
        let read_back = pkg_api::ScrapedPage {
            url: read.url,
            final_url: read.final_url,
            status: read.status,
            content_type: read.content_type,
            title: read.title,
            description: read.description,
            author: read.author,
            published_at: read.published_at,
            lang: read.lang,
            text,
            links: read.links,
            fetch_ms: read.fetch_ms,
        };
        assert_eq!(read_back, sent);
    }
}
