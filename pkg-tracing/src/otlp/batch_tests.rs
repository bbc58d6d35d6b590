//! The processor against a real OTLP collector (the harness's, on loopback): what is queued,
//! what is dropped and counted, and when a batch is sent.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, Instant};

use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};

use super::{BatchSettings, EncodingProcessor};
use crate::exporter::ExportStats;
use crate::harness::Collector;
use crate::otlp::OtlpExporter;
use crate::otlp::attributes::AttributeValue;
use crate::spans::record::{Recording, SpanRecord, now_nanos};

const TRACE: u128 = 0x5b8efff798038103d269b633813fc60c;

/// A sampled span named `span {id}`, ended.
fn ended_span(id: u64) -> (SpanRecord, Recording) {
    let context = SpanContext::new(
        TraceId::from(TRACE),
        SpanId::from(id),
        TraceFlags::SAMPLED,
        false,
        TraceState::default(),
    );
    let record = SpanRecord {
        context,
        parent_span_id: SpanId::INVALID,
        parent_is_remote: false,
        parent_cx: opentelemetry::Context::new(),
        handed_out: Default::default(),
        recording: None,
    };
    let mut recording = Recording::starting(Cow::Owned(format!("span {id}")), now_nanos(), Vec::new(), 0);
    recording.attribute("n", AttributeValue::I64(id as i64));
    (record, recording)
}

fn end(processor: &EncodingProcessor, id: u64) {
    let (record, recording) = ended_span(id);
    processor.on_end(&record, &recording, now_nanos());
}

struct Setup {
    collector: Collector,
    processor: EncodingProcessor,
    stats: Arc<ExportStats>,
    // Kept alive: the export task runs on it.
    _runtime: tokio::runtime::Runtime,
}

/// A processor exporting to a fresh collector.
fn setup(max_queue: usize, max_batch: usize, delay: Duration) -> Setup {
    let collector = Collector::start().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let mut exporter = {
        let _entered = runtime.enter();
        OtlpExporter::new(&collector.endpoint(), &[], Duration::from_secs(5)).unwrap()
    };
    let resource = opentelemetry_sdk::Resource::builder_empty().with_service_name("batch-test").build();
    exporter.set_origin(&resource, "skein", "test");
    let stats = Arc::new(ExportStats::default());
    let settings = BatchSettings { max_queue, max_batch, delay, export_timeout: Duration::from_secs(5) };
    let processor = EncodingProcessor::new(exporter, settings, Arc::clone(&stats), runtime.handle());
    Setup { collector, processor, stats, _runtime: runtime }
}

fn received_ids(collector: &Collector) -> Vec<String> {
    let mut ids: Vec<String> = collector.spans().into_iter().map(|s| s.name).collect();
    ids.sort();
    ids
}

#[test]
fn a_full_queue_drops_and_counts_the_excess_and_a_flush_sends_every_queued_span() {
    // A batch never fills and the delay is an hour: nothing leaves the queue until the flush,
    // so the fifth and sixth spans find it full.
    let Setup { collector, processor, stats, _runtime } = setup(4, 10, Duration::from_secs(3600));
    for id in 1..=6 {
        end(&processor, id);
    }
    assert_eq!(stats.lost_spans(), 2, "the two spans past the queue's four are counted as lost");
    assert!(collector.spans().is_empty(), "nothing sent before the flush");

    processor.flush(None).expect("the flush completes");
    assert_eq!(received_ids(&collector), ["span 1", "span 2", "span 3", "span 4"]);
    assert_eq!(stats.exported_spans(), 4);
    assert_eq!(stats.lost_spans(), 2);
}

#[test]
fn a_full_batch_is_sent_at_once_and_the_rest_waits_for_the_delay() {
    let Setup { collector, processor, stats, _runtime } = setup(100, 2, Duration::from_secs(3600));
    for id in 1..=3 {
        end(&processor, id);
    }
    let started = Instant::now();
    while collector.spans().len() < 2 && started.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(received_ids(&collector), ["span 1", "span 2"], "the full batch, and only it");

    processor.shutdown(Duration::from_secs(5)).expect("shutdown sends the rest");
    assert_eq!(received_ids(&collector), ["span 1", "span 2", "span 3"]);
    assert_eq!(stats.exported_spans(), 3);
    end(&processor, 4);
    assert!(processor.flush(None).is_err(), "after shutdown, nothing is accepted");
    assert_eq!(collector.spans().len(), 3);
}
