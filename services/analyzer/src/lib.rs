//! Skein's analyzer: `POST /v1/analyze {text}` → language, counts, readability, sentiment,
//! keywords, key phrases, tags and a quality score. Pure rules, no models: deterministic and
//! fast enough to run inline in the scrape pipeline.

pub mod analysis;
mod metrics;
mod routes;
mod settings;
mod startup;

pub use routes::openapi;
pub use settings::Settings;
pub use startup::Application;

pub const ABOUT: &str = "analyzer: rule-based text analysis for Skein (POST /v1/analyze).";
