//! Schedules and their fired ticks, on SQLite (default) or PostgreSQL as `DATABASE_URL` says.
//! Reads and writes made for a request or a run are CLIENT spans (`scheduler-db` on the map);
//! the run loop's own polling and bookkeeping are not traced.

use pkg_service::db::{Backend, Migrations};
use pkg_service::on_db;
use pkg_service::sqlite::{DbSpans, traced};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The scheduler's migrations, one set per engine.
pub static MIGRATIONS: Migrations = Migrations { sqlite: &SQLITE_MIGRATOR, postgres: &POSTGRES_MIGRATOR };

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
    /// Counts definition changes: 1 when created, one more per `PUT`.
    pub version: i64,
}

impl Schedule {
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self.view()).unwrap_or(Value::Null)
    }

    /// The API's view of the schedule (the schema of the OpenAPI document).
    pub fn view(&self) -> ScheduleView {
        let description = crate::cron::CronSpec::parse(&self.cron, &self.timezone).map(|c| c.describe()).ok();
        ScheduleView {
            id: self.id.clone(),
            name: self.name.clone(),
            cron: self.cron.clone(),
            description,
            timezone: self.timezone.clone(),
            url: self.url.clone(),
            enabled: self.enabled,
            last_run_at: self.last_run_at.clone(),
            last_status: self.last_status.clone(),
            last_error: self.last_error.clone(),
            last_job_id: self.last_job_id.clone(),
            next_run_at: self.next_run_at.clone(),
            created_at: self.created_at.clone(),
            updated_at: self.updated_at.clone(),
            version: self.version,
        }
    }
}

/// A schedule as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScheduleView {
    pub id: String,
    pub name: String,
    pub cron: String,
    /// The cron expression in words, e.g. "At 09:00 on Sunday".
    pub description: Option<String>,
    /// IANA time zone the cron expression is read in.
    pub timezone: String,
    pub url: String,
    pub enabled: bool,
    pub last_run_at: Option<String>,
    /// `queued` (the controller took the job) or `failed`.
    pub last_status: Option<String>,
    pub last_error: Option<String>,
    pub last_job_id: Option<String>,
    /// `null` while disabled.
    pub next_run_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// 1 when created, one more per `PUT`; send it back with `PUT` to replace only that version.
    pub version: i64,
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
}

/// The outcome of a `PUT`.
pub enum Updated {
    Done(Box<Schedule>),
    NotFound,
    /// The client's version is stale: the current one.
    Conflict(i64),
}

macro_rules! columns {
    () => {
        "id, name, cron, timezone, url, enabled, last_run_at, last_status, last_error, last_job_id, next_run_at, \
         created_at, updated_at, version"
    };
}

#[derive(Clone)]
pub struct Store {
    db: Backend,
    spans: DbSpans,
}

impl Store {
    /// Opens `url` (`sqlite:…` or `postgres://…`) and applies pending migrations.
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        let (db, spans) = pkg_service::db::open(url, &MIGRATIONS, "scheduler").await?;
        Ok(Self { db, spans })
    }

    /// The store answers a trivial query. For readiness probes, which are not traced.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        self.db.ping().await
    }

    pub async fn list(&self) -> Result<Vec<Schedule>, sqlx::Error> {
        let sql = concat!("SELECT ", columns!(), " FROM schedules ORDER BY name");
        traced(self.spans.span("SELECT", "schedules"), async {
            on_db!(&self.db, read | pool | sqlx::query_as(sql).fetch_all(pool).await)
        })
        .await
    }

    pub async fn get(&self, id: &str) -> Result<Option<Schedule>, sqlx::Error> {
        let sql = concat!("SELECT ", columns!(), " FROM schedules WHERE id = $1");
        traced(self.spans.span("SELECT", "schedules"), async {
            on_db!(&self.db, read | pool | sqlx::query_as(sql).bind(id).fetch_optional(pool).await)
        })
        .await
    }

    pub async fn exists_named(&self, name: &str) -> Result<bool, sqlx::Error> {
        let found: Option<String> = traced(self.spans.span("SELECT", "schedules"), async {
            on_db!(
                &self.db,
                read | pool | {
                    sqlx::query_scalar("SELECT id FROM schedules WHERE name = $1")
                        .bind(name)
                        .fetch_optional(pool)
                        .await
                }
            )
        })
        .await?;
        Ok(found.is_some())
    }

    /// Inserts; a taken name is a unique-constraint error (see [`is_name_taken`]).
    pub async fn insert(&self, d: &Definition) -> Result<Schedule, sqlx::Error> {
        let now = pkg_service::time::now();
        let sql = concat!(
            "INSERT INTO schedules (id, name, cron, timezone, url, enabled, next_run_at, created_at, updated_at) ",
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING ",
            columns!()
        );
        traced(self.spans.span("INSERT", "schedules"), async {
            on_db!(
                &self.db,
                write | pool | {
                    sqlx::query_as(sql)
                        .bind(uuid::Uuid::now_v7().to_string())
                        .bind(&d.name)
                        .bind(&d.cron)
                        .bind(&d.timezone)
                        .bind(&d.url)
                        .bind(d.enabled)
                        .bind(&d.next_run_at)
                        .bind(&now)
                        .fetch_one(pool)
                        .await
                }
            )
        })
        .await
    }

    /// Replaces the definition (one more version) if `expected_version` is current or `None`.
    pub async fn update(
        &self,
        id: &str,
        d: &Definition,
        expected_version: Option<i64>,
    ) -> Result<Updated, sqlx::Error> {
        let sql = concat!(
            "UPDATE schedules SET name = $2, cron = $3, timezone = $4, url = $5, enabled = $6, next_run_at = $7, ",
            "updated_at = $8, version = version + 1 ",
            "WHERE id = $1 AND (CAST($9 AS BIGINT) IS NULL OR version = $9) RETURNING ",
            columns!()
        );
        let updated: Option<Schedule> = traced(self.spans.span("UPDATE", "schedules"), async {
            on_db!(
                &self.db,
                write | pool | {
                    sqlx::query_as(sql)
                        .bind(id)
                        .bind(&d.name)
                        .bind(&d.cron)
                        .bind(&d.timezone)
                        .bind(&d.url)
                        .bind(d.enabled)
                        .bind(&d.next_run_at)
                        .bind(pkg_service::time::now())
                        .bind(expected_version)
                        .fetch_optional(pool)
                        .await
                }
            )
        })
        .await?;
        Ok(match updated {
            Some(schedule) => Updated::Done(Box::new(schedule)),
            None => match self.get(id).await? {
                None => Updated::NotFound,
                Some(current) => Updated::Conflict(current.version),
            },
        })
    }

    pub async fn delete(&self, id: &str) -> Result<bool, sqlx::Error> {
        let done = traced(self.spans.span("DELETE", "schedules"), async {
            on_db!(
                &self.db,
                write
                    | pool
                    | sqlx::query("DELETE FROM schedules WHERE id = $1")
                        .bind(id)
                        .execute(pool)
                        .await
                        .map(|d| d.rows_affected())
            )
        })
        .await?;
        Ok(done > 0)
    }

    /// Records a run's outcome. The next run is not touched: the run loop moves it on (with a
    /// compare-and-set), and a manual run leaves the timing alone.
    pub async fn record_run(&self, id: &str, run: RunRecord<'_>) -> Result<Option<Schedule>, sqlx::Error> {
        let sql = concat!(
            "UPDATE schedules SET last_run_at = $2, last_status = $3, last_error = $4, ",
            "last_job_id = COALESCE($5, last_job_id), updated_at = $2 WHERE id = $1 RETURNING ",
            columns!()
        );
        let status = if run.error.is_none() { "ok" } else { "error" };
        traced(self.spans.span("UPDATE", "schedules"), async {
            on_db!(
                &self.db,
                write | pool | {
                    sqlx::query_as(sql)
                        .bind(id)
                        .bind(run.at)
                        .bind(status)
                        .bind(&run.error)
                        .bind(&run.job_id)
                        .fetch_optional(pool)
                        .await
                }
            )
        })
        .await
    }

    /// Claims the tick of schedule `id` at nominal time `fire_at` for `owner`. True for exactly
    /// one caller per tick, across every scheduler process sharing the store. Run-loop
    /// bookkeeping: not traced.
    pub async fn claim_tick(&self, id: &str, fire_at: &str, owner: &str) -> Result<bool, sqlx::Error> {
        let done = on_db!(
            &self.db,
            write
                | pool
                | {
                    sqlx::query(
                "INSERT INTO schedule_ticks (schedule_id, fire_at, claimed_by, claimed_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (schedule_id, fire_at) DO NOTHING",
            )
            .bind(id)
            .bind(fire_at)
            .bind(owner)
            .bind(pkg_service::time::now())
            .execute(pool)
            .await
            .map(|d| d.rows_affected())
                }
        )?;
        Ok(done == 1)
    }

    /// Moves the schedule's next run from `from` to `next` if the definition is still at
    /// `version` and nobody moved it yet (compare-and-set). False otherwise: a `PUT` set a new
    /// next run, or another replica moved it on; either way the stored value stands. Not traced.
    pub async fn advance(
        &self,
        id: &str,
        version: i64,
        from: &str,
        next: Option<String>,
    ) -> Result<bool, sqlx::Error> {
        let done = on_db!(
            &self.db,
            write
                | pool
                | {
                    sqlx::query("UPDATE schedules SET next_run_at = $4 WHERE id = $1 AND version = $2 AND next_run_at = $3")
                .bind(id)
                .bind(version)
                .bind(from)
                .bind(&next)
                .execute(pool)
                .await
                .map(|d| d.rows_affected())
                }
        )?;
        Ok(done == 1)
    }

    /// Forgets tick claims made before `before` (they only guard against double runs of
    /// recent ticks). Not traced.
    pub async fn prune_ticks(&self, before: &str) -> Result<u64, sqlx::Error> {
        let done = on_db!(
            &self.db,
            write | pool | {
                sqlx::query("DELETE FROM schedule_ticks WHERE claimed_at < $1")
                    .bind(before)
                    .execute(pool)
                    .await
                    .map(|d| d.rows_affected())
            }
        )?;
        Ok(done)
    }

    /// Who claimed each tick of schedule `id`, oldest first: `(fire_at, claimed_by)`.
    pub async fn ticks(&self, id: &str) -> Result<Vec<(String, String)>, sqlx::Error> {
        traced(self.spans.span("SELECT", "schedule_ticks"), async {
            on_db!(
                &self.db,
                read | pool | {
                    sqlx::query_as(
                    "SELECT fire_at, claimed_by FROM schedule_ticks WHERE schedule_id = $1 ORDER BY fire_at",
                )
                .bind(id)
                .fetch_all(pool)
                .await
                }
            )
        })
        .await
    }

    /// Enabled schedules due at `now`. Polling by the run loop: not traced.
    pub async fn due(&self, now: &str) -> Result<Vec<Schedule>, sqlx::Error> {
        let sql = concat!(
            "SELECT ",
            columns!(),
            " FROM schedules WHERE enabled = TRUE AND next_run_at IS NOT NULL AND next_run_at <= $1 ORDER BY next_run_at"
        );
        on_db!(&self.db, read | pool | sqlx::query_as(sql).bind(now).fetch_all(pool).await)
    }

    /// The earliest next run of an enabled schedule. Not traced.
    pub async fn next_due(&self) -> Result<Option<String>, sqlx::Error> {
        on_db!(
            &self.db,
            read | pool | {
                sqlx::query_scalar("SELECT MIN(next_run_at) FROM schedules WHERE enabled = TRUE")
                    .fetch_one(pool)
                    .await
            }
        )
    }
}

/// True when `error` is the unique constraint on `name`.
pub fn is_name_taken(error: &sqlx::Error) -> bool {
    error.as_database_error().is_some_and(|e| e.is_unique_violation())
}
