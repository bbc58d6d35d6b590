//! Start-up, shutdown and failure: the guard flushes, a dead collector harms nothing, logs and
//! spans agree, and bad settings stop the process with a clear message.

use std::time::{Duration, Instant};

use pkg_tracing::harness::{Collector, SpanKind};

use crate::helpers::{Hop, PATIENCE, get, only, parse_traceparent};

#[actix_web::test]
async fn spans_ended_just_before_shutdown_are_exported_despite_the_batch_delay() {
    let collector = Collector::start().unwrap();
    // The default 5 s batch delay: without a flush on exit these spans would be lost.
    let mut hop = Hop::spawn("hop-a", &collector.endpoint(), &[("OTEL_BSP_SCHEDULE_DELAY", "5000")]);

    let (_, headers, _) = get(&hop.url("/hop"), &[]).await;
    let (trace_id, _, _) = parse_traceparent(headers.get("traceresponse").unwrap().to_str().unwrap());
    let status = hop.terminate();

    assert!(status.success(), "clean exit: {status:?}; stderr: {}", hop.stderr());
    // The export finished before the process did: no waiting here.
    let spans = collector.trace(&trace_id);
    assert_eq!(spans.len(), 1, "{spans:?}");
}

#[actix_web::test]
async fn an_unreachable_collector_neither_slows_requests_nor_floods_the_log() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let mut hop = Hop::spawn("hop-a", &endpoint, &[("OTEL_BSP_SCHEDULE_DELAY", "50")]);

    let started = Instant::now();
    for _ in 0..20 {
        let (status, _, _) = get(&hop.url("/hop"), &[]).await;
        assert_eq!(status, 200);
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
    // A hang guard, not a benchmark: 20 requests take milliseconds, an export stall seconds.
    assert!(started.elapsed() < Duration::from_secs(5), "requests stalled: {:?}", started.elapsed());

    let deadline = Instant::now() + PATIENCE;
    let warnings = loop {
        let warnings: Vec<_> = hop
            .log_lines()
            .into_iter()
            .filter(|l| {
                l["level"] == "WARN" && l["message"].as_str().unwrap_or("").starts_with("span export")
            })
            .collect();
        if !warnings.is_empty() || Instant::now() > deadline {
            break warnings;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(warnings.len(), 1, "one warning for the outage, not one per batch or span: {warnings:?}");
    assert!(warnings[0]["error"].is_string(), "the warning says why: {}", warnings[0]);

    let status = hop.terminate();
    assert!(status.success(), "shutdown completes without a collector: {status:?}");
}

#[actix_web::test]
async fn json_log_lines_carry_the_ids_of_the_exported_span() {
    let collector = Collector::start().unwrap();
    let hop = Hop::spawn("hop-a", &collector.endpoint(), &[]);

    let (_, headers, _) = get(&hop.url("/hop"), &[("x-correlation-id", "log-check")]).await;
    let (trace_id, _, _) = parse_traceparent(headers.get("traceresponse").unwrap().to_str().unwrap());
    let spans = collector.wait_for_trace(&trace_id, 1, PATIENCE).await.unwrap();
    let server = only(&spans, "hop-a", SpanKind::Server);

    let lines = hop.log_lines();
    let handler_line = lines
        .iter()
        .find(|l| l["message"] == "handling hop")
        .unwrap_or_else(|| panic!("the handler's log line is missing: {lines:?}"));
    assert_eq!(handler_line["trace_id"], trace_id.as_str());
    assert_eq!(handler_line["span_id"], server.span_id.as_str());
    assert_eq!(handler_line["correlation_id"], "log-check");
    assert_eq!(handler_line["service"], "hop-a");
    assert_eq!(handler_line["level"], "INFO");
    assert!(handler_line["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')));
    let outside = lines.iter().find(|l| l["message"] == "listening").unwrap();
    assert!(outside.get("trace_id").is_none(), "lines outside a request carry no trace id: {outside}");
}

#[test]
fn a_bad_sampler_is_a_startup_error_naming_the_variable() {
    let output = Hop::command("hop-a", "http://127.0.0.1:4317", &[("OTEL_TRACES_SAMPLER", "sometimes")])
        .output()
        .expect("trace-hop runs");
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("OTEL_TRACES_SAMPLER") && stderr.contains("sometimes"), "{stderr}");
}

#[actix_web::test]
async fn the_console_exporter_prints_spans_and_sends_nothing_over_otlp() {
    let collector = Collector::start().unwrap();
    let mut hop = Hop::spawn("hop-a", &collector.endpoint(), &[("OTEL_TRACES_EXPORTER", "console")]);
    let (_, headers, _) = get(&hop.url("/items/7"), &[]).await;
    let (trace_id, _, _) = parse_traceparent(headers.get("traceresponse").unwrap().to_str().unwrap());
    assert!(hop.terminate().success());

    let stderr = hop.stderr();
    let line = stderr
        .lines()
        .find(|l| l.contains(&format!("trace_id={trace_id}")))
        .unwrap_or_else(|| panic!("no console line for the span: {stderr}"));
    assert!(line.contains("name=\"GET /items/{id}\""), "{line}");
    assert!(collector.spans().is_empty());
}
