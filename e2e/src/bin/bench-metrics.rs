//! `bench-metrics [ITERATIONS]`: the CPU cost of recording Skein's metrics, printed for
//! `scripts/bench.sh` — what the request middleware does per request (in-flight gauge, trace
//! exemplar, duration histogram) and what a client does per call, on one thread with sampled
//! trace contexts; then the size and encoding time of one scrape of the registry it filled.
//! Prints `key=value` lines bench.py reads.

use std::collections::HashMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use pkg_tracing::metrics::{ClientLabels, Metrics, TraceExemplar};
use pkg_tracing::{TelemetryConfig, context_from_headers, init_with};

fn main() {
    let iterations: u32 = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(1_000_000);
    // The real propagators (and no exporter), so the contexts below are sampled remote spans.
    let config = TelemetryConfig::from_lookup("bench-metrics", "0", false, |name| match name {
        "OTEL_TRACES_EXPORTER" => Some("none".into()),
        "RUST_LOG" => Some("off".into()),
        _ => None,
    })
    .expect("a valid config");
    let _telemetry = init_with(config).expect("telemetry starts");
    let contexts: Vec<_> = (0..1024u64)
        .map(|i| {
            let headers = HashMap::from([(
                "traceparent".to_owned(),
                format!("00-{:032x}-{:016x}-01", 0x4bf9_2f35_77b3_4da6_u128 << 32 | u128::from(i), i + 1),
            )]);
            context_from_headers(&headers)
        })
        .collect();
    assert!(TraceExemplar::of_context(&contexts[0]).is_some(), "the contexts are sampled");

    let metrics = Metrics::builder().build();
    let server = metrics.http_server().clone();
    let client = metrics.http_client();
    // Routes and statuses of a busy controller: a realistic number of series.
    let routes = [
        "/api/v1/scrape",
        "/api/v1/jobs",
        "/api/v1/jobs/{id}",
        "/api/v1/documents",
        "/api/v1/documents/{id}",
    ];
    let statuses = [200u16, 201, 202, 404, 415];
    let took = Duration::from_micros(2_345);

    let started = Instant::now();
    for i in 0..iterations as usize {
        let route = routes[i % routes.len()];
        let cx = &contexts[i % contexts.len()];
        // Exactly the middleware's steps (the route template is an owned String there too).
        let in_flight = server.start("POST", route);
        let exemplar = TraceExemplar::of_context(cx);
        drop(black_box(in_flight));
        server.record("POST", route.to_owned(), statuses[i % statuses.len()], took, exemplar);
    }
    let server_ns = started.elapsed().as_nanos() as f64 / f64::from(iterations);

    let peers = ["scraper", "analyzer", "controller", "external"];
    let started = Instant::now();
    for i in 0..iterations as usize {
        let cx = &contexts[i % contexts.len()];
        let labels = ClientLabels {
            peer: peers[i % peers.len()].to_owned(),
            method: "POST",
            status_code: statuses[i % statuses.len()].to_string(),
        };
        client.record(&labels, took, TraceExemplar::of_context(cx));
    }
    let client_ns = started.elapsed().as_nanos() as f64 / f64::from(iterations);

    let text = metrics.encode();
    let rounds = 200;
    let started = Instant::now();
    for _ in 0..rounds {
        black_box(metrics.encode());
    }
    let encode_us = started.elapsed().as_secs_f64() * 1e6 / f64::from(rounds);
    println!("iterations={iterations}");
    println!("server_request_ns={server_ns:.0}");
    println!("client_call_ns={client_ns:.0}");
    println!("scrape_bytes={}", text.len());
    println!("scrape_series={}", text.lines().filter(|l| !l.starts_with('#')).count());
    println!("scrape_encode_us={encode_us:.0}");
}
