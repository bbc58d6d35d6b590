//! The scraper's API tests: the real app on an ephemeral port fetching from a local test site.

mod helpers;
mod limits;
mod openapi;
mod scrape;
