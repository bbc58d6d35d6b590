//! Sampling and OTEL_SDK_DISABLED: what is exported, and that context propagates regardless.

use pkg_tracing::harness::SpanKind;

use crate::helpers::{PATIENCE, Pair, get, only, parse_traceparent};

const INCOMING_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const INCOMING_PARENT: &str = "00f067aa0ba902b7";

#[actix_web::test]
async fn always_off_exports_nothing_yet_the_next_service_gets_a_valid_unsampled_traceparent() {
    let mut pair = Pair::start(&[("OTEL_TRACES_SAMPLER", "always_off")]);

    let (status, _, body) = get(&pair.a.url("/hop"), &[]).await;
    assert_eq!(status, 200);
    let sent = body["downstream"]["received"]["traceparent"].as_str().expect("B received a traceparent");
    let (_, _, flags) = parse_traceparent(sent);
    assert_eq!(flags, "00", "sampled flag off: {sent}");

    // A clean exit flushes everything, so an empty collector afterwards means nothing was made.
    assert!(pair.a.terminate().success());
    assert!(pair.b.terminate().success());
    assert_eq!(pair.collector.spans().len(), 0, "{:?}", pair.collector.spans());
}

#[actix_web::test]
async fn parent_based_sampling_follows_the_callers_decision() {
    let mut pair = Pair::start(&[("OTEL_TRACES_SAMPLER", "parentbased_always_off")]);

    let incoming = format!("00-{INCOMING_TRACE}-{INCOMING_PARENT}-01");
    let (_, _, sampled) = get(&pair.a.url("/hop"), &[("traceparent", &incoming)]).await;
    let (_, _, unsampled_root) = get(&pair.a.url("/hop"), &[]).await;

    let spans = pair.collector.wait_for_trace(INCOMING_TRACE, 3, PATIENCE).await.unwrap();
    assert_eq!(only(&spans, "hop-a", SpanKind::Server).parent_span_id.as_deref(), Some(INCOMING_PARENT));
    let forwarded = sampled["downstream"]["received"]["traceparent"].as_str().unwrap();
    let (trace, _, flags) = parse_traceparent(forwarded);
    assert_eq!((trace.as_str(), flags.as_str()), (INCOMING_TRACE, "01"));

    let root_trace =
        unsampled_root["trace_id"].as_str().expect("a trace id even when not sampled").to_owned();
    assert!(pair.a.terminate().success());
    assert!(pair.b.terminate().success());
    assert!(pair.collector.trace(&root_trace).is_empty(), "a root under parentbased_always_off is dropped");
    assert_eq!(pair.collector.spans().len(), 3, "only the sampled trace");
}

#[actix_web::test]
async fn with_the_sdk_disabled_nothing_is_exported_but_the_callers_trace_is_forwarded() {
    let mut pair = Pair::start(&[("OTEL_SDK_DISABLED", "true")]);

    let incoming = format!("00-{INCOMING_TRACE}-{INCOMING_PARENT}-01");
    let (status, _, body) = get(&pair.a.url("/hop"), &[("traceparent", &incoming), ("baggage", "k=v")]).await;
    assert_eq!(status, 200, "the service works without the SDK");
    let forwarded = body["downstream"]["received"]["traceparent"].as_str().expect("context forwarded");
    let (trace, _, flags) = parse_traceparent(forwarded);
    assert_eq!((trace.as_str(), flags.as_str()), (INCOMING_TRACE, "01"));
    let baggage = body["downstream"]["received"]["baggage"].as_str().unwrap();
    assert!(baggage.contains("k=v"), "{baggage}");

    assert!(pair.a.terminate().success());
    assert!(pair.b.terminate().success());
    assert_eq!(pair.collector.spans().len(), 0);
}
