//! The span layer under the subscriber `init` installs (as a scoped default), exporting to the
//! harness's OTLP collector: what `tracing` code writes is what the collector receives.

use std::time::Duration;

use opentelemetry::baggage::BaggageExt as _;
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState};
use opentelemetry::{Context, KeyValue};
use tracing::field::Empty;

use super::{SetParentError, SpanExt as _};
use crate::TelemetryConfig;
use crate::harness::{AttrValue, Collector, RecordedSpan, SpanKind, SpanStatus};

const CALLER_TRACE: u128 = 0x4bf92f3577b34da6a3ce929d0e0e4736;
const CALLER_SPAN: u64 = 0x00f067aa0ba902b7;

/// Runs `work` under the real subscriber exporting to a fresh collector (with `env` as the
/// environment), then flushes and returns what arrived, by name.
fn traced(env: &[(&str, &str)], work: impl FnOnce()) -> Vec<RecordedSpan> {
    let collector = Collector::start().unwrap();
    let endpoint = collector.endpoint();
    let config = TelemetryConfig::from_lookup("spans-test", "9.9.9", false, |name| {
        if name == "OTEL_EXPORTER_OTLP_ENDPOINT" {
            return Some(endpoint.clone());
        }
        env.iter().find(|(key, _)| *key == name).map(|(_, value)| (*value).to_owned())
    })
    .unwrap();
    let (dispatch, guard) = crate::telemetry::subscriber(&config).unwrap();
    tracing::dispatcher::with_default(&dispatch, work);
    guard.shutdown();
    let mut spans = collector.spans();
    spans.sort_by(|a, b| a.name.cmp(&b.name));
    spans
}

fn named<'a>(spans: &'a [RecordedSpan], name: &str) -> &'a RecordedSpan {
    spans.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no span {name}: {spans:#?}"))
}

fn caller() -> Context {
    let remote = SpanContext::new(
        TraceId::from(CALLER_TRACE),
        SpanId::from(CALLER_SPAN),
        TraceFlags::SAMPLED,
        true,
        "vendor=abc".parse::<TraceState>().unwrap(),
    );
    Context::new().with_remote_span_context(remote).with_baggage([KeyValue::new("correlation.id", "c-1")])
}

#[test]
fn fields_names_kinds_statuses_events_and_parents_arrive_as_written() {
    let mut handed_out = None;
    let mut refused = None;
    let mut server_ids = None;
    let spans = traced(&[], || {
        let server = tracing::info_span!(
            "HTTP request",
            otel.name = "POST /things",
            otel.kind = "server",
            otel.status_code = Empty,
            http.route = "/things",
            count = 3_i64,
            unsigned = 7_u64,
            huge = u64::MAX,
            ok = true,
            ratio = 0.5_f64,
            shown = %"display",
            debugged = ?("a", 1),
            later = Empty,
        );
        server.set_parent(caller()).expect("a fresh span takes a parent");
        server.record("later", "recorded");
        server.record("otel.status_code", "ERROR");
        let _entered = server.enter();
        server_ids = Some(server.span_context());
        tracing::event!(name: "thing.done", tracing::Level::INFO, thing.bytes = 12_i64);
        tracing::info!("an ordinary log line is no span event");
        // A transport span (filtered out) between a traced span and its child.
        let transport = tracing::info_span!(target: "h2::proto", "transport");
        let _in_transport = transport.enter();
        let child = tracing::info_span!("child", otel.kind = "client");
        child.set_attribute("added", 5_i64);
        child.add_event("exception", vec![KeyValue::new("exception.message", "it broke")]);
        child.set_status(opentelemetry::trace::Status::error("it broke"));
        child.add_link(caller().span().span_context().clone());
        let cx = child.context();
        handed_out = Some((
            cx.span().span_context().clone(),
            cx.baggage().get("correlation.id").map(|v| v.to_string()),
        ));
        refused = Some(child.set_parent(Context::new()));
        let _debug_span = tracing::debug_span!("too verbose").entered();
    });

    assert_eq!(spans.len(), 2, "the transport and DEBUG spans are not traced: {spans:#?}");
    let server = named(&spans, "POST /things");
    let child = named(&spans, "child");
    assert_eq!(server.kind, SpanKind::Server);
    assert_eq!(server.trace_id, format!("{CALLER_TRACE:032x}"), "the caller's trace");
    assert_eq!(server.parent_span_id.as_deref(), Some(format!("{CALLER_SPAN:016x}").as_str()));
    assert_eq!(server.trace_state, "vendor=abc");
    let server_ids = server_ids.unwrap();
    assert_eq!(format!("{:016x}", u64::from_be_bytes(server_ids.span_id().to_bytes())), server.span_id);
    assert_eq!(server_ids.trace_state().header(), "vendor=abc");
    assert_eq!(server.status, SpanStatus::Error(String::new()));
    let attr = |span: &RecordedSpan, key: &str| span.attr(key).cloned();
    assert_eq!(attr(server, "http.route"), Some(AttrValue::Str("/things".into())));
    assert_eq!(attr(server, "count"), Some(AttrValue::Int(3)));
    assert_eq!(attr(server, "unsigned"), Some(AttrValue::Int(7)), "unsigned numbers are numbers");
    assert_eq!(attr(server, "huge"), Some(AttrValue::Str(u64::MAX.to_string())), "past i64: digits");
    assert_eq!(attr(server, "ok"), Some(AttrValue::Bool(true)));
    assert_eq!(attr(server, "ratio"), Some(AttrValue::Float(0.5)));
    assert_eq!(attr(server, "shown"), Some(AttrValue::Str("display".into())));
    assert_eq!(attr(server, "debugged"), Some(AttrValue::Str("(\"a\", 1)".into())));
    assert_eq!(attr(server, "later"), Some(AttrValue::Str("recorded".into())));
    assert_eq!(attr(server, "target"), Some(AttrValue::Str(module_path!().into())));
    assert_eq!(attr(server, "code.line.number").and_then(|v| v.as_i64()).map(|l| l > 0), Some(true));
    assert!(
        server.attr("otel.name").is_none() && server.attr("otel.kind").is_none(),
        "special fields are not attributes"
    );
    let [(event, event_attributes)] = server.events.as_slice() else {
        panic!("one milestone: {:?}", server.events)
    };
    assert_eq!(event, "thing.done");
    assert_eq!(event_attributes.get("thing.bytes"), Some(&AttrValue::Int(12)));
    assert_eq!(event_attributes.get("level"), Some(&AttrValue::Str("INFO".into())));
    assert!(event_attributes.contains_key("code.file.path"));
    assert!(server.end_unix_nanos >= server.start_unix_nanos && server.start_unix_nanos > 0);

    assert_eq!(child.kind, SpanKind::Client);
    assert_eq!(child.trace_id, server.trace_id);
    assert_eq!(child.parent_span_id.as_deref(), Some(server.span_id.as_str()), "past the transport span");
    assert_eq!(attr(child, "added"), Some(AttrValue::Int(5)));
    assert_eq!(child.status, SpanStatus::Error("it broke".into()));
    assert_eq!(child.links, [(format!("{CALLER_TRACE:032x}"), format!("{CALLER_SPAN:016x}"))]);
    assert_eq!(child.events[0].0, "exception");
    assert_eq!(child.events[0].1.get("exception.message"), Some(&AttrValue::Str("it broke".into())));
    let (context, correlation) = handed_out.unwrap();
    assert_eq!(format!("{:016x}", u64::from_be_bytes(context.span_id().to_bytes())), child.span_id);
    assert!(context.is_sampled());
    assert_eq!(correlation.as_deref(), Some("c-1"), "the caller's baggage reaches the child's context");
    assert_eq!(refused, Some(Err(SetParentError::AlreadyStarted)));
}

#[test]
fn unsampled_spans_are_not_exported_and_roots_get_their_own_trace() {
    let mut roots = Vec::new();
    let spans = traced(&[("OTEL_TRACES_SAMPLER", "parentbased_always_off")], || {
        let dropped = tracing::info_span!("root, dropped");
        roots.push(dropped.context().span().span_context().clone());
        let kept = tracing::info_span!("continued");
        kept.set_parent(caller()).unwrap();
        roots.push(kept.context().span().span_context().clone());
        let _entered = kept.enter();
        let child = tracing::info_span!("child of continued");
        roots.push(child.context().span().span_context().clone());
    });
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["child of continued", "continued"]);
    assert!(roots[0].is_valid() && !roots[0].is_sampled(), "a dropped root still has ids to forward");
    assert_ne!(roots[0].trace_id(), TraceId::from(CALLER_TRACE));
    assert!(roots[1].is_sampled() && roots[2].is_sampled());
    assert_eq!(roots[2].trace_id(), TraceId::from(CALLER_TRACE));
}

#[test]
fn with_the_sdk_disabled_spans_forward_the_callers_context_and_nothing_is_sent() {
    let mut seen = None;
    let spans = traced(&[("OTEL_SDK_DISABLED", "true")], || {
        let server = tracing::info_span!("server");
        server.set_parent(caller()).unwrap();
        let _entered = server.enter();
        let child = tracing::info_span!("child");
        let cx = child.context();
        seen = Some((
            cx.span().span_context().clone(),
            cx.baggage().get("correlation.id").map(|v| v.to_string()),
        ));
    });
    assert!(spans.is_empty());
    let (context, correlation) = seen.unwrap();
    assert_eq!(
        (context.trace_id(), context.span_id()),
        (TraceId::from(CALLER_TRACE), SpanId::from(CALLER_SPAN))
    );
    assert_eq!(correlation.as_deref(), Some("c-1"));
}

#[test]
fn a_span_keeps_what_the_limits_allow_and_drops_the_rest() {
    let spans =
        traced(&[("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "10"), ("OTEL_SPAN_EVENT_COUNT_LIMIT", "2")], || {
            let span = tracing::info_span!("crowded");
            for n in 0..140_i64 {
                span.set_attribute("n", n);
            }
            for _ in 0..5 {
                span.add_event("tick", vec![]);
            }
            std::thread::sleep(Duration::from_millis(1));
        });
    let crowded = named(&spans, "crowded");
    // Four attributes of its own (code location, target), then 6 of the 140.
    assert_eq!(crowded.attr("n").and_then(AttrValue::as_i64), Some(5), "the last one kept");
    assert_eq!(crowded.events.len(), 2);
    assert!(crowded.end_unix_nanos - crowded.start_unix_nanos >= 1_000_000);
}

#[test]
fn each_span_carries_its_own_callsite_and_only_its_own_fields_though_buffers_are_reused() {
    // Several spans from two callsites, one after another on this thread: the second callsite
    // must not get the first one's cached location, and a reused attribute buffer must not
    // carry the previous span's fields.
    let mut lines = Vec::new();
    let spans = traced(&[], || {
        for round in 0..3_i64 {
            lines.push(line!() + 1);
            let first = tracing::info_span!("first", only.first = round);
            drop(first);
            lines.push(line!() + 1);
            let second = tracing::info_span!("second", only.second = round);
            drop(second);
        }
    });
    assert_eq!(spans.len(), 6);
    for span in &spans {
        let expected_line = if span.name == "first" { lines[0] } else { lines[1] };
        assert_eq!(span.attr("code.line.number").and_then(AttrValue::as_i64), Some(i64::from(expected_line)));
        let mut keys: Vec<&str> = span.attributes.keys().map(String::as_str).collect();
        keys.sort_unstable();
        let own = if span.name == "first" { "only.first" } else { "only.second" };
        let mut expected = vec!["code.file.path", "code.line.number", "code.module.name", own, "target"];
        expected.sort_unstable();
        assert_eq!(keys, expected, "{}", span.name);
    }
}

#[test]
fn each_milestone_carries_its_own_level_and_code_line_though_callsites_are_cached() {
    let mut lines = Vec::new();
    let spans = traced(&[], || {
        let span = tracing::info_span!("milestones");
        let _entered = span.enter();
        for round in 0..2_i64 {
            lines.push(line!() + 1);
            tracing::event!(name: "first.done", tracing::Level::INFO, first.round = round);
            lines.push(line!() + 1);
            tracing::event!(name: "second.done", tracing::Level::WARN, second.round = round);
        }
    });
    let span = named(&spans, "milestones");
    assert_eq!(span.events.len(), 4);
    for (name, attributes) in &span.events {
        let (line, level, own) = match name.as_str() {
            "first.done" => (lines[0], "INFO", "first.round"),
            _ => (lines[1], "WARN", "second.round"),
        };
        assert_eq!(
            attributes.get("code.line.number").and_then(AttrValue::as_i64),
            Some(i64::from(line)),
            "{name}"
        );
        assert_eq!(attributes.get("level"), Some(&AttrValue::Str(level.into())), "{name}");
        assert_eq!(attributes.get("target"), Some(&AttrValue::Str(module_path!().into())), "{name}");
        let mut keys: Vec<&str> = attributes.keys().map(String::as_str).collect();
        keys.sort_unstable();
        let mut expected =
            vec!["code.file.path", "code.line.number", "code.module.name", "level", own, "target"];
        expected.sort_unstable();
        assert_eq!(keys, expected, "{name}");
    }
}
