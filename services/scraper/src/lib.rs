//! Skein's scraper: `POST /v1/scrape {url}` fetches one page — through a destination guard that
//! keeps it from being turned against private networks — and extracts its title, metadata,
//! readable text and links.

mod charset;
pub mod extract;
mod fetch;
pub mod guard;
mod metrics;
pub mod prescan;
#[cfg(test)]
mod properties;
mod routes;
mod settings;
mod startup;

pub use routes::openapi;
pub use settings::Settings;
pub use startup::Application;

pub const ABOUT: &str = "scraper: fetches and extracts web pages for Skein (POST /v1/scrape).";
