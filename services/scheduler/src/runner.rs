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
use crate::metrics::SchedulerMetrics;
use crate::store::{RunRecord, Schedule, Store};

/// The loop re-reads the schedules at least this often, due or not. A `POST`/`PUT` on this
/// replica wakes it at once; one made on another replica (which shares the database) is seen
/// within this interval, so a new or moved-forward schedule never waits minutes for its first
/// tick on the other replicas.
const IDLE_RECHECK: Duration = Duration::from_secs(2);

/// Forgotten after this long, tick claims only guard against double runs of recent ticks.
const TICK_MEMORY: Duration = Duration::from_secs(24 * 3600);
/// How often the run loop forgets old tick claims.
const PRUNE_EVERY: Duration = Duration::from_secs(600);

/// Queues a job for `schedule` at the controller and records the outcome. Runs in the current
/// span: the caller decides whether that is a new root (a tick) or the `POST .../run` request.
/// A tick passes its `idempotency_key`, so a retried call can never queue a second job.
pub async fn trigger(
    store: &Store,
    controller: &InternalClient,
    metrics: &SchedulerMetrics,
    schedule: &Schedule,
    idempotency_key: Option<String>,
) -> Result<Value, ApiError> {
    let order = ScrapeOrder { url: schedule.url.clone(), force: true };
    let headers: Vec<(&'static str, String)> =
        idempotency_key.into_iter().map(|key| ("idempotency-key", key)).collect();
    let reply = controller.post_json_with_headers("/api/v1/jobs", &order, &headers).await;
    let outcome: Result<Value, ApiError> =
        pkg_service::downstream::interpret(pkg_service::downstream::Callee::CONTROLLER, reply);
    metrics.run(outcome.is_ok());
    let at = pkg_service::time::now();
    let record = RunRecord {
        at: &at,
        error: outcome.as_ref().err().map(|e| format!("{}: {}", e.code(), e.message())),
        job_id: outcome.as_ref().ok().and_then(|job| job["id"].as_str()).map(str::to_owned),
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

/// The schedule's first fire time after its nominal time `fired` (or after now, if the loop is
/// behind: missed ticks are not run in a burst), if it is enabled and fires again.
pub fn next_run(schedule: &Schedule, fired: &str) -> Option<String> {
    if !schedule.enabled {
        return None;
    }
    let after = fired.parse::<Timestamp>().map_or(Timestamp::now(), |t| t.max(Timestamp::now()));
    CronSpec::parse(&schedule.cron, &schedule.timezone)
        .ok()
        .and_then(|spec| spec.next_after(after))
        .map(pkg_service::time::format_ts)
}

/// Fire times of `schedule` after `fired` that have passed already: the loop was behind, and
/// [`next_run`] skips them. At most 1000 are counted.
fn missed_ticks(schedule: &Schedule, fired: &str) -> u64 {
    let (Ok(spec), Ok(mut at)) =
        (CronSpec::parse(&schedule.cron, &schedule.timezone), fired.parse::<Timestamp>())
    else {
        return 0;
    };
    let now = Timestamp::now();
    let mut missed = 0;
    while missed < 1000 {
        match spec.next_after(at) {
            Some(next) if next < now => {
                missed += 1;
                at = next;
            }
            _ => break,
        }
    }
    missed
}

/// The `Idempotency-Key` of a tick: the same for every replica that sees it.
pub fn tick_key(schedule_id: &str, fire_at: &str) -> String {
    format!("schedule:{schedule_id}:{fire_at}")
}

/// The span of one run. A tick has no request to belong to, so it is a root: each run is its
/// own trace, which the controller, scraper and analyzer then continue.
pub fn run_span(schedule: &Schedule, root: bool) -> tracing::Span {
    if root {
        tracing::info_span!(parent: None, "schedule.run", otel.name = "schedule.run", otel.status_code = Empty,
            schedule.id = %schedule.id, schedule.name = %schedule.name, schedule.cron = %schedule.cron,
            schedule.trigger = "cron", schedule.fire_at = Empty, url.full = %pkg_tracing::redact_url_str(&schedule.url))
    } else {
        tracing::info_span!("schedule.run", otel.name = "schedule.run", otel.status_code = Empty,
            schedule.id = %schedule.id, schedule.name = %schedule.name, schedule.cron = %schedule.cron,
            schedule.trigger = "manual", url.full = %pkg_tracing::redact_url_str(&schedule.url))
    }
}

/// The run loop: one task, sleeping until the earliest next run (or until a change wakes it).
/// Any number of scheduler processes may run it against one store: each tick runs once.
pub struct Runner {
    pub store: Store,
    pub controller: InternalClient,
    pub wake: Arc<Notify>,
    /// This process's name in tick claims: unique per process.
    pub owner: String,
    pub metrics: SchedulerMetrics,
}

impl Runner {
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let Runner { store, controller, wake, owner, metrics } = self;
        let controller = Rc::new(controller);
        let mut pruned_at: Option<std::time::Instant> = None;
        while !*stop.borrow() {
            let now = pkg_service::time::now();
            match store.due(&now).await {
                Ok(due) => {
                    for schedule in due {
                        let Some(fire_at) = schedule.next_run_at.clone() else { continue };
                        if tick(&store, &owner, &schedule, &fire_at).await {
                            metrics.tick_fired(missed_ticks(&schedule, &fire_at));
                            let (store, controller, metrics) =
                                (store.clone(), Rc::clone(&controller), metrics.clone());
                            // Runs proceed side by side: one slow controller call delays no other schedule.
                            actix_web::rt::spawn(run_tick(store, controller, metrics, schedule, fire_at));
                        }
                    }
                }
                Err(error) => tracing::error!(%error, "could not read due schedules"),
            }
            if pruned_at.is_none_or(|at| at.elapsed() >= PRUNE_EVERY) {
                pruned_at = Some(std::time::Instant::now());
                let before = Timestamp::now()
                    .checked_sub(jiff::SignedDuration::try_from(TICK_MEMORY).unwrap_or_default());
                if let Ok(before) = before
                    && let Err(error) = store.prune_ticks(&pkg_service::time::format_ts(before)).await
                {
                    tracing::warn!(%error, "could not forget old ticks");
                }
            }
            let wait = match store.next_due().await {
                Ok(Some(at)) => pkg_service::time::until(&at).clamp(Duration::from_millis(50), IDLE_RECHECK),
                Ok(None) => IDLE_RECHECK,
                Err(_) => Duration::from_secs(1),
            };
            pkg_service::wait::idle(&wake, wait, &mut stop).await;
        }
    }
}

/// One due tick: claims it for `owner` (only one replica wins), and moves the schedule on
/// whether or not this replica won (so a winner that died before moving it does not stall it).
/// True if this replica is to run the tick.
async fn tick(store: &Store, owner: &str, schedule: &Schedule, fire_at: &str) -> bool {
    let won = match store.claim_tick(&schedule.id, fire_at, owner).await {
        Ok(won) => won,
        Err(error) => {
            tracing::error!(%error, schedule.id = %schedule.id, "could not claim the tick");
            return false;
        }
    };
    // Compare-and-set on (version, next_run_at): a PUT that landed since the read stands.
    match store.advance(&schedule.id, schedule.version, fire_at, next_run(schedule, fire_at)).await {
        Ok(true) => {}
        Ok(false) => {
            tracing::debug!(schedule.id = %schedule.id, "the schedule changed meanwhile; its stored next run stands")
        }
        Err(error) => tracing::error!(%error, schedule.id = %schedule.id, "could not advance the schedule"),
    }
    won
}

/// Runs a tick this replica won, as a root span. The schedule is read again first, so a PUT
/// made since the loop read it applies to this run (and a deleted or disabled one does not run).
async fn run_tick(
    store: Store,
    controller: Rc<InternalClient>,
    metrics: SchedulerMetrics,
    seen: Schedule,
    fire_at: String,
) {
    let span = run_span(&seen, true);
    span.record("schedule.fire_at", fire_at.as_str());
    let key = tick_key(&seen.id, &fire_at);
    let run = async {
        match store.get(&seen.id).await {
            Ok(Some(current)) if current.enabled => {
                let _ = trigger(&store, &controller, &metrics, &current, Some(key)).await;
            }
            Ok(_) => {
                tracing::info!(schedule.id = %seen.id, "the schedule was disabled or deleted before its tick ran")
            }
            Err(error) => {
                pkg_tracing::record_error(&tracing::Span::current(), "store_error", &error);
                tracing::error!(%error, schedule.id = %seen.id, "could not read the schedule to run");
            }
        }
    };
    run.instrument(span).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_minute() -> Schedule {
        Schedule {
            id: "s".into(),
            name: "n".into(),
            cron: "* * * * *".into(),
            timezone: "UTC".into(),
            url: "http://example.com/".into(),
            enabled: true,
            last_run_at: None,
            last_status: None,
            last_error: None,
            last_job_id: None,
            next_run_at: None,
            created_at: String::new(),
            updated_at: String::new(),
            version: 1,
        }
    }

    #[test]
    fn missed_ticks_are_the_fire_times_already_past() {
        let schedule = every_minute();
        let ago = |minutes: i64| {
            let at = Timestamp::now() - jiff::SignedDuration::from_secs(minutes * 60 + 1);
            pkg_service::time::format_ts(at)
        };
        // Fired 10 minutes (and a second) ago: the nine or ten minute marks since are missed.
        let missed = missed_ticks(&schedule, &ago(10));
        assert!((9..=10).contains(&missed), "{missed}");
        assert_eq!(missed_ticks(&schedule, &pkg_service::time::now()), 0, "a tick on time misses nothing");
        assert_eq!(missed_ticks(&schedule, "not a time"), 0);
    }
}
