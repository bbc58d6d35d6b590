//! PostgreSQL stores: one pool shared by readers and writers (the server orders concurrent
//! writers itself), migrations applied under sqlx's advisory lock so replicas starting
//! together apply them once.

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context as _;
use sqlx::PgPool;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::db_spans::DbSpans;

/// Connections per process: workers, request handlers and the LISTEN connection share them.
const MAX_CONNECTIONS: u32 = 16;

/// Connects to `url` (`postgres://user:password@host:port/database`) and applies `migrator`.
/// Returns the pool and the spans that name this server.
pub async fn open(url: &str, migrator: &Migrator, service: &str) -> anyhow::Result<(PgPool, DbSpans)> {
    let options = PgConnectOptions::from_str(url)
        .with_context(|| format!("DATABASE_URL is not a PostgreSQL URL ({})", redact(url)))?;
    let spans = DbSpans::postgres(
        service,
        options.get_database().unwrap_or(service),
        options.get_host(),
        options.get_port(),
    );
    let pool = PgPoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await
        .with_context(|| format!("connecting to {}", redact(url)))?;
    migrator.run(&pool).await.context("applying database migrations")?;
    Ok((pool, spans))
}

/// The URL without its password, for error messages and logs.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(parsed) => parsed.to_string(),
        Err(_) => "an unparsable URL".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(redact("postgres://u:secret@db:5432/x"), "postgres://u:***@db:5432/x");
        assert_eq!(redact("postgres://u@db/x"), "postgres://u@db/x");
        assert!(!redact("not a url secret").contains("secret"));
    }
}
