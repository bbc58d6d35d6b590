//! The controller's API tests: the real controller, scraper and analyzer in-process on
//! ephemeral ports, a local web site, a throw-away SQLite file, spans to a collector.

mod documents;
mod helpers;
mod jobs;
mod scrape;
