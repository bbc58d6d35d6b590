//! Running schedules: the loop that sleeps until the next fire time, and the run itself.

use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use pkg_api::{ApiError, ScrapeOrder};
use pkg_tracing::InternalClient;
use serde_json::Value;
use tokio::sync::{Notify, watch};
use tracing::Instrument as _;
use tracing::field::Empty;

use crate::cron::CronSpec;
use crate::store::{RunRecord, Schedule, Store};

/// With no enabled schedule, the loop still wakes this often.
const IDLE_RECHECK: Duration = Duration::from_secs(300);

/// Queues a job for `schedule` at the controller and records the outcome and the next run.
/// Runs in the current span: the caller decides whether that is a new root (a tick) or the
/// `POST .../run` request.
pub async fn trigger(
    store: &Store,
    controller: &InternalClient,
    schedule: &Schedule,
) -> Result<Value, ApiError> {
    let order = ScrapeOrder { url: schedule.url.clone(), force: true };
    let reply = controller.post_json("/api/v1/jobs", &order).await;
    let outcome: Result<Value, ApiError> = pkg_service::downstream::interpret("controller", reply);
    let at = pkg_service::time::now();
    let record = RunRecord {
        at: &at,
        error: outcome.as_ref().err().map(|e| format!("{}: {}", e.code(), e.message())),
        job_id: outcome.as_ref().ok().and_then(|job| job["id"].as_str()).map(str::to_owned),
        next_run_at: next_run(schedule),
    };
    if let Err(error) = store.record_run(&schedule.id, record).await {
        tracing::error!(%error, schedule.id = %schedule.id, "could not record the run");
    }
    match &outcome {
        Ok(job) => {
            tracing::info!(schedule.name = %schedule.name, job.id = %job["id"], "schedule queued a job")
        }
        Err(error) => {
            pkg_tracing::record_error(&tracing::Span::current(), error.code(), error);
            tracing::warn!(schedule.name = %schedule.name, %error, "schedule run failed");
        }
    }
    outcome
}

/// The schedule's first fire time after now, if it is enabled and fires again.
pub fn next_run(schedule: &Schedule) -> Option<String> {
    if !schedule.enabled {
        return None;
    }
    CronSpec::parse(&schedule.cron, &schedule.timezone)
        .ok()
        .and_then(|spec| spec.next_after(Timestamp::now()))
        .map(pkg_service::time::format_ts)
}

/// The span of one run. A tick has no request to belong to, so it is a root: each run is its
/// own trace, which the controller, scraper and analyzer then continue.
pub fn run_span(schedule: &Schedule, root: bool) -> tracing::Span {
    if root {
        tracing::info_span!(parent: None, "schedule.run", otel.name = "schedule.run", otel.status_code = Empty,
            schedule.id = %schedule.id, schedule.name = %schedule.name, schedule.cron = %schedule.cron,
            schedule.trigger = "cron", url.full = %pkg_tracing::redact_url_str(&schedule.url))
    } else {
        tracing::info_span!("schedule.run", otel.name = "schedule.run", otel.status_code = Empty,
            schedule.id = %schedule.id, schedule.name = %schedule.name, schedule.cron = %schedule.cron,
            schedule.trigger = "manual", url.full = %pkg_tracing::redact_url_str(&schedule.url))
    }
}

/// The run loop: one task, sleeping until the earliest next run (or until a change wakes it).
pub struct Runner {
    pub store: Store,
    pub controller: InternalClient,
    pub wake: Arc<Notify>,
}

impl Runner {
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let controller = Rc::new(self.controller);
        while !*stop.borrow() {
            let now = pkg_service::time::now();
            match self.store.due(&now).await {
                Ok(due) => {
                    for schedule in due {
                        // Move the schedule's next run on before the run starts, so the next
                        // pass of this loop cannot see it due again and run it twice.
                        if let Err(error) = self.store.advance(&schedule.id, next_run(&schedule)).await {
                            tracing::error!(%error, schedule.id = %schedule.id, "could not advance the schedule");
                            continue;
                        }
                        let (store, controller) = (self.store.clone(), Rc::clone(&controller));
                        // Runs proceed side by side: one slow controller call delays no other schedule.
                        actix_web::rt::spawn(async move {
                            let span = run_span(&schedule, true);
                            let _ = trigger(&store, &controller, &schedule).instrument(span).await;
                        });
                    }
                }
                Err(error) => tracing::error!(%error, "could not read due schedules"),
            }
            let wait = match self.store.next_due().await {
                Ok(Some(at)) => pkg_service::time::until(&at).clamp(Duration::from_millis(50), IDLE_RECHECK),
                Ok(None) => IDLE_RECHECK,
                Err(_) => Duration::from_secs(1),
            };
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = actix_web::rt::time::sleep(wait) => {}
                _ = stop.changed() => {}
            }
        }
    }
}
