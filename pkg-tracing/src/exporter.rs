//! What the OTLP export has done ([`ExportStats`], failures reported without flooding the logs),
//! and when it is worth trying the collector again ([`Breaker`]).

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use opentelemetry_sdk::error::OTelSdkResult;

/// While exports keep failing, repeat the warning at most this often.
const REPEAT_WARNING_EVERY: Duration = Duration::from_secs(60);
/// After a failed export, batches are dropped unsent for this long before the next one is
/// tried, doubling while the collector stays unreachable, up to [`MAX_COOLDOWN`]: an outage
/// costs no encoding, no connection attempt and no retry per batch.
const FIRST_COOLDOWN: Duration = Duration::from_secs(1);
/// The longest pause between tries: spans are exported again at most this long after the
/// collector is back.
const MAX_COOLDOWN: Duration = Duration::from_secs(10);

/// Counts of what the exporter has done since start; read by benchmarks and tests.
#[derive(Debug, Default)]
pub struct ExportStats {
    exported: AtomicU64,
    lost: AtomicU64,
    queue_full_said: AtomicBool,
    failed: AtomicU64,
    outage: Mutex<Option<Outage>>,
}

#[derive(Debug)]
struct Outage {
    failed_batches: u64,
    lost_spans: u64,
    last_warning: Instant,
}

impl ExportStats {
    /// Spans the collector accepted.
    pub fn exported_spans(&self) -> u64 {
        self.exported.load(Ordering::Relaxed)
    }

    /// Spans in batches the collector did not accept.
    pub fn lost_spans(&self) -> u64 {
        self.lost.load(Ordering::Relaxed)
    }

    /// Exports (batches) that failed.
    pub fn failed_exports(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }

    /// Spans dropped because the queue was full: lost as surely as a failed export's, and
    /// said once, the first time (the count is in the `/metrics` of every service).
    pub(crate) fn record_queue_full(&self, spans: u64) {
        self.lost.fetch_add(spans, Ordering::Relaxed);
        if !self.queue_full_said.swap(true, Ordering::Relaxed) {
            tracing::warn!("the span queue is full; spans are dropped until the collector catches up");
        }
    }

    pub(crate) fn record(&self, spans: u64, result: &OTelSdkResult) {
        let mut outage = self.outage.lock().unwrap_or_else(|p| p.into_inner());
        match result {
            Ok(()) => {
                self.exported.fetch_add(spans, Ordering::Relaxed);
                if let Some(ended) = outage.take() {
                    tracing::info!(
                        failed_batches = ended.failed_batches,
                        lost_spans = ended.lost_spans,
                        "span export recovered"
                    );
                }
            }
            Err(error) => {
                self.lost.fetch_add(spans, Ordering::Relaxed);
                self.failed.fetch_add(1, Ordering::Relaxed);
                // One warning when an outage starts, then one a minute: never one per span.
                match outage.as_mut() {
                    None => {
                        tracing::warn!(%error, lost_spans = spans, "span export failed; spans are dropped until the collector is reachable");
                        *outage = Some(Outage {
                            failed_batches: 1,
                            lost_spans: spans,
                            last_warning: Instant::now(),
                        });
                    }
                    Some(o) => {
                        o.failed_batches += 1;
                        o.lost_spans += spans;
                        if o.last_warning.elapsed() >= REPEAT_WARNING_EVERY {
                            o.last_warning = Instant::now();
                            tracing::warn!(%error, failed_batches = o.failed_batches, lost_spans = o.lost_spans, "span export still failing");
                        }
                    }
                }
            }
        }
    }
}

/// Whether the collector is worth trying: closed while exports succeed; open for a cooldown
/// after a failure, then the next batch is the probe.
#[derive(Debug, Default)]
pub(crate) struct Breaker {
    open_until: Option<Instant>,
    cooldown: Duration,
}

impl Breaker {
    pub(crate) fn is_open(&self, now: Instant) -> bool {
        self.open_until.is_some_and(|until| now < until)
    }

    /// When the cooldown ends, while it runs.
    pub(crate) fn open_until(&self) -> Option<Instant> {
        self.open_until
    }

    pub(crate) fn record(&mut self, succeeded: bool, now: Instant) {
        if succeeded {
            *self = Breaker::default();
        } else {
            self.cooldown =
                if self.cooldown.is_zero() { FIRST_COOLDOWN } else { (self.cooldown * 2).min(MAX_COOLDOWN) };
            self.open_until = Some(now + self.cooldown);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_breaker_opens_on_failure_doubles_its_cooldown_and_closes_on_success() {
        let t0 = Instant::now();
        let mut breaker = Breaker::default();
        assert!(!breaker.is_open(t0), "closed until something fails");

        breaker.record(false, t0);
        assert!(breaker.is_open(t0 + FIRST_COOLDOWN - Duration::from_millis(1)));
        assert!(!breaker.is_open(t0 + FIRST_COOLDOWN), "the next batch after the cooldown is the probe");

        let probe = t0 + FIRST_COOLDOWN;
        breaker.record(false, probe);
        assert!(breaker.is_open(probe + FIRST_COOLDOWN), "a failed probe doubles the cooldown");
        assert!(!breaker.is_open(probe + FIRST_COOLDOWN * 2));

        for _ in 0..10 {
            breaker.record(false, probe);
        }
        assert_eq!(breaker.cooldown, MAX_COOLDOWN, "capped");

        breaker.record(true, probe);
        assert!(!breaker.is_open(probe), "a success closes it");
        breaker.record(false, probe);
        assert_eq!(breaker.cooldown, FIRST_COOLDOWN, "and starts the next outage from the first cooldown");
    }
}
