//! The controller's SQLite store. Every statement is a CLIENT span (`controller-db` on the map).

mod cursor;
mod documents;
mod jobs;

use pkg_service::sqlite::{Db, DbSpans};

pub use cursor::{decode_cursor, page_limit};
pub use documents::{Document, NewDocument};
pub use jobs::{Job, JobStatus, NewJob};

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

#[derive(Clone)]
pub struct Store {
    db: Db,
    spans: DbSpans,
}

impl Store {
    pub fn new(db: Db) -> Self {
        Self { db, spans: DbSpans::new("controller") }
    }

    /// The store answers a trivial query. For readiness probes, which are not traced.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1").execute(&self.db.read).await.map(|_| ())
    }
}
