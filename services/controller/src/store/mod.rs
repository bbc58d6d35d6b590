//! The controller's SQLite store. Every statement is a CLIENT span (`controller-db` on the map).

mod cursor;
mod documents;
mod jobs;

use pkg_service::sqlite::DbSpans;
use sqlx::SqlitePool;

pub use cursor::{decode_cursor, page_limit};
pub use documents::{Document, NewDocument};
pub use jobs::{Job, JobStatus, NewJob};

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
    spans: DbSpans,
}

impl Store {
    pub fn new(pool: SqlitePool) -> Self {
        Self { pool, spans: DbSpans::new("controller") }
    }

    /// The store answers a trivial query. For readiness probes, which are not traced.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map(|_| ())
    }
}
