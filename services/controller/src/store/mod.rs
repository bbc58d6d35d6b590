//! The controller's store: documents and jobs, on SQLite (default) or PostgreSQL as
//! `DATABASE_URL` says. Handlers see one `Store`; the engine shows only inside its methods.
//! Every statement made for a request is a CLIENT span (`controller-db` on the map).

mod cursor;
mod documents;
mod jobs;

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use pkg_service::db::{Backend, Migrations};
use pkg_service::sqlite::DbSpans;

pub use cursor::{decode_cursor, page_limit};
pub use documents::{Document, DocumentView, NewDocument, TagCount};
pub use jobs::{Fence, JOBS_CHANNEL, Job, JobStats, JobStatus, JobView, NewJob, Submitted};

static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The controller's migrations, one set per engine.
pub static MIGRATIONS: Migrations = Migrations { sqlite: &SQLITE_MIGRATOR, postgres: &POSTGRES_MIGRATOR };

#[derive(Clone)]
pub struct Store {
    db: Backend,
    spans: DbSpans,
    refused_writes: Arc<AtomicU64>,
}

impl Store {
    /// Opens `url` (`sqlite:…` or `postgres://…`) and applies pending migrations.
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        let (db, spans) = pkg_service::db::open(url, &MIGRATIONS, "controller").await?;
        Ok(Self { db, spans, refused_writes: Arc::default() })
    }

    /// The store answers a trivial query. For readiness probes, which are not traced.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        self.db.ping().await
    }

    /// The PostgreSQL pool, if the store is on PostgreSQL (for LISTEN).
    pub fn postgres(&self) -> Option<&sqlx::PgPool> {
        match &self.db {
            Backend::Postgres(pool) => Some(pool),
            Backend::Sqlite(_) => None,
        }
    }
}
