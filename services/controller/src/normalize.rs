//! The URL a document is stored under: the same page submitted twice is one document.

use std::fmt;

use pkg_api::{ApiError, ErrorCode};
use url::Url;

/// An absolute http(s) URL with host lower-cased (and IDN in punycode), default port,
/// fragment and `utm_*` tracking parameters removed, and an empty path written as `/`.
/// Whether the destination may be fetched is the scraper's call, not this type's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NormalizedUrl(String);

impl NormalizedUrl {
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(ApiError::new(ErrorCode::InvalidUrl, "The URL is empty."));
        }
        let mut url = Url::parse(raw).map_err(|e| {
            ApiError::new(ErrorCode::InvalidUrl, format!("{raw:?} is not an absolute URL: {e}."))
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(ApiError::new(
                ErrorCode::InvalidUrl,
                format!("Only http and https URLs with a host can be scraped, not {raw:?}."),
            ));
        }
        url.set_fragment(None);
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(key, _)| !key.to_ascii_lowercase().starts_with("utm_"))
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if kept.is_empty() {
            url.set_query(None);
        } else if url.query_pairs().count() != kept.len() {
            url.query_pairs_mut().clear().extend_pairs(kept);
        }
        Ok(Self(url.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The host, lower-cased: what traces are searched by (`url.domain`), never the whole URL.
    pub fn domain(&self) -> String {
        Url::parse(&self.0).ok().and_then(|u| u.host_str().map(str::to_owned)).unwrap_or_default()
    }
}

impl fmt::Display for NormalizedUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(raw: &str) -> String {
        NormalizedUrl::parse(raw).unwrap().0
    }

    #[test]
    fn equivalent_spellings_normalise_to_one_url() {
        let expected = "https://example.com/a?id=7";
        for raw in [
            "https://example.com/a?id=7",
            "HTTPS://EXAMPLE.com:443/a?id=7#section",
            "https://example.com/a?utm_source=x&id=7&UTM_medium=y",
            "  https://example.com/a?id=7  ",
        ] {
            assert_eq!(norm(raw), expected, "{raw}");
        }
        assert_eq!(norm("http://example.com"), "http://example.com/");
        assert_eq!(norm("http://example.com/?utm_campaign=z"), "http://example.com/");
        assert_eq!(norm("https://bücher.example/"), "https://xn--bcher-kva.example/");
    }

    #[test]
    fn non_http_and_relative_urls_are_invalid() {
        for raw in ["", "example.com", "/path", "ftp://example.com/", "mailto:a@b.c", "javascript:alert(1)"] {
            let err = NormalizedUrl::parse(raw).unwrap_err();
            assert_eq!(err.code(), "invalid_url", "{raw:?}");
        }
    }
}
