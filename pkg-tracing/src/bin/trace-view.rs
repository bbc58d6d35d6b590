//! `trace-view`: an OTLP/gRPC endpoint that prints each finished trace as a tree, followed by
//! the service-graph edges seen so far. The no-Docker way to look at Skein's traces. With
//! `--http`, it also answers Tempo's `GET /api/traces/{id}` and a service-graph route, which
//! the controller's web page reads (run-local.sh).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use pkg_tracing::harness::{
    Collector, Edge, PEER_ATTRIBUTES, RecentTraces, render_edges, render_trace, serve_http, service_graph,
};

/// Finished traces the HTTP API keeps answering for (the oldest go first).
const KEPT_TRACES: usize = 1000;

const HELP: &str = "\
trace-view: print every finished trace as a tree, then the service-graph edges so far.

Usage: trace-view [--listen ADDR] [--http ADDR] [--idle-ms MS] [--count]

  --listen ADDR   where to accept OTLP/gRPC         (env TRACE_VIEW_LISTEN, default 127.0.0.1:4317)
  --http ADDR     also answer HTTP there: GET /api/traces/{id} (Tempo's route, OTLP JSON) and
                  GET /api/service-graph?minutes=N  (env TRACE_VIEW_HTTP, default off)
                  for the controller's TEMPO_URL / TRACE_VIEW_URL; keeps the last 1000 traces
  --idle-ms MS    a trace is finished after MS ms
                  without new spans                 (env TRACE_VIEW_IDLE_MS, default 1500)
  --count         keep nothing, print span counts per service every 5 s and at exit
                  (for load runs: constant memory)

Point services at it with OTEL_EXPORTER_OTLP_ENDPOINT=http://ADDR. Ctrl-C stops it.";

struct Options {
    listen: String,
    http: Option<String>,
    idle: Duration,
    count_only: bool,
}

fn options() -> Result<Options, String> {
    let mut listen = std::env::var("TRACE_VIEW_LISTEN").unwrap_or_else(|_| "127.0.0.1:4317".into());
    let mut idle_ms = std::env::var("TRACE_VIEW_IDLE_MS").unwrap_or_else(|_| "1500".into());
    let mut count_only = false;
    let mut http = std::env::var("TRACE_VIEW_HTTP").ok().filter(|v| !v.is_empty());
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => listen = args.next().ok_or("--listen needs an address")?,
            "--http" => http = Some(args.next().ok_or("--http needs an address")?),
            "--idle-ms" => idle_ms = args.next().ok_or("--idle-ms needs a number")?,
            "--count" => count_only = true,
            "-h" | "--help" => {
                println!("{HELP}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}; see --help")),
        }
    }
    let idle_ms: u64 = idle_ms.parse().map_err(|_| format!("--idle-ms: {idle_ms:?} is not a number"))?;
    if count_only && http.is_some() {
        return Err("--count keeps no traces to serve: drop --http or --count".into());
    }
    Ok(Options { listen, http, idle: Duration::from_millis(idle_ms), count_only })
}

fn main() -> std::process::ExitCode {
    let options = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("trace-view: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let addr = match options.listen.parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("trace-view: --listen {:?}: {e}", options.listen);
            return std::process::ExitCode::from(2);
        }
    };
    let started =
        if options.count_only { Collector::start_counting_on(addr) } else { Collector::start_on(addr) };
    let collector = match started {
        // It receives for the rest of the process's life, and the HTTP thread reads it.
        Ok(c) => &*Box::leak(Box::new(c)),
        Err(e) => {
            eprintln!("trace-view: cannot listen on {addr}: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    println!("trace-view: receiving OTLP/gRPC on {}", collector.endpoint());
    // Without --http, printed traces are forgotten at once (bounded memory however long it runs).
    let recent = options.http.as_ref().map(|_| Arc::new(RecentTraces::new(KEPT_TRACES)));
    if let (Some(http), Some(recent)) = (&options.http, &recent) {
        let served = http.parse().map_err(|e| format!("--http {http:?}: {e}")).and_then(|addr| {
            serve_http(addr, collector, Arc::clone(recent))
                .map_err(|e| format!("cannot serve HTTP on {http}: {e}"))
        });
        match served {
            Ok(bound) => println!(
                "trace-view: answering GET /api/traces/{{id}} and /api/service-graph on http://{bound}"
            ),
            Err(e) => {
                eprintln!("trace-view: {e}");
                return std::process::ExitCode::from(2);
            }
        }
    }
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("trace-view: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let mut edges: BTreeMap<(String, String, String), Edge> = BTreeMap::new();
    runtime.block_on(async {
        let every = if options.count_only { Duration::from_secs(5) } else { Duration::from_millis(200) };
        let mut tick = tokio::time::interval(every);
        let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(e) => return eprintln!("trace-view: {e}"),
        };
        loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => break,
                _ = terminate.recv() => break,
                _ = tick.tick() => {
                    if options.count_only {
                        print_counts(collector);
                    } else {
                        show_finished(collector, options.idle, &mut edges, recent.as_deref());
                    }
                }
            }
        }
    });
    if options.count_only {
        print_counts(collector);
        return std::process::ExitCode::SUCCESS;
    }
    // Whatever arrived but had not gone quiet yet is still worth seeing.
    show_finished(collector, Duration::ZERO, &mut edges, recent.as_deref());
    std::process::ExitCode::SUCCESS
}

/// `spans: N (controller=a, scraper=b, ...)`, one line, for scripts to read.
fn print_counts(collector: &Collector) {
    let counts = collector.counts();
    let total: u64 = counts.values().sum();
    let parts: Vec<String> = counts.iter().map(|(service, n)| format!("{service}={n}")).collect();
    println!("spans: {total} ({})", parts.join(", "));
}

/// Prints traces quiet for `idle`, adds their edges to the running totals, and moves them out
/// of the collector: into `recent` (bounded) when HTTP is served, else nowhere.
fn show_finished(
    collector: &Collector,
    idle: Duration,
    totals: &mut BTreeMap<(String, String, String), Edge>,
    recent: Option<&RecentTraces>,
) {
    let finished: Vec<String> = collector
        .trace_arrivals()
        .into_iter()
        .filter(|(_, at)| at.elapsed() >= idle)
        .map(|(id, _)| id)
        .collect();
    if finished.is_empty() {
        return;
    }
    let mut by_start: HashMap<String, u64> = HashMap::new();
    let mut traces = Vec::new();
    for id in finished {
        let spans = collector.trace(&id);
        collector.forget(&id);
        by_start.insert(id.clone(), spans.iter().map(|s| s.start_unix_nanos).min().unwrap_or(0));
        traces.push((id, spans));
    }
    traces.sort_by_key(|(id, _)| by_start[id]);
    for (_, spans) in &traces {
        println!("{}", render_trace(spans));
        for edge in service_graph(spans, &PEER_ATTRIBUTES) {
            let key = (edge.client.clone(), edge.server.clone(), format!("{:?}", edge.kind));
            let total = totals.entry(key).or_insert(Edge { calls: 0, failed: 0, ..edge.clone() });
            total.calls += edge.calls;
            total.failed += edge.failed;
        }
    }
    let edges: Vec<Edge> = totals.values().cloned().collect();
    println!("{}", render_edges(&edges));
    if let Some(recent) = recent {
        for (id, spans) in traces {
            recent.keep(id, spans);
        }
    }
}
