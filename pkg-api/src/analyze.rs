//! The analyzer's internal API: `POST /v1/analyze`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

// Generic over what holds the text, as `ScrapedPage` is: the controller sends the scraper's
// JSON string on as it is (`AnalyzeRequest<&RawValue>`); the analyzer and the schema use the
// default, `String`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnalyzeRequest<Text = String> {
    // A JSON string on the wire whatever holds it; said here, the schema is a `String` field's.
    #[schema(value_type = String)]
    pub text: Text,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Analysis {
    pub language: Language,
    pub counts: Counts,
    /// At 230 words a minute, rounded up; 0 for empty text.
    pub reading_time_s: u32,
    pub readability: Readability,
    pub sentiment: Sentiment,
    /// Most significant terms first, stop words removed.
    pub keywords: Vec<Keyword>,
    /// Multi-word phrases (RAKE), best first.
    pub key_phrases: Vec<KeyPhrase>,
    /// Normalised tags derived from the top keywords.
    pub tags: Vec<String>,
    /// 0..1; see the analyzer's `quality` module for the formula.
    pub quality: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Language {
    /// ISO 639-1 where one exists (`en`), else ISO 639-3; `und` when undetermined.
    pub code: String,
    /// English name, e.g. `English`.
    pub name: String,
    pub confidence: f64,
    pub reliable: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Counts {
    pub characters: usize,
    pub words: usize,
    pub sentences: usize,
    pub paragraphs: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Readability {
    pub flesch_reading_ease: f64,
    pub flesch_kincaid_grade: f64,
    /// `very_easy` … `very_difficult`, from the reading ease.
    pub level: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Sentiment {
    /// -1 (negative) … 1 (positive).
    pub score: f64,
    /// `negative`, `neutral` or `positive`.
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Keyword {
    pub term: String,
    pub count: usize,
    /// Share of all content words, 0..1.
    pub score: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct KeyPhrase {
    pub phrase: String,
    pub score: f64,
}
