//! The scheduler's own series, next to the shared HTTP and process ones.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Outcome {
    /// `queued` or `failed`.
    outcome: &'static str,
}

/// Cheap to clone.
#[derive(Clone, Debug)]
pub struct SchedulerMetrics {
    ticks_fired: Counter,
    ticks_missed: Counter,
    runs: Family<Outcome, Counter>,
}

impl SchedulerMetrics {
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self {
            ticks_fired: Counter::default(),
            ticks_missed: Counter::default(),
            runs: Family::default(),
        };
        registry.register(
            "skein_schedule_ticks_fired",
            "Cron ticks this replica claimed and ran (each tick runs on one replica)",
            metrics.ticks_fired.clone(),
        );
        registry.register(
            "skein_schedule_ticks_missed",
            "Cron fire times skipped because the run loop was behind (missed ticks are not run in a burst)",
            metrics.ticks_missed.clone(),
        );
        registry.register(
            "skein_schedule_runs",
            "Schedule runs (ticks and POST .../run), by outcome: queued (the controller took the job) or failed",
            metrics.runs.clone(),
        );
        // Both outcomes exist from the start, so a rate over them is never absent.
        for outcome in ["queued", "failed"] {
            let _ = metrics.runs.get_or_create(&Outcome { outcome });
        }
        metrics
    }

    pub fn tick_fired(&self, missed_before: u64) {
        self.ticks_fired.inc();
        self.ticks_missed.inc_by(missed_before);
    }

    pub fn run(&self, queued: bool) {
        let outcome = if queued { "queued" } else { "failed" };
        self.runs.get_or_create(&Outcome { outcome }).inc();
    }
}
