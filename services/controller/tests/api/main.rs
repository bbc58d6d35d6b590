//! The controller's API tests: the real controller, scraper and analyzer in-process on
//! ephemeral ports, a local web site, a throw-away SQLite file (or PostgreSQL database), spans
//! to a collector.

mod documents;
mod events;
mod helpers;
mod jobs;
mod metrics;
mod openapi;
mod page;
mod scrape;
mod store_conformance;
