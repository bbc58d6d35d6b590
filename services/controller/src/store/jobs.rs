use pkg_service::sqlite::traced;
use serde_json::{Value, json};

use super::Store;
use super::cursor::{Page, paginate};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl JobStatus {
    pub const ALL: [JobStatus; 5] = [
        JobStatus::Queued,
        JobStatus::Running,
        JobStatus::Succeeded,
        JobStatus::Failed,
        JobStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Failed => "failed",
            JobStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == s)
    }

    pub fn is_final(self) -> bool {
        matches!(self, JobStatus::Succeeded | JobStatus::Failed | JobStatus::Cancelled)
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Job {
    pub id: String,
    pub url: String,
    pub force: bool,
    pub status: String,
    pub attempts: i64,
    pub max_attempts: i64,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub document_id: Option<String>,
    pub traceparent: Option<String>,
    pub baggage: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub run_after: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
}

impl Job {
    pub fn status(&self) -> JobStatus {
        JobStatus::parse(&self.status).unwrap_or(JobStatus::Failed)
    }

    /// The trace the job belongs to: the one of the request that submitted it.
    pub fn trace_id(&self) -> Option<&str> {
        self.traceparent.as_deref().and_then(|tp| tp.split('-').nth(1)).filter(|t| t.len() == 32)
    }

    pub fn to_json(&self, grafana_url: &str) -> Value {
        let error = match (&self.error_code, &self.error_message) {
            (Some(code), Some(message)) => json!({ "code": code, "message": message }),
            _ => Value::Null,
        };
        json!({
            "id": self.id,
            "url": self.url,
            "force": self.force,
            "status": self.status,
            "attempts": self.attempts,
            "max_attempts": self.max_attempts,
            "error": error,
            "document_id": self.document_id,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "trace_id": self.trace_id(),
            "trace_url": self.trace_id().map(|t| crate::trace_link::trace_url(grafana_url, t)),
        })
    }
}

pub struct NewJob<'a> {
    pub url: &'a str,
    pub force: bool,
    pub max_attempts: u32,
    pub traceparent: Option<String>,
    pub baggage: Option<String>,
}

/// The column list, as a macro so queries stay `&'static str` (sqlx refuses built strings).
macro_rules! job_columns {
    () => {
        "id, url, force, status, attempts, max_attempts, error_code, error_message, document_id, \
    traceparent, baggage, created_at, updated_at, run_after, started_at, finished_at"
    };
}

impl Store {
    pub async fn insert_job(&self, new: NewJob<'_>) -> Result<Job, sqlx::Error> {
        let now = pkg_service::time::now();
        let sql = concat!("INSERT INTO jobs (id, url, force, status, max_attempts, traceparent, baggage, created_at, updated_at, run_after)
             VALUES (?1, ?2, ?3, 'queued', ?4, ?5, ?6, ?7, ?7, ?7) RETURNING ", job_columns!());
        traced(
            self.spans.span("INSERT", "jobs"),
            sqlx::query_as(sql)
                .bind(uuid::Uuid::now_v7().to_string())
                .bind(new.url)
                .bind(new.force)
                .bind(i64::from(new.max_attempts))
                .bind(new.traceparent)
                .bind(new.baggage)
                .bind(&now)
                .fetch_one(&self.db.write),
        )
        .await
    }

    pub async fn job(&self, id: &str) -> Result<Option<Job>, sqlx::Error> {
        let sql = concat!("SELECT ", job_columns!(), " FROM jobs WHERE id = ?1");
        traced(self.spans.span("SELECT", "jobs"), sqlx::query_as(sql).bind(id).fetch_optional(&self.db.read))
            .await
    }

    /// Newest first; only jobs in `status` if given.
    pub async fn jobs(
        &self,
        status: Option<JobStatus>,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Page<Job>, sqlx::Error> {
        let sql = concat!(
            "SELECT ",
            job_columns!(),
            " FROM jobs WHERE (?1 IS NULL OR id < ?1) AND (?3 IS NULL OR status = ?3) ORDER BY id DESC LIMIT ?2"
        );
        let rows: Vec<Job> = traced(
            self.spans.span("SELECT", "jobs"),
            sqlx::query_as(sql)
                .bind(after)
                .bind(limit + 1)
                .bind(status.map(JobStatus::as_str))
                .fetch_all(&self.db.read),
        )
        .await?;
        Ok(paginate(rows, limit, |j| &j.id))
    }

    /// Cancels a queued job; `None` if it is not queued (or does not exist).
    pub async fn cancel_job(&self, id: &str) -> Result<Option<Job>, sqlx::Error> {
        let sql = concat!(
            "UPDATE jobs SET status = 'cancelled', updated_at = ?2, finished_at = ?2 WHERE id = ?1 AND status = 'queued' RETURNING ",
            job_columns!()
        );
        traced(
            self.spans.span("UPDATE", "jobs"),
            sqlx::query_as(sql).bind(id).bind(pkg_service::time::now()).fetch_optional(&self.db.write),
        )
        .await
    }

    /// Atomically takes the oldest due queued job and marks it running (one more attempt).
    /// Queue housekeeping belongs to no request, so it is not traced: it would add a root
    /// trace per worker wake-up.
    pub async fn claim_job(&self) -> Result<Option<Job>, sqlx::Error> {
        let now = pkg_service::time::now();
        let sql = concat!("UPDATE jobs SET status = 'running', attempts = attempts + 1, started_at = ?1, updated_at = ?1
             WHERE id = (SELECT id FROM jobs WHERE status = 'queued' AND run_after <= ?1 ORDER BY run_after, id LIMIT 1)
             RETURNING ", job_columns!());
        sqlx::query_as(sql).bind(&now).fetch_optional(&self.db.write).await
    }

    /// When the next queued job becomes due, if any is queued. Not traced, like `claim_job`.
    pub async fn next_job_due(&self) -> Result<Option<String>, sqlx::Error> {
        sqlx::query_scalar("SELECT MIN(run_after) FROM jobs WHERE status = 'queued'")
            .fetch_one(&self.db.read)
            .await
    }

    pub async fn finish_job(&self, id: &str, document_id: &str) -> Result<Option<Job>, sqlx::Error> {
        let sql = concat!(
            "UPDATE jobs SET status = 'succeeded', document_id = ?2, error_code = NULL, error_message = NULL,
             updated_at = ?3, finished_at = ?3 WHERE id = ?1 RETURNING ",
            job_columns!()
        );
        traced(
            self.spans.span("UPDATE", "jobs"),
            sqlx::query_as(sql)
                .bind(id)
                .bind(document_id)
                .bind(pkg_service::time::now())
                .fetch_optional(&self.db.write),
        )
        .await
    }

    /// Records a failed attempt: queued again from `retry_at`, or failed for good if `None`.
    pub async fn fail_attempt(
        &self,
        id: &str,
        code: &str,
        message: &str,
        retry_at: Option<String>,
    ) -> Result<Option<Job>, sqlx::Error> {
        let now = pkg_service::time::now();
        let sql = concat!(
            "UPDATE jobs SET status = CASE WHEN ?4 IS NULL THEN 'failed' ELSE 'queued' END,
             error_code = ?2, error_message = ?3, run_after = COALESCE(?4, run_after), updated_at = ?5,
             finished_at = CASE WHEN ?4 IS NULL THEN ?5 ELSE NULL END
             WHERE id = ?1 RETURNING ",
            job_columns!()
        );
        traced(
            self.spans.span("UPDATE", "jobs"),
            sqlx::query_as(sql)
                .bind(id)
                .bind(code)
                .bind(message)
                .bind(retry_at)
                .bind(&now)
                .fetch_optional(&self.db.write),
        )
        .await
    }

    /// Jobs left `running` by a crash are queued again; returns how many.
    pub async fn requeue_interrupted_jobs(&self) -> Result<u64, sqlx::Error> {
        let now = pkg_service::time::now();
        let done = sqlx::query(
            "UPDATE jobs SET status = 'queued', run_after = ?1, updated_at = ?1 WHERE status = 'running'",
        )
        .bind(&now)
        .execute(&self.db.write)
        .await?;
        Ok(done.rows_affected())
    }
}
