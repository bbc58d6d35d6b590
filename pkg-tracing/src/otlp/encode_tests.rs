//! The encoder against an independent decoder: requests written here, decoded with
//! opentelemetry-proto's generated types (prost), must carry every field as written.

use std::borrow::Cow;

use opentelemetry::trace::{SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState};
use opentelemetry::{Array, KeyValue, StringValue, Value};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::common::v1::{AnyValue, ArrayValue};
use opentelemetry_sdk::Resource;
use prost::Message as _;

use super::{CHUNK, EncodedResource, EncodedScope, SpanEntries, encode_span, put_request};
use crate::otlp::attributes::AttributeValue;
use crate::spans::record::{Recording, SpanRecord};

const TRACE: u128 = 0x4bf92f3577b34da6a3ce929d0e0e4736;
const START: u64 = 1_795_000_000_123_456_789;

fn record(span: u64, parent: u64, remote: bool, state: &str) -> SpanRecord {
    let state: TraceState = state.parse().unwrap();
    SpanRecord {
        context: SpanContext::new(
            TraceId::from(TRACE),
            SpanId::from(span),
            TraceFlags::SAMPLED,
            false,
            state,
        ),
        parent_span_id: SpanId::from(parent),
        parent_is_remote: remote,
        parent_cx: opentelemetry::Context::new(),
        handed_out: Default::default(),
        recording: None,
    }
}

fn recording(name: &str, kind: SpanKind, status: Status) -> Recording {
    let mut recording = Recording::starting(Cow::Owned(name.to_owned()), START, Vec::new(), 0);
    recording.kind = kind;
    recording.status = status;
    recording
}

fn any(value: Any) -> Option<AnyValue> {
    Some(AnyValue { value: Some(value) })
}

fn string(s: &str) -> Option<AnyValue> {
    any(Any::StringValue(s.to_owned()))
}

fn decode(spans: &[(SpanRecord, Recording)]) -> ExportTraceServiceRequest {
    let resource = Resource::builder_empty()
        .with_service_name("encode-test")
        .with_attribute(KeyValue::new("n", 7))
        .build();
    let mut entries = SpanEntries::default();
    for (record, recording) in spans {
        let mut buf = Vec::new();
        encode_span(&mut buf, record, recording, START + 1_000);
        entries.push_encoded(&buf);
    }
    let mut request = Vec::new();
    put_request(
        &EncodedResource::new(&resource),
        &EncodedScope::new("skein", "1.2.3"),
        entries,
        &mut request,
    );
    ExportTraceServiceRequest::decode(request.as_slice()).expect("a valid request")
}

#[test]
fn every_field_of_a_span_decodes_as_written() {
    let mut server = recording("POST /api/v1/scrape", SpanKind::Server, Status::error("boom: cause"));
    server.attribute("http.request.method", AttributeValue::Str("POST"));
    server.attribute("empty", AttributeValue::Str(""));
    server.attribute("unicode", AttributeValue::Str("héllo ✓"));
    server.attribute("long", AttributeValue::Str(&"x".repeat(300)));
    server.attribute("ok", AttributeValue::Bool(true));
    server.attribute("not", AttributeValue::Bool(false));
    server.attribute("zero", AttributeValue::I64(0));
    server.attribute("negative", AttributeValue::I64(-42));
    server.attribute("big", AttributeValue::I64(i64::MAX));
    server.attribute("ratio", AttributeValue::F64(0.25));
    server.attribute("chain", AttributeValue::Strs(&["a".to_owned(), String::new()]));
    server.attribute_value("ints", &Value::Array(Array::I64(vec![1, -1])));
    server.attribute_value("strings", &Value::Array(Array::String(vec![StringValue::from("s")])));
    server.dropped_attributes = 3;
    let mut event_attributes = Vec::new();
    crate::otlp::attributes::put_attribute(&mut event_attributes, 3, "level", AttributeValue::Str("INFO"));
    crate::otlp::attributes::put_attribute(&mut event_attributes, 3, "page.bytes", AttributeValue::I64(1234));
    server.event("page.fetched", START + 500, &event_attributes, 1);
    server.event("bare", START + 600, &[], 0);
    let previous = SpanContext::new(
        TraceId::from(7),
        SpanId::from(8),
        TraceFlags::SAMPLED,
        true,
        "p=q".parse().unwrap(),
    );
    server.link(&previous);
    let client = recording("GET", SpanKind::Client, Status::Unset);
    let internal = recording("", SpanKind::Internal, Status::Ok);

    let request = decode(&[
        (record(1, 0xaa, true, "k=v,w=x"), server),
        (record(2, 1, false, ""), client),
        (record(3, 0, false, ""), internal),
    ]);

    let [resource_spans] = request.resource_spans.as_slice() else { panic!("one resource") };
    let resource = resource_spans.resource.as_ref().unwrap();
    let keys: Vec<&str> = resource.attributes.iter().map(|kv| kv.key.as_str()).collect();
    assert!(keys.contains(&"service.name") && keys.contains(&"n"), "{keys:?}");
    let [scope_spans] = resource_spans.scope_spans.as_slice() else { panic!("one scope") };
    let scope = scope_spans.scope.as_ref().unwrap();
    assert_eq!((scope.name.as_str(), scope.version.as_str()), ("skein", "1.2.3"));
    let [server, client, internal] = scope_spans.spans.as_slice() else { panic!("three spans") };

    assert_eq!(server.trace_id, TRACE.to_be_bytes());
    assert_eq!(server.span_id, 1u64.to_be_bytes());
    assert_eq!(server.parent_span_id, 0xaau64.to_be_bytes());
    assert_eq!(server.trace_state, "k=v,w=x");
    assert_eq!(server.name, "POST /api/v1/scrape");
    assert_eq!(server.kind, 2);
    assert_eq!((server.start_time_unix_nano, server.end_time_unix_nano), (START, START + 1_000));
    assert_eq!(server.flags, 0x01 | 0x100 | 0x200, "sampled, remote parent known and remote");
    let status = server.status.as_ref().unwrap();
    assert_eq!((status.code, status.message.as_str()), (2, "boom: cause"));
    assert_eq!(server.dropped_attributes_count, 3);
    let attributes: Vec<(&str, Option<AnyValue>)> =
        server.attributes.iter().map(|kv| (kv.key.as_str(), kv.value.clone())).collect();
    let array = |values: Vec<Option<AnyValue>>| {
        any(Any::ArrayValue(ArrayValue { values: values.into_iter().map(Option::unwrap).collect() }))
    };
    assert_eq!(
        attributes,
        vec![
            ("http.request.method", string("POST")),
            ("empty", string("")),
            ("unicode", string("héllo ✓")),
            ("long", string(&"x".repeat(300))),
            ("ok", any(Any::BoolValue(true))),
            ("not", any(Any::BoolValue(false))),
            ("zero", any(Any::IntValue(0))),
            ("negative", any(Any::IntValue(-42))),
            ("big", any(Any::IntValue(i64::MAX))),
            ("ratio", any(Any::DoubleValue(0.25))),
            ("chain", array(vec![string("a"), string("")])),
            ("ints", array(vec![any(Any::IntValue(1)), any(Any::IntValue(-1))])),
            ("strings", array(vec![string("s")])),
        ]
    );
    let [fetched, bare] = server.events.as_slice() else { panic!("two events") };
    assert_eq!(
        (fetched.name.as_str(), fetched.time_unix_nano, fetched.dropped_attributes_count),
        ("page.fetched", START + 500, 1)
    );
    let event_attributes: Vec<(&str, Option<AnyValue>)> =
        fetched.attributes.iter().map(|kv| (kv.key.as_str(), kv.value.clone())).collect();
    assert_eq!(event_attributes, vec![("level", string("INFO")), ("page.bytes", any(Any::IntValue(1234)))]);
    assert_eq!((bare.name.as_str(), bare.attributes.len()), ("bare", 0));
    let [link] = server.links.as_slice() else { panic!("one link") };
    assert_eq!(
        (link.trace_id.as_slice(), link.span_id.as_slice()),
        (7u128.to_be_bytes().as_slice(), 8u64.to_be_bytes().as_slice())
    );
    assert_eq!((link.trace_state.as_str(), link.flags), ("p=q", 0x01 | 0x100 | 0x200));

    assert_eq!((client.kind, client.parent_span_id.as_slice()), (3, 1u64.to_be_bytes().as_slice()));
    assert_eq!(client.flags, 0x01 | 0x100, "a local parent: known, not remote");
    assert_eq!(client.status.as_ref().map(|s| s.code), Some(0), "a status is always sent");
    assert!(internal.parent_span_id.is_empty(), "a root has no parent id");
    assert_eq!((internal.kind, internal.status.as_ref().map(|s| s.code)), (1, Some(1)));
}

#[test]
fn an_empty_batch_and_an_empty_resource_are_still_a_valid_request() {
    let mut request = Vec::new();
    put_request(&EncodedResource::default(), &EncodedScope::default(), SpanEntries::default(), &mut request);
    let decoded = ExportTraceServiceRequest::decode(request.as_slice()).expect("a valid request");
    assert_eq!(decoded.resource_spans.len(), 1);
    assert!(decoded.resource_spans[0].scope_spans[0].spans.is_empty());
}

/// A batch larger than a chunk, with one span larger than a chunk in it, is still one request
/// carrying every span, in order.
#[test]
fn a_batch_spread_over_chunks_decodes_as_one_request() {
    let mut spans = Vec::new();
    for i in 0..400_u64 {
        let mut span = recording(&format!("span {i}"), SpanKind::Internal, Status::Unset);
        let size = if i == 200 { CHUNK + 10 } else { 300 };
        span.attribute("padding", AttributeValue::Str(&"x".repeat(size)));
        spans.push((record(i + 1, 0, false, ""), span));
    }
    let request = decode(&spans);
    let scope_spans = &request.resource_spans[0].scope_spans[0];
    let names: Vec<&str> = scope_spans.spans.iter().map(|s| s.name.as_str()).collect();
    let expected: Vec<String> = (0..400).map(|i| format!("span {i}")).collect();
    assert_eq!(names, expected);
    let big = &scope_spans.spans[200].attributes[0];
    assert_eq!(big.value, string(&"x".repeat(CHUNK + 10)));
}
