//! The controller's API tests: the real controller, scraper and analyzer in-process on
//! ephemeral ports, a local web site, a throw-away SQLite file (or PostgreSQL database), spans
//! to a collector.

mod documents;
mod helpers;
mod jobs;
mod openapi;
mod scrape;
mod store_conformance;
