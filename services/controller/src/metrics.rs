//! The controller's own series, next to the shared HTTP and process ones: the job queue and
//! the outcomes of scrapes. Job counts by status and the oldest queued job's age are read from
//! the store at each scrape (all replicas sharing a store report the same values: aggregate
//! them with `max`, not `sum`).

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use pkg_tracing::metrics::{DURATION_BUCKETS, ScrapeHook, TraceExemplar};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::exemplar::HistogramWithExemplars;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::store::{Job, JobStatus, Store};

/// Queue waits run from milliseconds to the retry backoff's minute and beyond.
const QUEUE_WAIT_BUCKETS: [f64; 12] = [0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0];

/// Every code a scrape may end with; any other (a callee's new code) counts as `other`, so
/// the label's values stay a fixed set.
const OUTCOME_CODES: [&str; 17] = [
    "ok",
    "invalid_url",
    "destination_blocked",
    "page_too_large",
    "page_too_complex",
    "not_html",
    "text_too_large",
    "upstream_error",
    "upstream_timeout",
    "scraper_unavailable",
    "scraper_timeout",
    "scraper_error",
    "analyzer_unavailable",
    "analyzer_timeout",
    "analyzer_error",
    "overloaded",
    "internal_error",
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Status {
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Code {
    code: &'static str,
}

/// Cheap to clone; shared by the HTTP workers and the job workers.
#[derive(Clone, Debug)]
pub struct ControllerMetrics {
    jobs: Family<Status, Gauge>,
    oldest_queued: Gauge<f64, AtomicU64>,
    queue_wait: HistogramWithExemplars<TraceExemplar>,
    run_duration: HistogramWithExemplars<TraceExemplar>,
    attempts: Counter,
    retries: Counter,
    completed: Family<Status, Counter>,
    scrape_outcomes: Family<Code, Counter>,
}

impl ControllerMetrics {
    pub fn register(registry: &mut Registry) -> Self {
        let m = Self {
            jobs: Family::default(),
            oldest_queued: Gauge::default(),
            queue_wait: HistogramWithExemplars::new(QUEUE_WAIT_BUCKETS.into_iter()),
            run_duration: HistogramWithExemplars::new(DURATION_BUCKETS.into_iter()),
            attempts: Counter::default(),
            retries: Counter::default(),
            completed: Family::default(),
            scrape_outcomes: Family::default(),
        };
        registry.register("skein_jobs", "Jobs in the store, by status", m.jobs.clone());
        registry.register(
            "skein_job_oldest_queued_age_seconds",
            "How long the oldest due queued job has waited (0: none waiting)",
            m.oldest_queued.clone(),
        );
        registry.register(
            "skein_job_queue_wait_seconds",
            "From a job becoming due (submitted, or its retry time) to a worker taking it",
            m.queue_wait.clone(),
        );
        registry.register(
            "skein_job_run_duration_seconds",
            "Duration of one job attempt (the pipeline run)",
            m.run_duration.clone(),
        );
        registry.register("skein_job_attempts", "Job attempts started", m.attempts.clone());
        registry.register("skein_job_retries", "Failed attempts queued again for a retry", m.retries.clone());
        registry.register(
            "skein_jobs_completed",
            "Jobs that ended, by status (succeeded or failed)",
            m.completed.clone(),
        );
        registry.register(
            "skein_scrape_outcomes",
            "Pipeline runs (POST /api/v1/scrape and job attempts), by outcome: ok or the error code",
            m.scrape_outcomes.clone(),
        );
        for status in JobStatus::ALL {
            m.jobs.get_or_create(&Status { status: status.as_str() }).set(0);
        }
        for status in ["succeeded", "failed"] {
            let _ = m.completed.get_or_create(&Status { status });
        }
        m
    }

    /// Reads job counts and the oldest queued job from `store` before every scrape.
    pub fn refresh_before_scrape(&self, store: Store) -> ScrapeHook {
        let metrics = self.clone();
        Arc::new(move || {
            let (metrics, store) = (metrics.clone(), store.clone());
            Box::pin(async move { metrics.refresh(&store).await })
        })
    }

    async fn refresh(&self, store: &Store) {
        match store.job_stats().await {
            Ok(stats) => {
                for status in JobStatus::ALL {
                    let count =
                        stats.counts.iter().find(|(s, _)| s == status.as_str()).map_or(0, |(_, n)| *n);
                    self.jobs.get_or_create(&Status { status: status.as_str() }).set(count);
                }
                let age = stats.oldest_due_queued.as_deref().map_or(0, pkg_service::time::millis_since);
                self.oldest_queued.set(age as f64 / 1e3);
            }
            // The last values stay; the scrape itself must not fail over the store.
            Err(error) => tracing::warn!(%error, "could not read job counts for /metrics"),
        }
    }

    /// A worker took `job`; `span` is the attempt's `job.run`.
    pub fn attempt_started(&self, job: &Job, span: &tracing::Span) {
        self.attempts.inc();
        let waited = pkg_service::time::millis_since(&job.run_after) as f64 / 1e3;
        observe(&self.queue_wait, waited, TraceExemplar::of_span(span));
    }

    pub fn attempt_ended(&self, took: Duration, span: &tracing::Span) {
        observe(&self.run_duration, took.as_secs_f64(), TraceExemplar::of_span(span));
    }

    /// A job row after an attempt's outcome was written: ended, or queued again to retry.
    pub fn job_updated(&self, job: &Job) {
        match job.status() {
            JobStatus::Succeeded => self.completed.get_or_create(&Status { status: "succeeded" }).inc(),
            JobStatus::Failed => self.completed.get_or_create(&Status { status: "failed" }).inc(),
            JobStatus::Queued => self.retries.inc(),
            JobStatus::Running | JobStatus::Cancelled => 0,
        };
    }

    /// A pipeline run ended with `code` (`ok` or an error code).
    pub fn scrape_outcome(&self, code: &str) {
        let code = OUTCOME_CODES.into_iter().find(|c| *c == code).unwrap_or("other");
        self.scrape_outcomes.get_or_create(&Code { code }).inc();
    }
}

fn observe(histogram: &HistogramWithExemplars<TraceExemplar>, value: f64, exemplar: Option<TraceExemplar>) {
    let time = exemplar.as_ref().map(|_| std::time::SystemTime::now());
    histogram.observe(value, exemplar, time);
}
