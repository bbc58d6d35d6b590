//! Start-up, shutdown and failure: the guard flushes, a dead collector harms nothing, logs and
//! spans agree, and bad settings stop the process with a clear message.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
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
async fn an_outage_of_the_collector_slows_nothing_and_logs_one_warning_and_one_recovery() {
    // A port nobody listens on yet: the collector comes up there once the outage is over.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let mut hop = Hop::spawn("hop-a", &format!("http://{addr}"), &[("OTEL_BSP_SCHEDULE_DELAY", "50")]);
    let export_warnings = |hop: &Hop| -> Vec<serde_json::Value> {
        hop.log_lines()
            .into_iter()
            .filter(|l| {
                l["level"] == "WARN" && l["message"].as_str().unwrap_or("").starts_with("span export")
            })
            .collect()
    };

    // A long outage: requests for two seconds, each batch (every 50 ms) failing to export.
    let started = Instant::now();
    let mut requests = 0;
    while started.elapsed() < Duration::from_secs(2) {
        let (status, _, _) = get(&hop.url("/hop"), &[]).await;
        assert_eq!(status, 200);
        requests += 1;
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
    // A hang guard, not a benchmark: an export stall would hold requests for seconds each.
    assert!(requests >= 10, "requests stalled during the outage: {requests} in 2 s");
    let deadline = Instant::now() + PATIENCE;
    while export_warnings(&hop).is_empty() && Instant::now() < deadline {
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    let warnings = export_warnings(&hop);
    assert_eq!(
        warnings.len(),
        1,
        "one warning for the whole outage, not one per batch or span: {warnings:?}"
    );
    assert!(warnings[0]["error"].is_string(), "the warning says why: {}", warnings[0]);

    // The collector comes back: the next export succeeds and the outage ends with one line
    // that says how much it cost.
    let collector = Collector::start_on(addr).expect("the collector takes over the port");
    let recovered = |hop: &Hop| -> Vec<serde_json::Value> {
        hop.log_lines().into_iter().filter(|l| l["message"] == "span export recovered").collect()
    };
    let deadline = Instant::now() + PATIENCE;
    while recovered(&hop).is_empty() && Instant::now() < deadline {
        let _ = get(&hop.url("/hop"), &[]).await;
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    let recovered = recovered(&hop);
    assert_eq!(recovered.len(), 1, "one recovery line: {recovered:?}");
    let failed_batches = recovered[0]["failed_batches"].as_u64().unwrap_or(0);
    assert!(failed_batches >= 2, "the outage spanned several failed batches: {}", recovered[0]);
    assert_eq!(export_warnings(&hop).len(), 1, "still the one warning after {failed_batches} failed batches");
    let (_, headers, _) = get(&hop.url("/hop"), &[]).await;
    let (trace_id, _, _) = parse_traceparent(headers.get("traceresponse").unwrap().to_str().unwrap());
    collector.wait_for_trace(&trace_id, 1, PATIENCE).await.expect("spans flow again");

    let status = hop.terminate();
    assert!(status.success(), "{status:?}");
}

#[actix_web::test]
async fn while_the_collector_is_unreachable_the_exporter_tries_once_per_cooldown_not_per_batch() {
    // A port that accepts and at once hangs up: each export attempt is one connection here.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let attempts = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&attempts);
    std::thread::spawn(move || {
        for connection in listener.incoming().flatten() {
            counted.fetch_add(1, Ordering::SeqCst);
            drop(connection);
        }
    });
    let mut hop = Hop::spawn("hop-a", &format!("http://{addr}"), &[("OTEL_BSP_SCHEDULE_DELAY", "50")]);

    // Spans for three seconds, a batch due every 50 ms: some 60 export attempts if each batch
    // were tried (and four times that with the SDK's retries, each re-encoding the batch).
    let started = Instant::now();
    let mut requests = 0;
    while started.elapsed() < Duration::from_secs(3) {
        let (status, _, _) = get(&hop.url("/hop"), &[]).await;
        assert_eq!(status, 200);
        requests += 1;
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
    let tried = attempts.load(Ordering::SeqCst);
    // The first batch, then one probe after 1 s and one 2 s after that: three tries, with slack
    // for a connection the gRPC channel makes on its own.
    assert!((1..=6).contains(&tried), "{tried} export attempts in 3 s for {requests} requests' spans");
    println!("collector unreachable for 3 s: {tried} export attempts for {requests} requests");
    assert!(hop.terminate().success());
}

#[actix_web::test]
async fn records_of_the_log_crate_reach_the_json_log_with_their_target() {
    let collector = Collector::start().unwrap();
    // RUST_LOG at WARN (but for the hop's own "listening") leaves the INFO spans out of the
    // logs, not out of the trace: the line still names the span it was written in and carries
    // its ids.
    let hop = Hop::spawn("hop-a", &collector.endpoint(), &[("RUST_LOG", "warn,trace_hop=info")]);
    let (status, headers, _) = get(&hop.url("/log"), &[]).await;
    assert_eq!(status, 200);
    let (trace_id, _, _) = parse_traceparent(headers.get("traceresponse").unwrap().to_str().unwrap());
    let deadline = Instant::now() + PATIENCE;
    let line = loop {
        let found = hop.log_lines().into_iter().find(|l| l["message"] == "a record from the log crate");
        if let Some(line) = found {
            break line;
        }
        assert!(Instant::now() < deadline, "the log record never reached the log: {:?}", hop.log_lines());
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(line["target"], "trace_hop::legacy", "{line}");
    assert_eq!(line["level"], "WARN", "{line}");
    assert!(line.as_object().unwrap().keys().all(|k| !k.starts_with("log.")), "no bridge internals: {line}");
    assert_eq!(line["trace_id"], trace_id.as_str(), "written inside the request's span: {line}");
    assert_eq!(line["span"], "HTTP request", "{line}");
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

#[test]
fn exporter_settings_it_cannot_honour_stop_the_start() {
    for (endpoint, env, named) in [
        ("https://127.0.0.1:4317", vec![], "TLS"),
        (
            "http://127.0.0.1:4317",
            vec![("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")],
            "OTEL_EXPORTER_OTLP_COMPRESSION",
        ),
        (
            "http://127.0.0.1:4317",
            vec![("OTEL_EXPORTER_OTLP_HEADERS", "no value")],
            "OTEL_EXPORTER_OTLP_HEADERS",
        ),
    ] {
        let output = Hop::command("hop-a", endpoint, &env).output().expect("trace-hop runs");
        assert_eq!(output.status.code(), Some(2), "{endpoint} {env:?}: {output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(named), "{endpoint} {env:?}: {stderr}");
    }
}

/// `trace-view --count`, the load runs' receiver: it walks the request's bytes instead of
/// decoding them, so this checks the walk against what the exporter really sends.
#[actix_web::test]
async fn the_counting_collector_counts_every_exported_span_by_service() {
    let collector = Collector::start_counting_on("127.0.0.1:0".parse().unwrap()).unwrap();
    let mut hop = Hop::spawn(
        "hop-a",
        &collector.endpoint(),
        &[("OTEL_BSP_SCHEDULE_DELAY", "50"), ("OTEL_EXPORTER_OTLP_HEADERS", "x-scope-orgid=tenant%201")],
    );
    for _ in 0..5 {
        let (status, _, _) = get(&hop.url("/hop"), &[]).await;
        assert_eq!(status, 200);
    }
    assert!(hop.terminate().success(), "{}", hop.stderr());

    assert_eq!(collector.counts(), [("hop-a".to_owned(), 5)].into(), "one SERVER span per request");
    assert!(collector.spans().is_empty(), "counting keeps nothing");
}
