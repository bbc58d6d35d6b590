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
mod scraped_page;
mod settings;
mod startup;
/// The store, public for its conformance tests (the same suite runs on SQLite and PostgreSQL).
pub mod store;

mod trace_link;
mod waterfall;

pub use routes::openapi;
/// Public for the store's conformance tests, which store pages.
pub use scraped_page::ScrapedPage;
pub use settings::{Settings, TelemetryBackends};
pub use startup::{Application, SHUTDOWN_BUDGET};

pub const ABOUT: &str =
    "controller: Skein's public API (scrape now, or queue scrape jobs; documents, jobs, tags).";
