//! CPU per span on the thread that makes it: the cost a request pays for tracing, without the
//! exporter's own thread. One process per mode (a process has one global subscriber):
//!   none         no subscriber at all (the floor: the `tracing` macros alone)
//!   sdk-off      Skein's subscriber with `OTEL_SDK_DISABLED=true` (log layer + the span layer
//!                forwarding context only)
//!   on           Skein's subscriber exporting every span over OTLP/gRPC to an in-process
//!                collector (100 % sampling, default batch settings, RUST_LOG=info)
//! Each iteration is a request-shaped pair: a span with six attributes and a child with three.
//! Prints nanoseconds of thread CPU per span (from /proc/thread-self/schedstat).
//!
//! `cargo bench -p pkg-tracing --features harness --bench spans`

use std::process::Command;

use pkg_tracing::TelemetryConfig;
use pkg_tracing::harness::Collector;

const SPANS: u64 = 400_000;
const MODES: [&str; 3] = ["none", "sdk-off", "on"];

fn main() {
    match std::env::var("SPANS_MODE") {
        Ok(mode) => run(&mode),
        Err(_) => {
            println!("tracing CPU per span on the request's thread ({SPANS} spans per mode):");
            let mut floor = None;
            for mode in MODES {
                let exe = std::env::current_exe().unwrap();
                let out = Command::new(exe).env("SPANS_MODE", mode).output().unwrap();
                assert!(out.status.success(), "{mode}: {}", String::from_utf8_lossy(&out.stderr));
                // The subscriber logs to stdout too: the figure is the line that names it.
                let stdout = String::from_utf8_lossy(&out.stdout);
                let ns: f64 =
                    stdout.lines().find_map(|l| l.strip_prefix("ns_per_span=")).unwrap().parse().unwrap();
                let floor = *floor.get_or_insert(ns);
                println!("  {mode:<8} {:>8.0} ns per span  (+{:.0} ns over no subscriber)", ns, ns - floor);
            }
        }
    }
}

fn run(mode: &str) {
    let mut _keep = None;
    if mode != "none" {
        let collector = Collector::start().unwrap();
        let endpoint = collector.endpoint();
        let sdk_disabled = if mode == "sdk-off" { "true" } else { "false" };
        let config = TelemetryConfig::from_lookup("bench", "bench", false, |name| match name {
            "OTEL_EXPORTER_OTLP_ENDPOINT" => Some(endpoint.clone()),
            "OTEL_SDK_DISABLED" => Some(sdk_disabled.into()),
            "RUST_LOG" => Some("info".into()),
            _ => None,
        })
        .unwrap();
        let guard = pkg_tracing::init_with(config).unwrap();
        _keep = Some((collector, guard));
    }
    // Warm up (callsite registration, allocator), then measure.
    pairs(SPANS / 20);
    let cpu = thread_cpu_ns();
    pairs(SPANS / 2);
    let cpu = thread_cpu_ns() - cpu;
    println!("ns_per_span={}", cpu as f64 / SPANS as f64);
}

fn pairs(n: u64) {
    for i in 0..n {
        let request = tracing::info_span!(
            "HTTP request",
            otel.name = "POST /api/v1/scrape",
            otel.kind = "server",
            http.request.method = "POST",
            http.route = "/api/v1/scrape",
            http.response.status_code = 200_i64,
            correlation.id = %i,
        );
        let _entered = request.enter();
        let child = tracing::info_span!(
            "db",
            otel.name = "SELECT documents",
            otel.kind = "client",
            db.system.name = "sqlite",
        );
        child.in_scope(|| std::hint::black_box(i));
    }
}

/// Nanoseconds this thread has run on a CPU.
fn thread_cpu_ns() -> u64 {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap();
    stat.split_whitespace().next().unwrap().parse().unwrap()
}
