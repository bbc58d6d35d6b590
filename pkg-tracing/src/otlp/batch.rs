//! The OTLP span processor: each finished span is encoded on the thread that ended it and
//! queued as bytes; a task on the telemetry runtime sends the queue, a request per batch.
//!
//! Why not the SDK's batch processor: it hands each `SpanData` (a dozen heap strings) to its
//! own thread and from there to the exporter's, which reads every string from another core's
//! cache and frees it into another thread's heap arena. Under load that was ~2 µs per span on
//! the export thread (BENCHMARKS.md), where encoding the same span on the thread that made
//! it, while its data is still in that core's cache, costs a fraction of that.
//!
//! The batching rules are the SDK's: at most `OTEL_BSP_MAX_QUEUE_SIZE` spans wait (more are
//! dropped and counted), at most `OTEL_BSP_MAX_EXPORT_BATCH_SIZE` go in one request, a full
//! batch is sent at once and the rest every `OTEL_BSP_SCHEDULE_DELAY`; flush and shutdown send
//! everything. While the collector is unreachable (see [`Breaker`]), spans are dropped before
//! they are encoded: an outage costs a counter increment per span, nothing more.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, mpsc};
use std::time::{Duration, Instant};

use opentelemetry_sdk::error::OTelSdkError;

use super::OtlpExporter;
use super::encode::{SpanEntries, encode_span};
use crate::exporter::{Breaker, ExportStats};
use crate::spans::record::{Recording, SpanRecord};

/// How spans are batched (from `OTEL_BSP_*`, see [`crate::TelemetryConfig`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct BatchSettings {
    pub(crate) max_queue: usize,
    pub(crate) max_batch: usize,
    pub(crate) delay: Duration,
    pub(crate) export_timeout: Duration,
}

/// The span layer hands it every sampled span that ends; its export task runs on the telemetry
/// runtime from the start.
pub(crate) struct EncodingProcessor {
    shared: Arc<Shared>,
}

struct Shared {
    queue: Mutex<Queue>,
    /// Wakes the export task: a batch is full, or a flush or shutdown waits.
    wake: tokio::sync::Notify,
    /// Off while the collector is known to be unreachable, and after shutdown: ended spans are
    /// then counted in `dropped`, never encoded.
    accepting: AtomicBool,
    /// Spans dropped unencoded since the export task last reported them.
    dropped: AtomicU64,
    stats: Arc<ExportStats>,
    settings: BatchSettings,
}

#[derive(Default)]
struct Queue {
    /// The batch being filled.
    filling: SpanEntries,
    /// Batches that reached the batch size, oldest first.
    full: VecDeque<SpanEntries>,
    /// Spans in `filling` and `full`.
    queued: usize,
    /// Callers of flush or shutdown, answered once everything queued before they asked is sent.
    waiters: Vec<mpsc::Sender<()>>,
    shutdown: bool,
}

thread_local! {
    /// Each thread's span buffer: a span is encoded into it outside the queue's lock.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

impl EncodingProcessor {
    /// A processor whose export task sends through `exporter` on `runtime`.
    pub(crate) fn new(
        exporter: OtlpExporter,
        settings: BatchSettings,
        stats: Arc<ExportStats>,
        runtime: &tokio::runtime::Handle,
    ) -> Self {
        let shared = Arc::new(Shared {
            queue: Mutex::default(),
            wake: tokio::sync::Notify::new(),
            accepting: AtomicBool::new(true),
            dropped: AtomicU64::new(0),
            stats,
            settings,
        });
        runtime.spawn(export_task(Arc::clone(&shared), exporter));
        Self { shared }
    }

    /// Exports everything queued so far and waits for it, at most `timeout` (the export
    /// timeout by default).
    pub(crate) fn flush(&self, timeout: Option<Duration>) -> Result<(), String> {
        self.wait_for_export(timeout.unwrap_or(self.shared.settings.export_timeout), false)
    }

    /// Exports everything queued and accepts no more spans.
    pub(crate) fn shutdown(&self, timeout: Duration) -> Result<(), String> {
        self.wait_for_export(timeout, true)
    }

    /// Waits, at most `timeout`, until everything queued so far is sent (or given up on).
    fn wait_for_export(&self, timeout: Duration, shutdown: bool) -> Result<(), String> {
        let (answer, answered) = mpsc::channel();
        {
            let mut queue = lock(&self.shared.queue);
            if queue.shutdown {
                return Err("the span processor was already shut down".to_owned());
            }
            queue.shutdown = shutdown;
            queue.waiters.push(answer);
        }
        if shutdown {
            self.shared.accepting.store(false, Ordering::Relaxed);
        }
        self.shared.wake.notify_one();
        answered.recv_timeout(timeout).map_err(|_| format!("spans not sent within {timeout:?}"))
    }
}

impl fmt::Debug for EncodingProcessor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncodingProcessor").field("settings", &self.shared.settings).finish()
    }
}

impl EncodingProcessor {
    /// A sampled span ended at `end_nanos`: encoded here, on the thread that ended it, and queued.
    pub(crate) fn on_end(&self, record: &SpanRecord, recording: &Recording, end_nanos: u64) {
        let shared = &*self.shared;
        if !shared.accepting.load(Ordering::Relaxed) {
            shared.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let full = SCRATCH.with(|scratch| {
            // Encoding calls no tracing, so the buffer is never borrowed twice; a fresh one
            // would do if it were.
            let mut fresh = Vec::new();
            let mut borrowed = scratch.try_borrow_mut();
            let buf = borrowed.as_deref_mut().unwrap_or(&mut fresh);
            buf.clear();
            encode_span(buf, record, recording, end_nanos);
            let mut queue = lock(&shared.queue);
            if queue.shutdown {
                shared.dropped.fetch_add(1, Ordering::Relaxed);
                return false;
            }
            if queue.queued >= shared.settings.max_queue {
                drop(queue);
                shared.stats.record_queue_full(1);
                return false;
            }
            queue.filling.push_encoded(buf);
            queue.queued += 1;
            if queue.filling.len() < shared.settings.max_batch {
                return false;
            }
            let batch = std::mem::take(&mut queue.filling);
            queue.full.push_back(batch);
            true
        });
        if full {
            shared.wake.notify_one();
        }
    }
}

/// Sends full batches as they come, the filling one when the delay is up or someone waits,
/// and reopens the queue when a collector outage's cooldown ends.
async fn export_task(shared: Arc<Shared>, exporter: OtlpExporter) {
    let settings = shared.settings;
    let mut breaker = Breaker::default();
    let mut next_due = Instant::now() + settings.delay;
    loop {
        // Wake for a full batch, a waiter, the schedule, or the end of a cooldown.
        let cooldown_ends = breaker.open_until().filter(|&until| until > Instant::now());
        let wake_at = cooldown_ends.map_or(next_due, |until| until.min(next_due));
        tokio::select! {
            () = shared.wake.notified() => {}
            () = tokio::time::sleep_until(wake_at.into()) => {}
        }
        let now = Instant::now();
        let due = now >= next_due;
        if due {
            next_due = now + settings.delay;
        }
        let (batches, waiters, shutdown) = {
            let mut queue = lock(&shared.queue);
            let waiters = std::mem::take(&mut queue.waiters);
            let mut batches: Vec<SpanEntries> = queue.full.drain(..).collect();
            if (due || !waiters.is_empty()) && !queue.filling.is_empty() {
                batches.push(std::mem::take(&mut queue.filling));
            }
            queue.queued -= batches.iter().map(SpanEntries::len).sum::<usize>();
            (batches, waiters, queue.shutdown)
        };
        for batch in batches {
            let spans = batch.len() as u64;
            let result = if breaker.is_open(Instant::now()) {
                Err(OTelSdkError::InternalFailure(
                    "the collector was unreachable at the last try; batch dropped unsent".into(),
                ))
            } else {
                let result = match tokio::time::timeout(settings.export_timeout, exporter.export(batch)).await
                {
                    Ok(result) => result,
                    Err(_) => Err(OTelSdkError::Timeout(settings.export_timeout)),
                };
                breaker.record(result.is_ok(), Instant::now());
                result
            };
            if result.is_err() {
                shared.accepting.store(false, Ordering::Relaxed);
            }
            shared.stats.record(spans, &result);
        }
        // Spans that ended while the collector was unreachable: one failed batch per wake-up.
        let dropped = shared.dropped.swap(0, Ordering::Relaxed);
        if dropped > 0 {
            let unsent = Err(OTelSdkError::InternalFailure(
                "the collector was unreachable at the last try; spans dropped unencoded".into(),
            ));
            shared.stats.record(dropped, &unsent);
        }
        if !shutdown && !breaker.is_open(Instant::now()) {
            shared.accepting.store(true, Ordering::Relaxed);
        }
        for waiter in waiters {
            let _ = waiter.send(());
        }
        if shutdown {
            return;
        }
    }
}

/// A poisoned lock still holds a consistent queue (every update is one assignment or push).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
#[path = "batch_tests.rs"]
mod tests;
