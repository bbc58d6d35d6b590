//! The worker pool: takes due jobs, runs the pipeline inside the submitting request's trace,
//! retries transient failures with exponential backoff, and never polls when idle.

use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use pkg_api::ApiError;
use tokio::sync::watch;
use tracing::Instrument as _;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use super::{JobEvent, JobQueue};
use pkg_service::downstream::is_transient;

use crate::downstream::Downstream;
use crate::normalize::NormalizedUrl;
use crate::pipeline;
use crate::store::Job;

/// The longest wait between attempts, however many there were.
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// With nothing queued, a worker still wakes this often (a job inserted by another process).
const IDLE_RECHECK: Duration = Duration::from_secs(300);

#[derive(Debug, Clone)]
pub struct WorkerSettings {
    pub workers: usize,
    pub retry_base: Duration,
}

/// Running workers; [`WorkerPool::stop`] lets each finish its current job.
pub struct WorkerPool {
    stop: watch::Sender<bool>,
    handles: Vec<actix_web::rt::task::JoinHandle<()>>,
}

impl WorkerPool {
    /// Starts the workers on the current actix thread: they share one [`Downstream`], whose
    /// awc clients belong to this thread.
    pub fn start(queue: JobQueue, downstream: Downstream, settings: WorkerSettings) -> Self {
        let (stop, stopped) = watch::channel(false);
        let downstream = Rc::new(downstream);
        let handles = (0..settings.workers)
            .map(|_| {
                let worker = Worker {
                    queue: queue.clone(),
                    downstream: Rc::clone(&downstream),
                    retry_base: settings.retry_base,
                };
                actix_web::rt::spawn(worker.run(stopped.clone()))
            })
            .collect();
        tracing::info!(workers = settings.workers, "job workers started");
        Self { stop, handles }
    }

    /// Signals the workers and waits up to `grace` for jobs in progress to finish. A job cut
    /// off here stays `running` and is queued again at the next start.
    pub async fn stop(self, grace: Duration) {
        let _ = self.stop.send(true);
        let all = futures_util::future::join_all(self.handles);
        if actix_web::rt::time::timeout(grace, all).await.is_err() {
            tracing::warn!(
                grace_ms = grace.as_millis() as u64,
                "job workers did not finish in time; their jobs will be resumed"
            );
        }
    }
}

struct Worker {
    queue: JobQueue,
    downstream: Rc<Downstream>,
    retry_base: Duration,
}

impl Worker {
    async fn run(self, mut stop: watch::Receiver<bool>) {
        while !*stop.borrow() {
            match self.queue.store.claim_job().await {
                Ok(Some(job)) => self.run_job(job).await,
                Ok(None) => {
                    let due = self.queue.store.next_job_due().await.ok().flatten();
                    let wait = due.map_or(IDLE_RECHECK, |at| pkg_service::time::until(&at).min(IDLE_RECHECK));
                    tokio::select! {
                        _ = self.queue.wake.notified() => {}
                        _ = actix_web::rt::time::sleep(wait) => {}
                        _ = stop.changed() => {}
                    }
                }
                Err(error) => {
                    tracing::error!(%error, "could not take a job; retrying in a second");
                    tokio::select! {
                        _ = actix_web::rt::time::sleep(Duration::from_secs(1)) => {}
                        _ = stop.changed() => {}
                    }
                }
            }
        }
    }

    async fn run_job(&self, job: Job) {
        let carried: HashMap<String, String> = [("traceparent", &job.traceparent), ("baggage", &job.baggage)]
            .into_iter()
            .filter_map(|(k, v)| v.clone().map(|v| (k.to_owned(), v)))
            .collect();
        let span = tracing::info_span!(
            "job.run",
            otel.name = "job.run",
            otel.status_code = Empty,
            job.id = %job.id,
            job.attempt = job.attempts,
            job.max_attempts = job.max_attempts,
            job.queue_wait_ms = pkg_service::time::millis_since(&job.run_after) as i64,
            url.full = %pkg_tracing::redact_url_str(&job.url),
        );
        // The submitting request's span is the parent: the job joins that trace.
        let _ = span.set_parent(pkg_tracing::context_from_headers(&carried));
        self.queue.publish(JobEvent::status(&job));
        let result = async {
            let url = NormalizedUrl::parse(&job.url)?;
            let on_stage = |stage: pipeline::Stage| self.queue.publish(JobEvent::stage(&job, stage.as_str()));
            pipeline::run(&self.downstream, &self.queue.store, &url, job.force, on_stage).await
        }
        .instrument(span.clone())
        .await;
        let updated = match result {
            Ok(outcome) => {
                self.queue.store.finish_job(&job.id, &outcome.document.id).instrument(span.clone()).await
            }
            Err(error) => self.fail(&job, &span, error).instrument(span.clone()).await,
        };
        match updated {
            Ok(Some(job)) => self.queue.publish(JobEvent::status(&job)),
            Ok(None) => tracing::warn!(job.id = %job.id, "the job vanished while running"),
            Err(error) => tracing::error!(job.id = %job.id, %error, "could not record the job's outcome"),
        }
    }

    async fn fail(
        &self,
        job: &Job,
        span: &tracing::Span,
        error: ApiError,
    ) -> Result<Option<Job>, sqlx::Error> {
        pkg_tracing::record_error(span, error.code(), &error);
        let retry = is_transient(&error) && job.attempts < job.max_attempts;
        let retry_at = retry.then(|| pkg_service::time::after(backoff(self.retry_base, job.attempts)));
        if retry {
            tracing::warn!(job.id = %job.id, attempt = job.attempts, error = %error, "attempt failed; retrying");
        } else {
            tracing::error!(job.id = %job.id, attempt = job.attempts, error = %error, "job failed");
        }
        self.queue.store.fail_attempt(&job.id, error.code(), error.message(), retry_at).await
    }
}

/// `base`, doubled for every attempt after the first, capped at [`MAX_BACKOFF`].
fn backoff(base: Duration, attempt: i64) -> Duration {
    let doublings = u32::try_from(attempt.saturating_sub(1)).unwrap_or(0).min(16);
    base.saturating_mul(1 << doublings).min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let base = Duration::from_millis(500);
        assert_eq!(backoff(base, 1), Duration::from_millis(500));
        assert_eq!(backoff(base, 2), Duration::from_millis(1000));
        assert_eq!(backoff(base, 3), Duration::from_millis(2000));
        assert_eq!(backoff(base, 40), MAX_BACKOFF);
    }
}
