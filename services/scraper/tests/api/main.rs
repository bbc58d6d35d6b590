//! The scraper's API tests: the real app on an ephemeral port fetching from a local test site.

mod events;
mod helpers;
mod limits;
mod metrics;
mod openapi;
mod scrape;
