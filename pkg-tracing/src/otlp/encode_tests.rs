//! The encoder against the SDK's own conversion: the same spans through both, decoded with
//! opentelemetry-proto's generated types, must be equal field for field.

use std::borrow::Cow;
use std::time::{Duration, UNIX_EPOCH};

use opentelemetry::trace::{
    Event, Link, SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{Array, InstrumentationScope, KeyValue, StringValue, Value};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};
use prost::Message as _;

use super::{EncodedResource, export_request};

fn context(trace: u128, span: u64, remote: bool, state: &str) -> SpanContext {
    let state: TraceState = state.parse().unwrap();
    SpanContext::new(TraceId::from(trace), SpanId::from(span), TraceFlags::SAMPLED, remote, state)
}

/// Every kind of value, including the edge cases of each encoding.
fn every_kind_of_value() -> Vec<KeyValue> {
    vec![
        KeyValue::new("http.request.method", "POST"),
        KeyValue::new("empty", ""),
        KeyValue::new("", "no key"),
        KeyValue::new("ok", true),
        KeyValue::new("not", false),
        KeyValue::new("zero", 0_i64),
        KeyValue::new("negative", -42_i64),
        KeyValue::new("big", i64::MAX),
        KeyValue::new("ratio", 0.25_f64),
        KeyValue::new("negative.zero", -0.0_f64),
        KeyValue::new("unicode", "héllo ✓"),
        KeyValue::new("long", "x".repeat(300)),
        KeyValue::new("bools", Value::Array(Array::Bool(vec![true, false]))),
        KeyValue::new("ints", Value::Array(Array::I64(vec![1, -1, 1 << 40]))),
        KeyValue::new("floats", Value::Array(Array::F64(vec![1.5]))),
        KeyValue::new(
            "strings",
            Value::Array(Array::String(vec![StringValue::from("a"), StringValue::from("")])),
        ),
        KeyValue::new("no.strings", Value::Array(Array::String(vec![]))),
    ]
}

fn span(
    id: u64,
    parent: u64,
    kind: SpanKind,
    status: Status,
    scope: &InstrumentationScope,
    attributes: Vec<KeyValue>,
) -> SpanData {
    let start = UNIX_EPOCH + Duration::from_nanos(1_795_000_000_123_456_789 + id);
    SpanData {
        span_context: context(0x4bf92f3577b34da6a3ce929d0e0e4736, id, false, ""),
        parent_span_id: SpanId::from(parent),
        parent_span_is_remote: parent % 2 == 1,
        span_kind: kind,
        name: Cow::Owned(format!("span {id}")),
        start_time: start,
        end_time: start + Duration::from_micros(1500),
        attributes,
        dropped_attributes_count: 0,
        events: SpanEvents::default(),
        links: SpanLinks::default(),
        status,
        instrumentation_scope: scope.clone(),
    }
}

fn batch() -> Vec<SpanData> {
    let skein = InstrumentationScope::builder("skein").with_version("0.1.0").build();
    let other = InstrumentationScope::builder("other")
        .with_schema_url("https://opentelemetry.io/schemas/1.30.0")
        .with_attributes([KeyValue::new("scope.attr", 7_i64)])
        .build();

    let mut full = span(1, 0, SpanKind::Server, Status::Unset, &skein, every_kind_of_value());
    full.dropped_attributes_count = 3;
    full.span_context = context(0x0af7651916cd43dd8448eb211c80319c, 1, false, "vendor=abc,other=1");
    full.events.events.push(Event::new(
        "page.fetched",
        UNIX_EPOCH + Duration::from_secs(1_795_000_001),
        vec![KeyValue::new("page.bytes", 20_000_i64)],
        1,
    ));
    full.events.events.push(Event::new("bare", UNIX_EPOCH + Duration::from_secs(1_795_000_002), vec![], 0));
    full.events.dropped_count = 2;
    full.links.links.push(Link::new(
        context(7, 8, true, "k=v"),
        vec![KeyValue::new("link.kind", "follows")],
        1,
    ));
    full.links.links.push(Link::new(context(9, 10, false, ""), vec![], 0));
    full.links.dropped_count = 4;

    vec![
        full,
        span(2, 1, SpanKind::Client, Status::Ok, &skein, vec![KeyValue::new("peer.service", "scraper")]),
        span(3, 0xffff_ffff_ffff_fff1, SpanKind::Internal, Status::error("boom: it broke"), &other, vec![]),
        span(4, 2, SpanKind::Producer, Status::error(""), &skein, vec![]),
        span(5, 3, SpanKind::Consumer, Status::Unset, &other, vec![]),
    ]
}

fn resource() -> Resource {
    Resource::builder_empty()
        .with_schema_url(
            [KeyValue::new("service.name", "controller"), KeyValue::new("service.instance.id", "a-b-c")],
            "https://opentelemetry.io/schemas/1.26.0",
        )
        .build()
}

#[test]
fn a_batch_decodes_to_what_the_sdks_own_conversion_sends() {
    let (batch, resource) = (batch(), resource());
    let mut bytes = Vec::new();
    export_request(&EncodedResource::new(&resource), &batch, &mut bytes);
    let ours = ExportTraceServiceRequest::decode(bytes.as_slice()).expect("a valid protobuf message");
    let theirs = ExportTraceServiceRequest {
        resource_spans: group_spans_by_resource_and_scope(batch.clone(), &(&resource).into()),
    };
    assert_eq!(ours, theirs);
    // And byte for byte: prost writes fields in the same order and leaves out the same defaults.
    assert_eq!(bytes, theirs.encode_to_vec());

    // The comparison above would pass for two empty requests: check the content is there.
    let scopes = &ours.resource_spans[0].scope_spans;
    assert_eq!(scopes.iter().map(|s| s.spans.len()).collect::<Vec<_>>(), [3, 2], "grouped by scope");
    assert_eq!(scopes[0].spans[0].attributes.len(), every_kind_of_value().len());
    assert_eq!(scopes[0].spans[0].trace_state, "vendor=abc,other=1");
}

#[test]
fn an_empty_batch_and_an_empty_resource_are_still_a_valid_request() {
    let mut bytes = Vec::new();
    export_request(&EncodedResource::new(&Resource::builder_empty().build()), &[], &mut bytes);
    let ours = ExportTraceServiceRequest::decode(bytes.as_slice()).unwrap();
    assert_eq!(ours.resource_spans.len(), 1);
    assert!(ours.resource_spans[0].scope_spans.is_empty());
}
