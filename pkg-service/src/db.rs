//! A service's store on SQLite (the embedded default) or PostgreSQL, chosen by the scheme of
//! `DATABASE_URL`. Stores write their SQL once where both engines accept it (`$1` parameters,
//! `RETURNING`, `ON CONFLICT`, timestamps as fixed-width RFC 3339 text) and run it on either
//! pool with [`on_db!`](crate::on_db); where the engines differ (row locking, JSON) a store
//! matches on [`Backend`] itself.

use sqlx::migrate::Migrator;

use crate::db_spans::DbSpans;

/// The pools of one open store.
#[derive(Clone, Debug)]
pub enum Backend {
    Sqlite(crate::sqlite::Db),
    Postgres(sqlx::PgPool),
}

/// One migration set per engine: each has its own SQL dialect.
pub struct Migrations {
    pub sqlite: &'static Migrator,
    pub postgres: &'static Migrator,
}

/// Opens the store `url` names for `service` and applies the engine's pending migrations.
/// `sqlite:`/`sqlite://` (the default) or `postgres://`/`postgresql://`.
pub async fn open(url: &str, migrations: &Migrations, service: &str) -> anyhow::Result<(Backend, DbSpans)> {
    if is_postgres(url) {
        let (pool, spans) = crate::postgres::open(url, migrations.postgres, service).await?;
        Ok((Backend::Postgres(pool), spans))
    } else if url.starts_with("sqlite:") {
        let db = crate::sqlite::open(url, migrations.sqlite).await?;
        Ok((Backend::Sqlite(db), DbSpans::new(service)))
    } else {
        anyhow::bail!("DATABASE_URL must start with sqlite: or postgres://")
    }
}

pub fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

impl Backend {
    /// The store answers a trivial query. For readiness probes, which are not traced.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        crate::on_db!(self, read | pool | sqlx::query("SELECT 1").execute(pool).await.map(|_| ()))
    }
}

/// Runs `$body` with `$pool` bound to the backend's pool: the SQLite reader or writer pool as
/// asked (`read` / `write`), or the one PostgreSQL pool. The body is compiled once per engine,
/// so the same query text binds and decodes with each driver's types.
#[macro_export]
macro_rules! on_db {
    ($backend:expr, read |$pool:ident| $body:expr) => {
        match $backend {
            $crate::db::Backend::Sqlite(db) => {
                let $pool = &db.read;
                $body
            }
            $crate::db::Backend::Postgres(pg) => {
                let $pool = pg;
                $body
            }
        }
    };
    ($backend:expr, write |$pool:ident| $body:expr) => {
        match $backend {
            $crate::db::Backend::Sqlite(db) => {
                let $pool = &db.write;
                $body
            }
            $crate::db::Backend::Postgres(pg) => {
                let $pool = pg;
                $body
            }
        }
    };
}
