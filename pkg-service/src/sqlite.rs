//! SQLite stores: opened once with WAL and migrations. Spans: [`crate::db_spans`].

use std::str::FromStr;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

pub use crate::db_spans::{DbSpans, traced};

/// A SQLite database as two pools: readers in parallel, and exactly one writer connection.
///
/// SQLite admits one writer at a time. With writes spread over a pool, concurrent writers
/// collide and wait in SQLite's busy handler, which sleeps in growing steps (hundreds of
/// milliseconds at the tail). A single writer connection turns that into an orderly queue
/// in the pool: the same throughput ceiling, without the sleeping.
#[derive(Clone, Debug)]
pub struct Db {
    pub read: SqlitePool,
    pub write: SqlitePool,
}

/// Opens (creating if missing, with its directory) the database at `url` and applies
/// `migrator`'s pending migrations. WAL lets readers and the writer proceed together.
pub async fn open(url: &str, migrator: &Migrator) -> anyhow::Result<Db> {
    use anyhow::Context as _;
    if let Some(dir) = file_path(url).and_then(|p| std::path::Path::new(&p).parent().map(ToOwned::to_owned))
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("creating the database directory {}", dir.display()))?;
    }
    let options = SqliteConnectOptions::from_str(url)
        .with_context(|| format!("DATABASE_URL {url:?} is not a SQLite URL"))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(5))
        .foreign_keys(true);
    let write = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options.clone())
        .await
        .with_context(|| format!("opening {url}"))?;
    migrator.run(&write).await.context("applying database migrations")?;
    let read = SqlitePoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await
        .with_context(|| format!("opening {url} for reading"))?;
    Ok(Db { read, write })
}

/// The file behind a `sqlite:` URL, if it names one.
fn file_path(url: &str) -> Option<String> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && path != ":memory:").then(|| path.to_owned())
}

#[cfg(test)]
mod tests {
    use super::file_path;

    #[test]
    fn the_file_is_found_in_every_url_form() {
        assert_eq!(file_path("sqlite://data/c.db").as_deref(), Some("data/c.db"));
        assert_eq!(file_path("sqlite:data/c.db?mode=rwc").as_deref(), Some("data/c.db"));
        assert_eq!(file_path("sqlite:///tmp/x.db").as_deref(), Some("/tmp/x.db"));
        assert_eq!(file_path("sqlite::memory:"), None);
    }
}
