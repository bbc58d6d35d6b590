//! Skein's scheduler: cron schedules, kept in SQLite or PostgreSQL, that queue scrape jobs at the controller.
//! Each run is a root span `schedule.run` whose call to the controller carries the trace on.

pub mod cron;
mod input;
mod metrics;
mod routes;
mod runner;
mod seed;
mod settings;
mod startup;
/// The store, public for its conformance tests (the same suite runs on SQLite and PostgreSQL).
pub mod store;

pub use routes::openapi;
pub use settings::Settings;
pub use startup::Application;

pub const ABOUT: &str = "scheduler: cron schedules that queue Skein scrape jobs (CRUD at /api/v1/schedules).";
