//! Span exporters around the SDK: one that runs exports on Skein's own telemetry runtime and
//! reports failures without flooding the logs, and a console exporter for a quick look.

use std::fmt;
use std::io::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use opentelemetry::trace::Status;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

/// While exports keep failing, repeat the warning at most this often.
const REPEAT_WARNING_EVERY: Duration = Duration::from_secs(60);

/// Counts of what the exporter has done since start; read by benchmarks and tests.
#[derive(Debug, Default)]
pub struct ExportStats {
    exported: AtomicU64,
    lost: AtomicU64,
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

    fn record(&self, spans: u64, result: &OTelSdkResult) {
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

/// Runs every export of `inner` on the telemetry runtime, whichever thread the batch processor
/// calls from. The gRPC client needs a Tokio reactor, and actix's single-threaded runtime must
/// never be the one a flush waits on (it would deadlock or time out).
pub(crate) struct OnRuntime<E> {
    inner: Arc<E>,
    runtime: tokio::runtime::Handle,
    stats: Arc<ExportStats>,
}

impl<E> OnRuntime<E> {
    pub(crate) fn new(inner: E, runtime: tokio::runtime::Handle, stats: Arc<ExportStats>) -> Self {
        Self { inner: Arc::new(inner), runtime, stats }
    }
}

impl<E> fmt::Debug for OnRuntime<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OnRuntime")
    }
}

impl<E: SpanExporter + 'static> SpanExporter for OnRuntime<E> {
    fn export(&self, batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
        let spans = batch.len() as u64;
        let inner = Arc::clone(&self.inner);
        let task = self.runtime.spawn(async move { inner.export(batch).await });
        let stats = Arc::clone(&self.stats);
        async move {
            let result = task
                .await
                .unwrap_or_else(|e| Err(OTelSdkError::InternalFailure(format!("export task failed: {e}"))));
            stats.record(spans, &result);
            result
        }
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        let _entered = self.runtime.enter();
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        let _entered = self.runtime.enter();
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        // The provider hands the resource over before the first export, while this is the only
        // owner of `inner`.
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.set_resource(resource);
        }
    }
}

/// `OTEL_TRACES_EXPORTER=console`: one line per finished span on standard error.
#[derive(Debug, Default)]
pub(crate) struct ConsoleExporter {
    service: String,
}

impl ConsoleExporter {
    pub(crate) fn new(service: &str) -> Self {
        Self { service: service.to_owned() }
    }
}

impl SpanExporter for ConsoleExporter {
    fn export(&self, batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
        let mut out = std::io::stderr().lock();
        for span in &batch {
            let took = span.end_time.duration_since(span.start_time).unwrap_or_default();
            let status = match &span.status {
                Status::Unset => "unset".to_owned(),
                Status::Ok => "ok".to_owned(),
                Status::Error { description } => format!("error: {description}"),
            };
            let _ = writeln!(
                out,
                "span trace_id={} span_id={} parent={} service={} kind={:?} name={:?} duration_ms={:.3} status={:?} at={}",
                span.span_context.trace_id(),
                span.span_context.span_id(),
                span.parent_span_id,
                self.service,
                span.span_kind,
                span.name,
                took.as_secs_f64() * 1e3,
                status,
                span.start_time.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_millis(),
            );
        }
        std::future::ready(Ok(()))
    }
}
