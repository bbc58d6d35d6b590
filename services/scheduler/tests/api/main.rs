//! The scheduler's API tests: the real scheduler with the real controller, scraper and
//! analyzer in-process, a local web site, throw-away SQLite files (and PostgreSQL databases).

mod events;
mod helpers;
mod metrics;
mod openapi;
mod runs;
mod schedules;
mod store_conformance;
