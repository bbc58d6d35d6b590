//! The processor against a real OTLP collector (the harness's, on loopback): what is queued,
//! what is dropped and counted, and when a batch is sent.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use opentelemetry::InstrumentationScope;
use opentelemetry::trace::{SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks, SpanProcessor};

use super::{BatchSettings, EncodingProcessor};
use crate::exporter::ExportStats;
use crate::harness::Collector;
use crate::otlp::OtlpExporter;

const TRACE: u128 = 0x5b8efff798038103d269b633813fc60c;

fn ended_span(id: u64) -> SpanData {
    let now = SystemTime::now();
    SpanData {
        span_context: SpanContext::new(
            TraceId::from(TRACE),
            SpanId::from(id),
            TraceFlags::SAMPLED,
            false,
            TraceState::default(),
        ),
        parent_span_id: SpanId::INVALID,
        parent_span_is_remote: false,
        span_kind: SpanKind::Internal,
        name: Cow::Owned(format!("span {id}")),
        start_time: now,
        end_time: now,
        attributes: vec![opentelemetry::KeyValue::new("n", id as i64)],
        dropped_attributes_count: 0,
        events: SpanEvents::default(),
        links: SpanLinks::default(),
        status: Status::Unset,
        instrumentation_scope: InstrumentationScope::builder("skein").build(),
    }
}

struct Setup {
    collector: Collector,
    processor: EncodingProcessor,
    stats: Arc<ExportStats>,
    // Kept alive: the export task runs on it.
    _runtime: tokio::runtime::Runtime,
}

/// A processor exporting to a fresh collector; its export task starts at `set_resource`.
fn setup(max_queue: usize, max_batch: usize, delay: Duration) -> Setup {
    let collector = Collector::start().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let exporter = {
        let _entered = runtime.enter();
        OtlpExporter::new(&collector.endpoint(), &[], Duration::from_secs(5)).unwrap()
    };
    let stats = Arc::new(ExportStats::default());
    let settings = BatchSettings { max_queue, max_batch, delay, export_timeout: Duration::from_secs(5) };
    let processor = EncodingProcessor::new(exporter, settings, Arc::clone(&stats), runtime.handle().clone());
    Setup { collector, processor, stats, _runtime: runtime }
}

fn start(processor: &mut EncodingProcessor) {
    processor.set_resource(&Resource::builder_empty().with_service_name("batch-test").build());
}

fn received_ids(collector: &Collector) -> Vec<String> {
    let mut ids: Vec<String> = collector.spans().into_iter().map(|s| s.name).collect();
    ids.sort();
    ids
}

#[test]
fn a_full_queue_drops_and_counts_the_excess_and_a_flush_sends_every_queued_span() {
    // No export task yet: nothing leaves the queue, so the fifth and sixth spans find it full.
    let Setup { collector, mut processor, stats, _runtime } = setup(4, 3, Duration::from_secs(3600));
    for id in 1..=6 {
        processor.on_end(ended_span(id));
    }
    assert_eq!(stats.lost_spans(), 2, "the two spans past the queue's four are counted as lost");

    start(&mut processor);
    processor.force_flush().expect("the flush completes");
    // One full batch of three and the filling one of one, both sent by the flush (the
    // hour-long delay never came).
    assert_eq!(received_ids(&collector), ["span 1", "span 2", "span 3", "span 4"]);
    assert_eq!(stats.exported_spans(), 4);
    assert_eq!(stats.lost_spans(), 2);
}

#[test]
fn a_full_batch_is_sent_at_once_and_the_rest_waits_for_the_delay() {
    let Setup { collector, mut processor, stats, _runtime } = setup(100, 2, Duration::from_secs(3600));
    start(&mut processor);
    for id in 1..=3 {
        processor.on_end(ended_span(id));
    }
    let started = Instant::now();
    while collector.spans().len() < 2 && started.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(received_ids(&collector), ["span 1", "span 2"], "the full batch, and only it");

    processor.shutdown().expect("shutdown sends the rest");
    assert_eq!(received_ids(&collector), ["span 1", "span 2", "span 3"]);
    assert_eq!(stats.exported_spans(), 3);
    processor.on_end(ended_span(4));
    assert!(processor.force_flush().is_err(), "after shutdown, nothing is accepted");
    assert_eq!(collector.spans().len(), 3);
}
