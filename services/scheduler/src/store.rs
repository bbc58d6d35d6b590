//! Schedules in SQLite. Reads and writes made for a request or a run are CLIENT spans
//! (`scheduler-db` on the map); the run loop's own polling is not traced.

use pkg_service::sqlite::{Db, DbSpans, traced};
use serde_json::{Value, json};

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Schedule {
    pub id: String,
    pub name: String,
    pub cron: String,
    pub timezone: String,
    pub url: String,
    pub enabled: bool,
    pub last_run_at: Option<String>,
    pub last_status: Option<String>,
    pub last_error: Option<String>,
    pub last_job_id: Option<String>,
    pub next_run_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl Schedule {
    pub fn to_json(&self) -> Value {
        let description = crate::cron::CronSpec::parse(&self.cron, &self.timezone).map(|c| c.describe()).ok();
        json!({
            "id": self.id,
            "name": self.name,
            "cron": self.cron,
            "description": description,
            "timezone": self.timezone,
            "url": self.url,
            "enabled": self.enabled,
            "last_run_at": self.last_run_at,
            "last_status": self.last_status,
            "last_error": self.last_error,
            "last_job_id": self.last_job_id,
            "next_run_at": self.next_run_at,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        })
    }
}

/// A schedule's definition, validated (see `routes::schedules::ScheduleInput`).
#[derive(Debug, Clone)]
pub struct Definition {
    pub name: String,
    pub cron: String,
    pub timezone: String,
    pub url: String,
    pub enabled: bool,
    pub next_run_at: Option<String>,
}

/// The outcome of one run.
pub struct RunRecord<'a> {
    pub at: &'a str,
    pub error: Option<String>,
    pub job_id: Option<String>,
    pub next_run_at: Option<String>,
}

macro_rules! columns {
    () => {
        "id, name, cron, timezone, url, enabled, last_run_at, last_status, last_error, last_job_id, next_run_at, created_at, updated_at"
    };
}

#[derive(Clone)]
pub struct Store {
    db: Db,
    spans: DbSpans,
}

impl Store {
    pub fn new(db: Db) -> Self {
        Self { db, spans: DbSpans::new("scheduler") }
    }

    /// The store answers a trivial query. For readiness probes, which are not traced.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1").execute(&self.db.read).await.map(|_| ())
    }

    pub async fn list(&self) -> Result<Vec<Schedule>, sqlx::Error> {
        let sql = concat!("SELECT ", columns!(), " FROM schedules ORDER BY name");
        traced(self.spans.span("SELECT", "schedules"), sqlx::query_as(sql).fetch_all(&self.db.read)).await
    }

    pub async fn get(&self, id: &str) -> Result<Option<Schedule>, sqlx::Error> {
        let sql = concat!("SELECT ", columns!(), " FROM schedules WHERE id = ?1");
        traced(
            self.spans.span("SELECT", "schedules"),
            sqlx::query_as(sql).bind(id).fetch_optional(&self.db.read),
        )
        .await
    }

    pub async fn exists_named(&self, name: &str) -> Result<bool, sqlx::Error> {
        let found: Option<i64> = traced(
            self.spans.span("SELECT", "schedules"),
            sqlx::query_scalar("SELECT 1 FROM schedules WHERE name = ?1")
                .bind(name)
                .fetch_optional(&self.db.read),
        )
        .await?;
        Ok(found.is_some())
    }

    /// Inserts; a taken name is a unique-constraint error (see [`is_name_taken`]).
    pub async fn insert(&self, d: &Definition) -> Result<Schedule, sqlx::Error> {
        let now = pkg_service::time::now();
        let sql = concat!(
            "INSERT INTO schedules (id, name, cron, timezone, url, enabled, next_run_at, created_at, updated_at) ",
            "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8) RETURNING ",
            columns!()
        );
        traced(
            self.spans.span("INSERT", "schedules"),
            sqlx::query_as(sql)
                .bind(uuid::Uuid::now_v7().to_string())
                .bind(&d.name)
                .bind(&d.cron)
                .bind(&d.timezone)
                .bind(&d.url)
                .bind(d.enabled)
                .bind(&d.next_run_at)
                .bind(&now)
                .fetch_one(&self.db.write),
        )
        .await
    }

    pub async fn update(&self, id: &str, d: &Definition) -> Result<Option<Schedule>, sqlx::Error> {
        let sql = concat!(
            "UPDATE schedules SET name = ?2, cron = ?3, timezone = ?4, url = ?5, enabled = ?6, next_run_at = ?7, ",
            "updated_at = ?8 WHERE id = ?1 RETURNING ",
            columns!()
        );
        traced(
            self.spans.span("UPDATE", "schedules"),
            sqlx::query_as(sql)
                .bind(id)
                .bind(&d.name)
                .bind(&d.cron)
                .bind(&d.timezone)
                .bind(&d.url)
                .bind(d.enabled)
                .bind(&d.next_run_at)
                .bind(pkg_service::time::now())
                .fetch_optional(&self.db.write),
        )
        .await
    }

    pub async fn delete(&self, id: &str) -> Result<bool, sqlx::Error> {
        let done = traced(
            self.spans.span("DELETE", "schedules"),
            sqlx::query("DELETE FROM schedules WHERE id = ?1").bind(id).execute(&self.db.write),
        )
        .await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn record_run(&self, id: &str, run: RunRecord<'_>) -> Result<Option<Schedule>, sqlx::Error> {
        let sql = concat!(
            "UPDATE schedules SET last_run_at = ?2, last_status = ?3, last_error = ?4, ",
            // A schedule disabled while it ran keeps no next run.
            "last_job_id = COALESCE(?5, last_job_id), next_run_at = CASE WHEN enabled = 1 THEN ?6 END, ",
            "updated_at = ?2 WHERE id = ?1 RETURNING ",
            columns!()
        );
        let status = if run.error.is_none() { "ok" } else { "error" };
        traced(
            self.spans.span("UPDATE", "schedules"),
            sqlx::query_as(sql)
                .bind(id)
                .bind(run.at)
                .bind(status)
                .bind(run.error)
                .bind(run.job_id)
                .bind(run.next_run_at)
                .fetch_optional(&self.db.write),
        )
        .await
    }

    /// Sets the next run ahead of running a due schedule. Run-loop bookkeeping: not traced.
    pub async fn advance(&self, id: &str, next_run_at: Option<String>) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE schedules SET next_run_at = ?2 WHERE id = ?1")
            .bind(id)
            .bind(next_run_at)
            .execute(&self.db.write)
            .await
            .map(|_| ())
    }

    /// Enabled schedules due at `now`. Polling by the run loop: not traced.
    pub async fn due(&self, now: &str) -> Result<Vec<Schedule>, sqlx::Error> {
        let sql = concat!(
            "SELECT ",
            columns!(),
            " FROM schedules WHERE enabled = 1 AND next_run_at IS NOT NULL AND next_run_at <= ?1 ORDER BY next_run_at"
        );
        sqlx::query_as(sql).bind(now).fetch_all(&self.db.read).await
    }

    /// The earliest next run of an enabled schedule. Not traced.
    pub async fn next_due(&self) -> Result<Option<String>, sqlx::Error> {
        sqlx::query_scalar("SELECT MIN(next_run_at) FROM schedules WHERE enabled = 1")
            .fetch_one(&self.db.read)
            .await
    }
}

/// True when `error` is the unique constraint on `name`.
pub fn is_name_taken(error: &sqlx::Error) -> bool {
    error.as_database_error().is_some_and(|e| e.is_unique_violation())
}
