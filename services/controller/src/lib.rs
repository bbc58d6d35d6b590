//! Skein's controller: the public API. It runs the scrape pipeline (scraper, then analyzer,
//! then the store) synchronously or as queued jobs, and serves documents, jobs and tags.

mod analyzed_text;
mod backends;
mod downstream;
mod jobs;
mod metrics;
mod normalize;
mod pipeline;
mod routes;
mod settings;
mod startup;
/// The store, public for its conformance tests (the same suite runs on SQLite and PostgreSQL).
pub mod store;

mod trace_link;
mod waterfall;

use analyzed_text::AnalyzedText;

pub use routes::openapi;
pub use settings::{Settings, TelemetryBackends};
pub use startup::{Application, SHUTDOWN_BUDGET};

/// The scraper's answer as the controller reads it: the text kept as the JSON string the
/// scraper wrote, to be sent on to the analyzer without decoding it (see [`AnalyzedText`]).
/// Public for the store's conformance tests, which store pages.
pub type ScrapedPage = pkg_api::ScrapedPage<AnalyzedText>;

pub const ABOUT: &str =
    "controller: Skein's public API (scrape now, or queue scrape jobs; documents, jobs, tags).";
