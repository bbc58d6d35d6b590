//! The controller's job API as its callers (the scheduler, tests) see it.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST /api/v1/scrape` and `POST /api/v1/jobs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScrapeOrder {
    pub url: String,
    /// Scrape again even if the URL was scraped before.
    #[serde(default)]
    pub force: bool,
}
