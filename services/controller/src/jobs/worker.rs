//! The worker pool: claims due jobs under a lease, runs the pipeline inside the submitting
//! request's trace while a heartbeat renews the lease, retries transient failures with
//! exponential backoff, and writes every outcome fenced by the attempt it claimed.
//!
//! Any number of controller processes may share one store: a job belongs to the process whose
//! lease it holds. A process that dies (or hangs) loses its leases when they run out, and the
//! jobs are claimed again elsewhere, counting a new attempt; one whose last attempt is lost
//! that way ends `failed` with code `crashed`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use opentelemetry::trace::TraceContextExt as _;
use pkg_api::ApiError;
use pkg_tracing::SpanExt as _;
use tokio::sync::watch;
use tracing::Instrument as _;
use tracing::field::Empty;

use super::{JobEvent, JobQueue};
use pkg_service::downstream::is_transient;

use crate::downstream::Downstream;
use crate::metrics::ControllerMetrics;
use crate::normalize::NormalizedUrl;
use crate::pipeline;
use crate::store::{Fence, Job};

/// The longest wait between attempts, however many there were.
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// With nothing claimable, a worker still looks this often: jobs queued by another process
/// (PostgreSQL's NOTIFY is only a hint; SQLite has no cross-process signal at all).
const POLL: Duration = Duration::from_secs(5);
/// The shortest idle wait, so a race lost to another claimer never spins.
const MIN_WAIT: Duration = Duration::from_millis(20);

#[derive(Debug, Clone)]
pub struct WorkerSettings {
    pub workers: usize,
    pub retry_base: Duration,
    /// How long a claim holds without a heartbeat; renewed every third of it.
    pub lease: Duration,
    /// This process's name in `lease_owner`: unique per process.
    pub owner: String,
    pub metrics: ControllerMetrics,
}

/// Jobs this process holds, by id: released if shutdown cuts them off.
type InProgress = Rc<RefCell<HashMap<String, Fence>>>;

/// Running workers; [`WorkerPool::stop`] stops their claiming and lets each finish its job.
pub struct WorkerPool {
    stop: watch::Sender<bool>,
    handles: Vec<actix_web::rt::task::JoinHandle<()>>,
    in_progress: InProgress,
    queue: JobQueue,
}

impl WorkerPool {
    /// Starts the workers on the current actix thread: they share one [`Downstream`], whose
    /// awc clients belong to this thread.
    pub fn start(queue: JobQueue, downstream: Downstream, settings: WorkerSettings) -> Self {
        let (stop, stopped) = watch::channel(false);
        let downstream = Rc::new(downstream);
        let in_progress = InProgress::default();
        let mut handles: Vec<_> = (0..settings.workers)
            .map(|_| {
                let worker = Worker {
                    queue: queue.clone(),
                    downstream: Rc::clone(&downstream),
                    settings: settings.clone(),
                    in_progress: Rc::clone(&in_progress),
                };
                actix_web::rt::spawn(worker.run(stopped.clone()))
            })
            .collect();
        if let Some(pool) = queue.store.postgres().cloned() {
            handles.push(actix_web::rt::spawn(listen(pool, queue.clone(), stopped)));
        }
        tracing::info!(workers = settings.workers, lease_ms = settings.lease.as_millis() as u64,
            owner = %settings.owner, "job workers started");
        Self { stop, handles, in_progress, queue }
    }

    /// Stops claiming at once and waits up to `grace` for jobs in progress to finish. A job
    /// still running then is released: queued again with its attempt not counted, for this
    /// or another process to run. (Were the release to fail, its lease would run out and the
    /// job be taken over all the same: it is never lost.) Releasing takes at most `release`.
    pub async fn stop(self, grace: Duration, release: Duration) {
        let _ = self.stop.send(true);
        let aborts: Vec<_> = self.handles.iter().map(|h| h.abort_handle()).collect();
        let all = futures_util::future::join_all(self.handles);
        if actix_web::rt::time::timeout(grace, all).await.is_ok() {
            return;
        }
        aborts.iter().for_each(|a| a.abort());
        let cut_off: Vec<Fence> = self.in_progress.borrow_mut().drain().map(|(_, f)| f).collect();
        tracing::warn!(
            grace_ms = grace.as_millis() as u64,
            jobs = cut_off.len(),
            "job workers did not finish in time; releasing their jobs"
        );
        let releases = async {
            for fence in cut_off {
                match self.queue.store.release_job(&fence).await {
                    Ok(Some(job)) => self.queue.publish(JobEvent::status(&job)),
                    Ok(None) => {}
                    Err(error) => {
                        tracing::error!(job.id = %fence.id, %error, "could not release the job; its lease will run out")
                    }
                }
            }
        };
        if actix_web::rt::time::timeout(release, releases).await.is_err() {
            tracing::warn!(
                "releasing jobs took too long; the rest will be taken over when their leases run out"
            );
        }
    }
}

/// Holds the LISTEN connection. sqlx hands it back to its pool from `Drop` by spawning a task,
/// which panics when the runtime itself is going away (tests end that way); then the
/// connection is left to close with the process instead.
struct Listening(Option<sqlx::postgres::PgListener>);

impl Drop for Listening {
    fn drop(&mut self) {
        if let Some(listener) = self.0.take()
            && tokio::runtime::Handle::try_current().is_err()
        {
            std::mem::forget(listener);
        }
    }
}

/// PostgreSQL: a NOTIFY from any process (a job queued or released) wakes a worker here.
async fn listen(pool: sqlx::PgPool, queue: JobQueue, mut stop: watch::Receiver<bool>) {
    let listener = loop {
        let connected = async {
            let mut listener = sqlx::postgres::PgListener::connect_with(&pool).await?;
            listener.listen(crate::store::JOBS_CHANNEL).await?;
            Ok::<_, sqlx::Error>(listener)
        };
        match connected.await {
            Ok(listener) => break listener,
            Err(error) => tracing::warn!(%error, "could not LISTEN for jobs; polling meanwhile"),
        }
        tokio::select! {
            _ = actix_web::rt::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.changed() => return,
        }
    };
    let mut listening = Listening(Some(listener));
    let Some(listener) = listening.0.as_mut() else { return };
    loop {
        tokio::select! {
            received = listener.recv() => match received {
                Ok(_) => queue.wake.notify_one(),
                Err(error) => {
                    // recv reconnects by itself on the next call.
                    tracing::warn!(%error, "LISTEN connection lost; polling meanwhile");
                    actix_web::rt::time::sleep(Duration::from_secs(1)).await;
                }
            },
            _ = stop.changed() => return,
        }
    }
}

struct Worker {
    queue: JobQueue,
    downstream: Rc<Downstream>,
    settings: WorkerSettings,
    in_progress: InProgress,
}

impl Worker {
    async fn run(self, mut stop: watch::Receiver<bool>) {
        while !*stop.borrow() {
            match self.queue.store.fail_crashed_jobs().await {
                Ok(crashed) => {
                    for job in crashed {
                        tracing::error!(job.id = %job.id, attempts = job.attempts,
                            "the job's last attempt crashed; it failed");
                        self.settings.metrics.job_updated(&job);
                        self.queue.publish(JobEvent::status(&job));
                    }
                }
                Err(error) => tracing::error!(%error, "could not end crashed jobs"),
            }
            match self.queue.store.claim_job(&self.settings.owner, self.settings.lease).await {
                Ok(Some(job)) => self.run_job(job).await,
                Ok(None) => {
                    let due = self.queue.store.next_job_due().await.ok().flatten();
                    let wait = due.map_or(POLL, |at| pkg_service::time::until(&at).clamp(MIN_WAIT, POLL));
                    pkg_service::wait::idle(&self.queue.wake, wait, &mut stop).await;
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
        let fence = job.fence();
        let span = run_span(&job);
        // This attempt's span goes on the row (the next attempt links to it), and the lease is
        // confirmed before any work: a claim that is already lost does nothing.
        let this_span = pkg_tracing::traceresponse(&span.span_context());
        match self.queue.store.renew_lease(&fence, self.settings.lease, this_span.as_deref()).await {
            Ok(Some(_)) => {}
            Ok(None) => return,
            Err(error) => tracing::warn!(job.id = %job.id, %error, "could not record the attempt's span"),
        }
        self.in_progress.borrow_mut().insert(job.id.clone(), fence.clone());
        self.queue.publish(JobEvent::status(&job));
        let metrics = &self.settings.metrics;
        metrics.attempt_started(&job, &span);
        let started = std::time::Instant::now();
        let work = async {
            let url = NormalizedUrl::parse(&job.url)?;
            let on_stage = |stage: pipeline::Stage| self.queue.publish(JobEvent::stage(&job, stage.as_str()));
            pipeline::run(&self.downstream, &self.queue.store, &url, job.force, on_stage).await
        }
        .instrument(span.clone());
        let result = tokio::select! {
            result = work => Some(result),
            () = self.keep_lease(&fence) => None,
        };
        metrics.attempt_ended(started.elapsed(), &span);
        if let Some(result) = &result {
            metrics.scrape_outcome(result.as_ref().map_or_else(|e| e.code(), |_| "ok"));
        }
        let updated = match result {
            None => {
                tracing::warn!(parent: &span, job.id = %job.id, attempt = job.attempts,
                    "the job's lease was lost (taken over by another worker); attempt abandoned");
                pkg_tracing::record_error(&span, "lease_lost", &LeaseLost);
                Ok(None)
            }
            Some(Ok(outcome)) => {
                self.queue.store.finish_job(&fence, &outcome.document.id).instrument(span.clone()).await
            }
            Some(Err(error)) => self.fail(&job, &fence, &span, error).instrument(span.clone()).await,
        };
        self.in_progress.borrow_mut().remove(&job.id);
        match updated {
            Ok(Some(job)) => {
                metrics.job_updated(&job);
                self.queue.publish(JobEvent::status(&job));
            }
            // Refused by the fence: logged where it was refused.
            Ok(None) => {}
            Err(error) => tracing::error!(job.id = %job.id, %error, "could not record the job's outcome"),
        }
    }

    /// Renews the lease every third of its length; returns only once it is lost.
    async fn keep_lease(&self, fence: &Fence) {
        loop {
            actix_web::rt::time::sleep(self.settings.lease / 3).await;
            match self.queue.store.renew_lease(fence, self.settings.lease, None).await {
                Ok(Some(_)) => {}
                Ok(None) => return,
                // A store hiccup is not a lost lease: try again at the next beat.
                Err(error) => tracing::warn!(job.id = %fence.id, %error, "could not renew the lease"),
            }
        }
    }

    async fn fail(
        &self,
        job: &Job,
        fence: &Fence,
        span: &tracing::Span,
        error: ApiError,
    ) -> Result<Option<Job>, sqlx::Error> {
        pkg_tracing::record_error(span, error.code(), &error);
        let retry = is_transient(&error) && job.attempts < job.max_attempts;
        let delay = backoff(self.settings.retry_base, job.attempts);
        let retry_at = retry.then(|| pkg_service::time::after(delay));
        if retry {
            tracing::warn!(job.id = %job.id, attempt = job.attempts, error = %error, "attempt failed; retrying");
            // The cause is the error's code: its message may quote the page's URL.
            tracing::event!(
                name: "job.retry_scheduled", tracing::Level::INFO,
                job.attempt = job.attempts,
                job.retry_delay_ms = delay.as_millis() as i64,
                error.type = error.code(),
            );
        } else {
            tracing::error!(job.id = %job.id, attempt = job.attempts, error = %error, "job failed");
        }
        self.queue.store.fail_attempt(fence, error.code(), error.message(), retry_at).await
    }
}

/// `job.run` for one attempt: the child of the submitting request's span (carried on the row
/// as `traceparent`, `tracestate` and `baggage`), so every attempt, on any replica, joins that
/// trace; and linked to the previous attempt's `job.run`, so a reader can walk the attempts.
fn run_span(job: &Job) -> tracing::Span {
    let carried: HashMap<String, String> =
        [("traceparent", &job.traceparent), ("tracestate", &job.tracestate), ("baggage", &job.baggage)]
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
        job.lease_owner = job.lease_owner.as_deref().unwrap_or_default(),
        url.full = %pkg_tracing::redact_url_str(&job.url),
        url.domain = %NormalizedUrl::parse(&job.url).map(|u| u.domain()).unwrap_or_default(),
    );
    // A carried context that cannot be continued is logged, never silently a new root.
    pkg_tracing::continue_trace(&span, &carried);
    if let Some(previous) = &job.run_span {
        let headers = HashMap::from([("traceparent".to_owned(), previous.clone())]);
        let previous = pkg_tracing::context_from_headers(&headers).span().span_context().clone();
        if previous.is_valid() {
            span.add_link(previous);
        }
    }
    span
}

#[derive(Debug, thiserror::Error)]
#[error("the job's lease was lost to another worker")]
struct LeaseLost;

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
