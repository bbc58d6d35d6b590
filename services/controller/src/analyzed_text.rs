//! A page's text on its way from the scraper to the analyzer, kept as the JSON string the
//! scraper wrote. The controller never reads the text: decoding it into a `String` and
//! escaping it again for the analyzer's request was ~5 % of the controller's instructions per
//! pipeline request with the benchmark's small page (`scripts/bench.sh instructions`), and
//! grows with the page, up to megabytes of text passed along unchanged.

use serde::de::{Deserialize, Deserializer, Error as _};
use serde_json::value::RawValue;

use crate::pipeline::MAX_ANALYZED_BYTES;

/// The text the analyzer is sent, as a JSON string: the scraper's own, verbatim, when its
/// encoding is at most [`MAX_ANALYZED_BYTES`] long (decoding never makes a string longer, so
/// its text is within the limit too); else decoded, cut at the limit on a character boundary
/// and encoded again.
///
/// Read from the scraper's answer, it refuses what a `String` field refused: anything but a
/// JSON string, and a string that does not decode. The error is the one a `String` gives (but
/// for its column when the fault is inside the value), so a scraper sending garbage is the
/// same 502 as ever.
#[derive(Debug)]
pub struct AnalyzedText(Box<RawValue>);

impl AnalyzedText {
    /// The JSON string, quotes and escapes included.
    pub fn as_json(&self) -> &RawValue {
        &self.0
    }
}

impl<'de> Deserialize<'de> for AnalyzedText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        let json = raw.get();
        let short = json.len() <= MAX_ANALYZED_BYTES;
        // A raw value checks escapes' syntax but accepts a lone UTF-16 surrogate (`\ud800`),
        // which a `String` refuses: only a string with a `\u` escape (rare: serde_json writes
        // one for a control character alone) is decoded to find out.
        if short && json.starts_with('"') && !json.contains("\\u") {
            return Ok(Self(raw));
        }
        let mut text: String = serde_json::from_str(json).map_err(|e| D::Error::custom(message_of(&e)))?;
        if short {
            return Ok(Self(raw));
        }
        truncate_at_char_boundary(&mut text, MAX_ANALYZED_BYTES);
        serde_json::value::to_raw_value(&text).map(Self).map_err(D::Error::custom)
    }
}

/// `error`'s message without its position, which is a position in the text alone: the
/// scraper's answer is still being read, and its deserializer adds the position in the answer.
fn message_of(error: &serde_json::Error) -> String {
    let message = error.to_string();
    let position = format!(" at line {} column {}", error.line(), error.column());
    match message.strip_suffix(&position) {
        Some(bare) => bare.to_owned(),
        None => message,
    }
}

fn truncate_at_char_boundary(text: &mut String, max: usize) {
    if text.len() > max {
        let cut = (0..=max).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
        text.truncate(cut);
    }
}

#[cfg(test)]
mod tests {
    use super::{AnalyzedText, MAX_ANALYZED_BYTES, truncate_at_char_boundary};

    fn read(json: &str) -> Result<AnalyzedText, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    #[test]
    fn truncation_never_splits_a_character() {
        let mut text = "aé".repeat(10);
        truncate_at_char_boundary(&mut text, 4);
        assert_eq!(text, "aéa");
        let mut short = "abc".to_owned();
        truncate_at_char_boundary(&mut short, 10);
        assert_eq!(short, "abc");
    }

    #[test]
    fn a_string_within_the_limit_is_kept_as_the_scraper_wrote_it() {
        for json in [r#""plain""#, r#""tab\t, quote\", slash\/ and \u00e9 \ud83d\ude00""#] {
            assert_eq!(read(json).unwrap().as_json().get(), json);
        }
        let at_the_limit = format!("\"{}\"", "a".repeat(MAX_ANALYZED_BYTES - 2));
        assert_eq!(read(&at_the_limit).unwrap().as_json().get(), at_the_limit);
    }

    #[test]
    fn a_longer_string_is_cut_at_the_limit_of_its_decoded_text() {
        // Escaped, longer than the limit; decoded, within it: kept whole.
        let escaped = format!("\"{}\"", "\\n".repeat(MAX_ANALYZED_BYTES / 2));
        let kept: String = serde_json::from_str(read(&escaped).unwrap().as_json().get()).unwrap();
        assert_eq!(kept, "\n".repeat(MAX_ANALYZED_BYTES / 2));
        // Two bytes a character, starting one byte off: the cut falls inside a character.
        let long = format!("a{}", "é".repeat(MAX_ANALYZED_BYTES));
        let cut: String =
            serde_json::from_str(read(&serde_json::to_string(&long).unwrap()).unwrap().as_json().get())
                .unwrap();
        assert_eq!(cut.len(), MAX_ANALYZED_BYTES - 1);
        assert!(long.starts_with(&cut));
    }

    /// The scraper's answer, written from `pkg_api::ScrapedPage`, reads as the controller's
    /// `ScrapedPage` with every field as sent, and its text as sent once decoded.
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
            text: "Line one.\n\n\"Two\" \u{1}".to_owned(),
            links: vec!["http://site.test/c".into()],
            fetch_ms: 7,
        };
        let json = serde_json::to_string(&sent).unwrap();
        let read: crate::ScrapedPage = serde_json::from_str(&json).unwrap();
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

    /// The same errors as the `String` field the text was read into before, word for word but
    /// for the column when the fault is inside the value (an array's bracket, an escape): the
    /// column after the value, where a `String` names the fault's own.
    #[test]
    fn what_a_string_refused_is_refused_with_the_same_error() {
        #[derive(serde::Deserialize)]
        struct Typed {
            #[serde(rename = "text")]
            _text: String,
        }
        #[derive(serde::Deserialize)]
        struct Forwarded {
            #[serde(rename = "text")]
            _text: AnalyzedText,
        }
        for text in ["5", "-1.5", "null", "true", "[\"a\"]", "{}", r#""\ud800 lone""#, r#""\udc00""#] {
            let answer = format!(r#"{{"text": {text}, "more": 1}}"#);
            let typed = serde_json::from_str::<Typed>(&answer).map(|_| ()).unwrap_err();
            let forwarded = serde_json::from_str::<Forwarded>(&answer).map(|_| ()).unwrap_err();
            let without_column =
                |e: &serde_json::Error| e.to_string().replace(&format!(" {}", e.column()), "");
            assert_eq!(without_column(&forwarded), without_column(&typed), "{text}");
            if !text.starts_with(['[', '{', '"']) {
                assert_eq!(forwarded.to_string(), typed.to_string(), "{text}");
            }
        }
        let long_number = format!(r#"{{"text": {}}}"#, "1".repeat(MAX_ANALYZED_BYTES + 1));
        assert!(serde_json::from_str::<Forwarded>(&long_number).is_err());
    }
}
