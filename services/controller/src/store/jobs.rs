use std::time::Duration;

use pkg_api::ErrorDetail;
use pkg_service::db::Backend;
use pkg_service::on_db;
use pkg_service::sqlite::traced;
use serde::Serialize;
use utoipa::ToSchema;

use super::Store;
use super::cursor::{Page, paginate};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
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

/// What `/metrics` reports about the queue.
#[derive(Debug, Clone, Default)]
pub struct JobStats {
    pub counts: Vec<(String, i64)>,
    /// `run_after` of the oldest queued job that is due.
    pub oldest_due_queued: Option<String>,
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
    pub tracestate: Option<String>,
    /// The instance id of the process whose worker holds the job (while `running`).
    pub lease_owner: Option<String>,
    /// The lease ends here unless renewed; after it, another worker may take the job over.
    pub lease_until: Option<String>,
    /// `traceparent` of the latest attempt's `job.run` span: the next attempt links to it.
    pub run_span: Option<String>,
    pub idempotency_key: Option<String>,
}

impl Job {
    pub fn status(&self) -> JobStatus {
        JobStatus::parse(&self.status).unwrap_or(JobStatus::Failed)
    }

    /// What fences this attempt's writes (see [`Fence`]).
    pub fn fence(&self) -> Fence {
        Fence {
            id: self.id.clone(),
            attempt: self.attempts,
            owner: self.lease_owner.clone().unwrap_or_default(),
        }
    }

    /// The trace the job belongs to: the one of the request that submitted it.
    pub fn trace_id(&self) -> Option<&str> {
        self.traceparent.as_deref().and_then(|tp| tp.split('-').nth(1)).filter(|t| t.len() == 32)
    }

    /// The API's view of the job (the schema of the OpenAPI document).
    pub fn view(&self, grafana_url: &str) -> JobView {
        let error = match (&self.error_code, &self.error_message) {
            (Some(code), Some(message)) => Some(ErrorDetail { code: code.clone(), message: message.clone() }),
            _ => None,
        };
        JobView {
            id: self.id.clone(),
            url: self.url.clone(),
            force: self.force,
            status: self.status(),
            attempts: self.attempts,
            max_attempts: self.max_attempts,
            error,
            document_id: self.document_id.clone(),
            created_at: self.created_at.clone(),
            updated_at: self.updated_at.clone(),
            started_at: self.started_at.clone(),
            finished_at: self.finished_at.clone(),
            lease_owner: self.lease_owner.clone(),
            lease_until: self.lease_until.clone(),
            trace_id: self.trace_id().map(str::to_owned),
            trace_url: self.trace_id().map(|t| crate::trace_link::trace_url_json(grafana_url, t)),
        }
    }
}

/// A job as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobView {
    pub id: String,
    pub url: String,
    pub force: bool,
    pub status: JobStatus,
    /// Attempts started so far.
    pub attempts: i64,
    pub max_attempts: i64,
    /// The latest failed attempt's error.
    pub error: Option<ErrorDetail>,
    /// The document of a succeeded job.
    pub document_id: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    /// The process that ran (or runs) the latest attempt, and its lease while running.
    pub lease_owner: Option<String>,
    pub lease_until: Option<String>,
    /// The trace of the submitting request, which the job's spans join.
    pub trace_id: Option<String>,
    /// The trace in Grafana.
    #[schema(value_type = Option<String>)]
    pub trace_url: Option<Box<serde_json::value::RawValue>>,
}

pub struct NewJob<'a> {
    pub url: &'a str,
    pub force: bool,
    pub max_attempts: u32,
    pub traceparent: Option<String>,
    pub tracestate: Option<String>,
    pub baggage: Option<String>,
    /// The submitter's `Idempotency-Key`: a second submission with it returns the first job.
    pub idempotency_key: Option<&'a str>,
}

/// The outcome of a submission.
pub enum Submitted {
    Created(Job),
    /// A job with the same idempotency key existed: it, unchanged.
    Existing(Job),
}

/// Identifies one attempt of one job as claimed by one process. Every write after the claim
/// carries it in its `WHERE`: once the lease is lost (the job was taken over, counting a new
/// attempt, or released) the old worker's writes match no row and are refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    pub id: String,
    pub attempt: i64,
    pub owner: String,
}

/// The column list, as a macro so queries stay `&'static str` (sqlx refuses built strings).
/// The fence every write after a claim carries: the row is still this attempt's, owned by this
/// worker, and running. Binds `$1` id, `$2` attempt, `$3` lease owner (see [`Fence`]).
macro_rules! fenced {
    () => {
        " WHERE id = $1 AND attempts = $2 AND lease_owner = $3 AND status = 'running' RETURNING "
    };
}

macro_rules! job_columns {
    () => {
        "id, url, force, status, attempts, max_attempts, error_code, error_message, document_id, \
    traceparent, baggage, created_at, updated_at, run_after, started_at, finished_at, tracestate, \
    lease_owner, lease_until, run_span, idempotency_key"
    };
}

/// Which jobs a worker may take at `$1`: queued and due, or running under a lease that ran out
/// (its worker crashed or hung) with attempts left. Shared by both engines' claim statements.
macro_rules! claimable {
    () => {
        "(status = 'queued' AND run_after <= $1) \
         OR (status = 'running' AND lease_until < $1 AND attempts < max_attempts)"
    };
}

/// PostgreSQL's LISTEN/NOTIFY channel for "a job may be claimable": a hint only, workers
/// poll slowly as well.
pub const JOBS_CHANNEL: &str = "skein_jobs";

impl Store {
    /// Stores a queued job, or returns the one stored earlier under the same idempotency key.
    pub async fn insert_job(&self, new: NewJob<'_>) -> Result<Submitted, sqlx::Error> {
        let now = pkg_service::time::now();
        let sql = concat!(
            "INSERT INTO jobs (id, url, force, status, max_attempts, traceparent, tracestate, baggage, \
             idempotency_key, created_at, updated_at, run_after)
             VALUES ($1, $2, $3, 'queued', $4, $5, $6, $7, $8, $9, $9, $9)
             ON CONFLICT (idempotency_key) DO NOTHING RETURNING ",
            job_columns!()
        );
        let inserted: Option<Job> = traced(self.spans.span("INSERT", "jobs"), async {
            on_db!(
                &self.db,
                write | pool | {
                    sqlx::query_as(sql)
                        .bind(uuid::Uuid::now_v7().to_string())
                        .bind(new.url)
                        .bind(new.force)
                        .bind(i64::from(new.max_attempts))
                        .bind(&new.traceparent)
                        .bind(&new.tracestate)
                        .bind(&new.baggage)
                        .bind(new.idempotency_key)
                        .bind(&now)
                        .fetch_optional(pool)
                        .await
                }
            )
        })
        .await?;
        if let Some(job) = inserted {
            self.notify_claimable().await;
            return Ok(Submitted::Created(job));
        }
        // Only a taken idempotency key makes the insert do nothing.
        let sql = concat!("SELECT ", job_columns!(), " FROM jobs WHERE idempotency_key = $1");
        let existing: Job = traced(self.spans.span("SELECT", "jobs"), async {
            on_db!(
                &self.db,
                write | pool | sqlx::query_as(sql).bind(new.idempotency_key).fetch_one(pool).await
            )
        })
        .await?;
        Ok(Submitted::Existing(existing))
    }

    /// Tells other processes' workers that a job may be claimable (PostgreSQL NOTIFY; SQLite
    /// has no cross-process signal, its workers poll). Best effort: the poll is the safety net.
    pub async fn notify_claimable(&self) {
        if let Backend::Postgres(pool) = &self.db {
            let sent = sqlx::query("SELECT pg_notify($1, '')").bind(JOBS_CHANNEL).execute(pool).await;
            if let Err(error) = sent {
                tracing::warn!(%error, "could not notify other workers; they will poll");
            }
        }
    }

    pub async fn job(&self, id: &str) -> Result<Option<Job>, sqlx::Error> {
        let sql = concat!("SELECT ", job_columns!(), " FROM jobs WHERE id = $1");
        traced(self.spans.span("SELECT", "jobs"), async {
            on_db!(&self.db, read | pool | sqlx::query_as(sql).bind(id).fetch_optional(pool).await)
        })
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
            " FROM jobs WHERE (CAST($1 AS TEXT) IS NULL OR id < $1) AND (CAST($3 AS TEXT) IS NULL OR status = $3) \
             ORDER BY id DESC LIMIT $2"
        );
        let rows: Vec<Job> = traced(self.spans.span("SELECT", "jobs"), async {
            on_db!(
                &self.db,
                read | pool | {
                    sqlx::query_as(sql)
                        .bind(after)
                        .bind(limit + 1)
                        .bind(status.map(JobStatus::as_str))
                        .fetch_all(pool)
                        .await
                }
            )
        })
        .await?;
        Ok(paginate(rows, limit, |j| &j.id))
    }

    /// Cancels a queued job; `None` if it is not queued (or does not exist).
    pub async fn cancel_job(&self, id: &str) -> Result<Option<Job>, sqlx::Error> {
        let sql = concat!(
            "UPDATE jobs SET status = 'cancelled', updated_at = $2, finished_at = $2 WHERE id = $1 AND status = 'queued' RETURNING ",
            job_columns!()
        );
        traced(self.spans.span("UPDATE", "jobs"), async {
            on_db!(
                &self.db,
                write | pool | {
                    sqlx::query_as(sql).bind(id).bind(pkg_service::time::now()).fetch_optional(pool).await
                }
            )
        })
        .await
    }

    /// Takes the oldest claimable job for `owner` under a lease of `lease`, counting one more
    /// attempt. On PostgreSQL concurrent claimers skip each other's locked rows (`FOR UPDATE
    /// SKIP LOCKED`); on SQLite the statement runs under the database's single write lock.
    /// Queue housekeeping belongs to no request, so it is not traced: it would add a root
    /// trace per worker wake-up.
    pub async fn claim_job(&self, owner: &str, lease: Duration) -> Result<Option<Job>, sqlx::Error> {
        let now = pkg_service::time::now();
        let until = pkg_service::time::after(lease);
        let sql = match &self.db {
            Backend::Sqlite(_) => concat!(
                "UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_owner = $2, lease_until = $3, \
                 started_at = $1, updated_at = $1 \
                 WHERE id = (SELECT id FROM jobs WHERE ",
                claimable!(),
                " ORDER BY run_after, id LIMIT 1) RETURNING ",
                job_columns!()
            ),
            Backend::Postgres(_) => concat!(
                "UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_owner = $2, lease_until = $3, \
                 started_at = $1, updated_at = $1 \
                 WHERE id = (SELECT id FROM jobs WHERE ",
                claimable!(),
                " ORDER BY run_after, id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING ",
                job_columns!()
            ),
        };
        on_db!(
            &self.db,
            write | pool | {
                sqlx::query_as(sql).bind(&now).bind(owner).bind(&until).fetch_optional(pool).await
            }
        )
    }

    /// Ends the jobs whose last allowed attempt lost its lease (the process running it crashed
    /// or hung): `failed` with code `crashed`, so a page that kills its worker cannot loop.
    pub async fn fail_crashed_jobs(&self) -> Result<Vec<Job>, sqlx::Error> {
        let now = pkg_service::time::now();
        let sql = concat!(
            "UPDATE jobs SET status = 'failed', error_code = 'crashed', \
             error_message = 'The last attempt stopped without finishing (its process crashed or hung).', \
             lease_until = NULL, updated_at = $1, finished_at = $1 \
             WHERE status = 'running' AND lease_until < $1 AND attempts >= max_attempts RETURNING ",
            job_columns!()
        );
        on_db!(&self.db, write | pool | sqlx::query_as(sql).bind(&now).fetch_all(pool).await)
    }

    /// When a job next becomes claimable: the earliest due time of a queued job or lease end of
    /// a running one. Not traced, like `claim_job`.
    pub async fn next_job_due(&self) -> Result<Option<String>, sqlx::Error> {
        on_db!(
            &self.db,
            read | pool | {
                sqlx::query_scalar(
                    "SELECT MIN(CASE WHEN status = 'queued' THEN run_after ELSE lease_until END) \
                 FROM jobs WHERE status IN ('queued', 'running')",
                )
                .fetch_one(pool)
                .await
            }
        )
    }

    /// Job counts by status and the due time of the oldest queued job that is due, for
    /// `/metrics`. Not traced: scrapes are not requests anyone follows.
    pub async fn job_stats(&self) -> Result<JobStats, sqlx::Error> {
        let now = pkg_service::time::now();
        let (counts, oldest_due_queued) = on_db!(
            &self.db,
            read | pool | {
                let counts: Vec<(String, i64)> =
                    sqlx::query_as("SELECT status, COUNT(*) FROM jobs GROUP BY status")
                        .fetch_all(pool)
                        .await?;
                let oldest: Option<String> = sqlx::query_scalar(
                    "SELECT MIN(run_after) FROM jobs WHERE status = 'queued' AND run_after <= $1",
                )
                .bind(&now)
                .fetch_one(pool)
                .await?;
                Ok::<_, sqlx::Error>((counts, oldest))
            }
        )?;
        Ok(JobStats { counts, oldest_due_queued })
    }

    /// Renews the lease of a running attempt and, if given, records its `job.run` span.
    /// `None`: the lease is lost, the attempt must stop without writing anything more.
    pub async fn renew_lease(
        &self,
        fence: &Fence,
        lease: Duration,
        run_span: Option<&str>,
    ) -> Result<Option<Job>, sqlx::Error> {
        let sql = concat!(
            "UPDATE jobs SET lease_until = $4, run_span = COALESCE($5, run_span)",
            fenced!(),
            job_columns!()
        );
        let until = pkg_service::time::after(lease);
        let renewed = on_db!(
            &self.db,
            write | pool | {
                sqlx::query_as(sql)
                    .bind(&fence.id)
                    .bind(fence.attempt)
                    .bind(&fence.owner)
                    .bind(&until)
                    .bind(run_span)
                    .fetch_optional(pool)
                    .await
            }
        )?;
        Ok(self.refused_if_none(renewed, fence, "renew_lease"))
    }

    /// Records the attempt's success; `None` if the fence refused the write.
    pub async fn finish_job(&self, fence: &Fence, document_id: &str) -> Result<Option<Job>, sqlx::Error> {
        let sql = concat!(
            "UPDATE jobs SET status = 'succeeded', document_id = $4, error_code = NULL, error_message = NULL, \
             lease_until = NULL, updated_at = $5, finished_at = $5",
            fenced!(),
            job_columns!()
        );
        let done = traced(self.spans.span("UPDATE", "jobs"), async {
            on_db!(
                &self.db,
                write | pool | {
                    sqlx::query_as(sql)
                        .bind(&fence.id)
                        .bind(fence.attempt)
                        .bind(&fence.owner)
                        .bind(document_id)
                        .bind(pkg_service::time::now())
                        .fetch_optional(pool)
                        .await
                }
            )
        })
        .await?;
        Ok(self.refused_if_none(done, fence, "finish_job"))
    }

    /// Records a failed attempt: queued again from `retry_at`, or failed for good if `None`.
    /// `None` back if the fence refused the write.
    pub async fn fail_attempt(
        &self,
        fence: &Fence,
        code: &str,
        message: &str,
        retry_at: Option<String>,
    ) -> Result<Option<Job>, sqlx::Error> {
        let now = pkg_service::time::now();
        let sql = concat!(
            "UPDATE jobs SET status = CASE WHEN CAST($6 AS TEXT) IS NULL THEN 'failed' ELSE 'queued' END, \
             error_code = $4, error_message = $5, run_after = COALESCE($6, run_after), updated_at = $7, \
             lease_until = NULL, \
             finished_at = CASE WHEN CAST($6 AS TEXT) IS NULL THEN $7 ELSE NULL END",
            fenced!(),
            job_columns!()
        );
        let done = traced(self.spans.span("UPDATE", "jobs"), async {
            on_db!(
                &self.db,
                write | pool | {
                    sqlx::query_as(sql)
                        .bind(&fence.id)
                        .bind(fence.attempt)
                        .bind(&fence.owner)
                        .bind(code)
                        .bind(message)
                        .bind(&retry_at)
                        .bind(&now)
                        .fetch_optional(pool)
                        .await
                }
            )
        })
        .await?;
        Ok(self.refused_if_none(done, fence, "fail_attempt"))
    }

    /// Gives a claimed job back because this process is stopping: queued again at once, the
    /// attempt not counted (the page did nothing wrong). Fenced like every write.
    pub async fn release_job(&self, fence: &Fence) -> Result<Option<Job>, sqlx::Error> {
        let now = pkg_service::time::now();
        let sql = concat!(
            "UPDATE jobs SET status = 'queued', attempts = attempts - 1, lease_owner = NULL, lease_until = NULL, \
             run_after = $4, updated_at = $4",
            fenced!(),
            job_columns!()
        );
        let released = on_db!(
            &self.db,
            write | pool | {
                sqlx::query_as(sql)
                    .bind(&fence.id)
                    .bind(fence.attempt)
                    .bind(&fence.owner)
                    .bind(&now)
                    .fetch_optional(pool)
                    .await
            }
        )?;
        if released.is_some() {
            self.notify_claimable().await;
        }
        Ok(self.refused_if_none(released, fence, "release_job"))
    }

    /// A write the fence refused is never silently ignored: it is logged (the event
    /// `job.write_refused`, which tests and alerts look for) and counted.
    fn refused_if_none(&self, row: Option<Job>, fence: &Fence, write: &'static str) -> Option<Job> {
        if row.is_none() {
            self.refused_writes.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            tracing::warn!(
                event = "job.write_refused",
                "job.id" = %fence.id,
                "job.attempt" = fence.attempt,
                "lease.owner" = %fence.owner,
                write,
                "a write by a worker that no longer holds the job's lease was refused"
            );
        }
        row
    }

    /// Writes refused by a fence through this store since it was opened.
    pub fn refused_writes(&self) -> u64 {
        self.refused_writes.load(std::sync::atomic::Ordering::Relaxed)
    }
}
