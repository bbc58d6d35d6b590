//! Wire types shared by Skein's services and the one JSON error body.
//!
//! Every error any Skein service returns has the shape
//! `{"error": {"code": "snake_case_code", "message": "human sentence"}}`.
//! [`ApiError`] produces it, and [`extractor_configs`] makes actix's own JSON, path and query
//! extractor failures use it too instead of actix's plain-text defaults.

mod analyze;
mod error;
mod error_code;
#[cfg(test)]
mod error_code_coverage;
mod extractors;
mod id;
mod jobs;
pub mod openapi;
mod scrape;

pub use analyze::{Analysis, AnalyzeRequest, Counts, KeyPhrase, Keyword, Language, Readability, Sentiment};
pub use jobs::ScrapeOrder;
pub use scrape::{ScrapeRequest, ScrapedPage};

pub use error::{ApiError, ErrorBody, ErrorDetail};
pub use error_code::ErrorCode;
pub use extractors::{default_service, extractor_configs, not_found_handler};
pub use id::parse_id;
