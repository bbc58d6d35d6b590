//! `init`: the one call a service makes to set up traces and logs, and the guard that flushes
//! them on every way out.

use std::sync::Arc;

use std::time::Duration;

use opentelemetry::propagation::TextMapCompositePropagator;
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};

use tracing_subscriber::filter::{EnvFilter, filter_fn};
use tracing_subscriber::layer::SubscriberExt as _;

use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{Layer, Registry};

use crate::ask_every_time::AskEveryTime;
use crate::config::{ConfigError, ExporterKind, LogFormat, TelemetryConfig};
use crate::current_context::OwnDispatch;
use crate::exporter::ExportStats;
use crate::logs::{JsonLines, NoSpanFields};
use crate::otlp::{BatchSettings, EncodingProcessor, OtlpExporter};
use crate::spans::{SpanLayer, SpanSink};

/// How long shutting down waits for the last spans to be sent.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// Crates whose own spans and events must never become exported spans: they carry the export
/// itself, and tracing them would feed every export back into the next one.
const TRANSPORT_TARGETS: [&str; 7] =
    ["h2", "hyper", "tonic", "tower", "opentelemetry", "actix_server", "awc"];

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("could not start the telemetry runtime: {0}")]
    Runtime(#[source] std::io::Error),
    #[error("could not build the OTLP exporter for {endpoint}: {message}")]
    Exporter { endpoint: String, message: String },
    #[error("a global tracing subscriber is already installed: {0}")]
    Subscriber(String),
}

/// Sets up tracing for a service from the environment (see [`TelemetryConfig`]): resource,
/// sampler, exporter with a batch processor, W3C trace-context + baggage propagators, and the
/// `tracing` subscriber (JSON or pretty logs plus the span layer).
///
/// Keep the guard alive for the life of the process and call [`TelemetryGuard::shutdown`] on
/// the way out; dropping it does the same.
pub fn init(service_name: &str, service_version: &str) -> Result<TelemetryGuard, InitError> {
    let config = TelemetryConfig::from_env(service_name, service_version)?;
    init_with(config)
}

/// [`init`] with an already-resolved configuration.
pub fn init_with(config: TelemetryConfig) -> Result<TelemetryGuard, InitError> {
    crate::client::set_query_allowlist(config.url_query_allowlist.clone());
    opentelemetry::global::set_text_map_propagator(TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(BaggagePropagator::new()),
    ]));
    let (subscriber, guard) = subscriber(&config)?;
    subscriber.try_init().map_err(|e| InitError::Subscriber(e.to_string()))?;

    tracing::info!(
        service = %config.service_name,
        version = %config.service_version,
        sdk_disabled = config.sdk_disabled,
        exporter = ?config.exporter,
        endpoint = %config.otlp_endpoint,
        sampler = ?config.sampler,
        batch_delay_ms = config.bsp_schedule_delay.as_millis() as u64,
        "telemetry started"
    );
    Ok(guard)
}

/// The subscriber `init` installs, not installed (tests run it as a scoped default), and the
/// guard of its export.
pub(crate) fn subscriber(config: &TelemetryConfig) -> Result<(tracing::Dispatch, TelemetryGuard), InitError> {
    let mut guard = TelemetryGuard { sink: None, runtime: None, stats: Arc::new(ExportStats::default()) };
    crate::metrics::set_export_stats(Arc::clone(&guard.stats));
    // With the SDK disabled there are no spans of our own: the caller's context is still handed
    // on, so downstream services keep the trace even though this one records nothing.
    if !config.sdk_disabled {
        guard.sink = build_sink(config, &mut guard)?.map(Arc::new);
    }
    let span_layer = span_layer(SpanLayer {
        forward_only: config.sdk_disabled,
        sampler: config.sampler,
        limits: config.span_limits,
        sink: guard.sink.clone(),
    });

    let log_filter = EnvFilter::try_new(&config.log_filter).map_err(|e| ConfigError {
        variable: "RUST_LOG",
        value: config.log_filter.clone(),
        problem: e.to_string(),
    })?;
    let own_dispatch = OwnDispatch::default();
    let log_layer = match config.log_format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .fmt_fields(NoSpanFields)
            .event_format(JsonLines { service: config.service_name.clone(), dispatch: own_dispatch.clone() })
            .with_filter(AskEveryTime(log_filter))
            .boxed(),
        LogFormat::Pretty => tracing_subscriber::fmt::layer().with_filter(AskEveryTime(log_filter)).boxed(),
    };
    let subscriber = tracing::Dispatch::new(tracing_subscriber::registry().with(span_layer).with(log_layer));
    own_dispatch.set(&subscriber);
    Ok((subscriber, guard))
}

/// The span layer sees our spans at INFO and above whatever `RUST_LOG` says: `RUST_LOG`
/// quiets the logs, it must never cut spans out of a trace. Of the events it sees only
/// milestones (see [`is_milestone`]), which become span events named as they are: other log
/// events go to the log pipeline (with trace ids, so Loki links them to the trace); copying
/// each one into its span as a span event would cost CPU and bytes on every request for data
/// that is already one click away. Failures are recorded on spans explicitly (`record_error`).
///
/// It is a filtered layer, like the log layer: an unfiltered layer beside a filtered one sees
/// only what some per-layer filter enabled, so `RUST_LOG=warn` would cut every INFO span.
fn span_layer(layer: SpanLayer) -> Box<dyn Layer<Registry> + Send + Sync> {
    layer
        .with_filter(AskEveryTime(
            filter_fn(|meta| {
                (meta.is_span() || is_milestone(meta))
                    && *meta.level() <= tracing::Level::INFO
                    && !TRANSPORT_TARGETS.iter().any(|t| meta.target().starts_with(t))
            })
            // Said out loud, so the subscriber's maximum level is INFO (or RUST_LOG's, if
            // more verbose) rather than "anything": tracing-log hands that maximum to the
            // `log` crate, whose `debug!` calls (html5ever logs every token it reads) are
            // otherwise formatted and dispatched only to be filtered out here. That was a
            // quarter of the scraper's instructions per request.
            .with_max_level_hint(tracing::Level::INFO),
        ))
        .boxed()
}

/// A milestone is an event given a name of its own and no message,
/// `tracing::event!(name: "page.fetched", Level::INFO, page.redirects = 1_i64)` (`info!` cannot
/// take both a name and dotted fields): it becomes a span event of that name, its fields the
/// event's attributes, as well as a log line whose message is the name. Unnamed events are
/// called `event file:line` by `tracing`, and records of the `log` crate `log event`: a space
/// tells them apart from a milestone's dotted name.
pub(crate) fn is_milestone(meta: &tracing::Metadata<'_>) -> bool {
    meta.is_event() && !meta.name().contains(' ')
}

/// Where spans go for `OTEL_TRACES_EXPORTER`: nowhere for `none`.
fn build_sink(config: &TelemetryConfig, guard: &mut TelemetryGuard) -> Result<Option<SpanSink>, InitError> {
    Ok(Some(match config.exporter {
        ExporterKind::Otlp => {
            // A runtime of our own for the gRPC client: exports and flushes never depend on the
            // service's runtime (actix's is single-threaded per worker and may be shutting down).
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("otel-export")
                .enable_all()
                .build()
                .map_err(InitError::Runtime)?;
            let mut exporter = {
                // The channel's worker task is spawned on the runtime it is built in.
                let _entered = runtime.enter();
                // One try per batch, no retries: against a collector that is down a retry is
                // CPU spent on nothing, and the span processor's breaker stops trying until a
                // cooldown is over.
                OtlpExporter::new(&config.otlp_endpoint, &config.otlp_headers, config.otlp_timeout).map_err(
                    |message| InitError::Exporter { endpoint: config.otlp_endpoint.clone(), message },
                )?
            };
            exporter.set_origin(&crate::resource::build(config), "skein", &config.service_version);
            let settings = BatchSettings {
                max_queue: config.bsp_max_queue_size,
                max_batch: config.bsp_max_export_batch_size,
                delay: config.bsp_schedule_delay,
                export_timeout: config.bsp_export_timeout,
            };
            let processor =
                EncodingProcessor::new(exporter, settings, Arc::clone(&guard.stats), runtime.handle());
            guard.runtime = Some(runtime);
            SpanSink::Otlp(processor)
        }
        ExporterKind::Console => SpanSink::Console { service: config.service_name.clone() },
        ExporterKind::None => return Ok(None),
    }))
}

/// Owns the span sink and the export runtime. Shutting down (explicitly or on drop) exports
/// every span still queued: the batch delay never loses spans at exit.
pub struct TelemetryGuard {
    sink: Option<Arc<SpanSink>>,
    runtime: Option<tokio::runtime::Runtime>,
    stats: Arc<ExportStats>,
}

impl TelemetryGuard {
    /// What the exporter has done so far.
    pub fn stats(&self) -> Arc<ExportStats> {
        Arc::clone(&self.stats)
    }

    /// Exports everything queued so far and waits for it.
    pub fn flush(&self) {
        if let Some(sink) = &self.sink
            && let Err(error) = sink.flush(None)
        {
            tracing::warn!(%error, "flushing spans failed");
        }
    }

    /// Flushes and shuts the provider down, then stops the export runtime.
    pub fn shutdown(mut self) {
        self.shutdown_in_place();
    }

    fn shutdown_in_place(&mut self) {
        if let Some(sink) = self.sink.take() {
            // The export runs on `runtime`, which is therefore stopped only afterwards.
            if let Err(error) = sink.shutdown(SHUTDOWN_TIMEOUT) {
                tracing::warn!(%error, "shutting the span export down failed");
            }
            tracing::debug!(
                exported_spans = self.stats.exported_spans(),
                lost_spans = self.stats.lost_spans(),
                "telemetry stopped"
            );
        }
        if let Some(runtime) = self.runtime.take() {
            // The exports are done by now; `shutdown_background` is the one way to stop a runtime
            // that is safe from inside another runtime (a plain drop there panics).
            runtime.shutdown_background();
        }
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        self.shutdown_in_place();
    }
}
