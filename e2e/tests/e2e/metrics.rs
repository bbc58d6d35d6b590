//! Metrics that open traces, with a real Prometheus (Debian's package): it scrapes the four
//! binaries' `/metrics` in the OpenMetrics format with exemplar storage on, and the trace ids
//! of the request-duration exemplars it stores are traces the collector received.

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use pkg_tracing::harness::openmetrics;
use pkg_tracing::harness::{Collector, render_trace};
use serde_json::{Value, json};
use skein_e2e::{PATIENCE, Site, Stack};

use crate::helpers::{call, settled_trace, temp_dir};

const DURATION_BUCKETS: &str = "http_server_request_duration_seconds_bucket";

/// A Prometheus server on a free loopback port with its own data directory; killed on drop.
struct Prometheus {
    child: Child,
    base: String,
}

impl Prometheus {
    /// Scrapes each `(job, port)` on 127.0.0.1 every 500 ms.
    async fn start(dir: &Path, targets: &[(&str, u16)]) -> Prometheus {
        let scrape_configs: Vec<String> = targets
            .iter()
            .map(|(job, port)| {
                format!("  - job_name: {job}\n    metrics_path: /metrics\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n")
            })
            .collect();
        let config = format!(
            "global:\n  scrape_interval: 500ms\n  scrape_timeout: 400ms\nscrape_configs:\n{}",
            scrape_configs.concat()
        );
        let config_path = dir.join("prometheus.yml");
        std::fs::write(&config_path, config).expect("the Prometheus config is written");
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!("--storage.tsdb.path={}", dir.join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--enable-feature=exemplar-storage")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("prometheus.log")).expect("a log file"))
            .spawn()
            .expect("prometheus starts (scripts/install-test-deps.sh installs Debian's package)");
        let prometheus = Prometheus { child, base: format!("http://127.0.0.1:{port}") };
        let deadline = Instant::now() + PATIENCE;
        let client = awc::Client::new();
        loop {
            let ready = client.get(format!("{}/-/ready", prometheus.base)).send().await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                return prometheus;
            }
            let log = std::fs::read_to_string(dir.join("prometheus.log")).unwrap_or_default();
            assert!(Instant::now() < deadline, "Prometheus never became ready:\n{log}");
            actix_web::rt::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn api(&self, path_and_query: &str) -> Value {
        let reply = call("GET", &format!("{}{path_and_query}", self.base), None).await;
        assert_eq!(reply.status, 200, "{path_and_query}: {}", reply.body);
        assert_eq!(reply.body["status"], "success", "{}", reply.body);
        reply.body["data"].clone()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `(job, trace_id, series labels, exemplar)` of every exemplar Prometheus holds for the
/// request-duration histogram.
fn exemplar_traces(data: &Value) -> Vec<(String, String, Value, Value)> {
    data.as_array()
        .into_iter()
        .flatten()
        .flat_map(|series| {
            let job = series["seriesLabels"]["job"].as_str().unwrap_or_default().to_owned();
            series["exemplars"].as_array().cloned().unwrap_or_default().into_iter().filter_map(move |e| {
                let trace_id = e["labels"]["trace_id"].as_str()?.to_owned();
                Some((job.clone(), trace_id, series["seriesLabels"].clone(), e))
            })
        })
        .collect()
}

#[actix_web::test]
async fn prometheus_stores_exemplars_whose_traces_the_collector_received() {
    let collector = Collector::start().expect("collector");
    let site = Site::start().await;
    let data = temp_dir("metrics");
    let stack = Stack::start(&collector.endpoint(), data.path().to_path_buf(), "127.0.0.1/32").await;
    let jobs = [
        ("analyzer", stack.analyzer.port),
        ("scraper", stack.scraper.port),
        ("controller", stack.controller.port),
        ("scheduler", stack.scheduler.port),
    ];
    let prometheus = Prometheus::start(data.path(), &jobs).await;
    let started = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs_f64() - 60.0;

    // Traffic through all four: a synchronous scrape, and a schedule run by hand.
    let scrape =
        call("POST", &stack.controller.url("/api/v1/scrape"), Some(json!({ "url": site.url("/article") })))
            .await;
    assert_eq!(scrape.status, 201, "{}", scrape.body);
    let schedule = call(
        "POST",
        &stack.scheduler.url("/api/v1/schedules"),
        Some(json!({ "name": "metrics", "cron": "0 0 1 1 *", "url": site.url("/second") })),
    )
    .await;
    assert_eq!(schedule.status, 201, "{}", schedule.body);
    let id = schedule.body["id"].as_str().unwrap();
    let run = call("POST", &stack.scheduler.url(&format!("/api/v1/schedules/{id}/run")), None).await;
    assert_eq!(run.status, 200, "{}", run.body);

    // Every target up, scraped as OpenMetrics, and exemplars from all four services stored.
    let deadline = Instant::now() + PATIENCE;
    let exemplars = loop {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs_f64();
        let data = prometheus
            .api(&format!(
                "/api/v1/query_exemplars?query={DURATION_BUCKETS}&start={started:.3}&end={:.3}",
                now + 60.0
            ))
            .await;
        let exemplars = exemplar_traces(&data);
        let jobs_seen: BTreeSet<&str> = exemplars.iter().map(|(job, _, _, _)| job.as_str()).collect();
        if jobs_seen.len() == 4 {
            break exemplars;
        }
        let targets = prometheus.api("/api/v1/targets").await;
        assert!(Instant::now() < deadline, "exemplars only from {jobs_seen:?}; targets: {targets}");
        actix_web::rt::time::sleep(Duration::from_millis(250)).await;
    };
    // The real binaries' expositions are valid OpenMetrics too; their size after this traffic.
    for (job, port) in jobs {
        let metrics = openmetrics::scrape(&format!("http://127.0.0.1:{port}")).await;
        let samples: usize = metrics.families.iter().map(|f| f.samples.len()).sum();
        let mut response =
            awc::Client::new().get(format!("http://127.0.0.1:{port}/metrics")).send().await.unwrap();
        let bytes = response.body().limit(16 << 20).await.unwrap().len();
        println!(
            "{job}: one scrape is {bytes} bytes, {} families, {samples} samples",
            metrics.families.len()
        );
    }
    // Every service has exported spans to the collector, and lost none.
    for (job, port) in jobs {
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + PATIENCE;
        while openmetrics::scrape(&base).await.value("skein_telemetry_spans_exported_total", &[]) == Some(0.0)
        {
            assert!(Instant::now() < deadline, "{job} never counted an exported span");
            actix_web::rt::time::sleep(Duration::from_millis(200)).await;
        }
        let metrics = openmetrics::scrape(&base).await;
        assert_eq!(metrics.value("skein_telemetry_spans_dropped_total", &[]), Some(0.0), "{job}");
        assert_eq!(metrics.value("skein_telemetry_export_errors_total", &[]), Some(0.0), "{job}");
    }
    let targets = prometheus.api("/api/v1/targets").await;
    for target in targets["activeTargets"].as_array().unwrap() {
        assert_eq!(target["health"], "up", "{target}");
    }

    // Each exemplar names a trace the collector received, with the service's SERVER span in it.
    for (job, trace_id, series, exemplar) in &exemplars {
        let le: f64 = series["le"]
            .as_str()
            .map_or(f64::NAN, |le| if le == "+Inf" { f64::INFINITY } else { le.parse().unwrap() });
        let value: f64 = exemplar["value"].as_str().unwrap().parse().unwrap();
        assert!(value <= le, "{job}: exemplar {value} stored on the le={le} bucket");
        let route = series["route"].as_str().unwrap_or_default();
        let name = format!("{} {route}", series["method"].as_str().unwrap_or_default());
        let spans = collector.wait_for_span(trace_id, &name, PATIENCE).await.unwrap_or_else(|e| {
            panic!("the {job} exemplar's trace {trace_id} has no span {name:?} at the collector: {e}")
        });
        assert!(spans.iter().any(|s| s.service == *job && s.name == name), "{job}: {}", render_trace(&spans));
    }
    let traces: BTreeSet<&str> = exemplars.iter().map(|(_, t, _, _)| t.as_str()).collect();
    let scrape_trace = scrape.trace_id.as_deref().unwrap();
    let run_trace = run.trace_id.as_deref().unwrap();
    assert!(
        traces.contains(scrape_trace) || traces.contains(run_trace),
        "the exemplars {traces:?} name neither request's trace"
    );

    // One exemplar and its trace, for the record.
    let (job, trace_id, series, exemplar) = exemplars
        .iter()
        .find(|(job, t, _, _)| job == "controller" && (t == scrape_trace || t == run_trace))
        .or_else(|| exemplars.iter().find(|(job, _, _, _)| job == "controller"))
        .unwrap();
    let expected: Vec<&str> = if trace_id == run_trace {
        vec!["scheduler", "controller", "scraper", "analyzer"]
    } else {
        vec!["controller", "scraper", "analyzer"]
    };
    let spans = settled_trace(&collector, trace_id, &expected).await;
    let labels: Vec<String> = series
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| k.as_str() != "__name__")
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    println!(
        "exemplar from Prometheus /api/v1/query_exemplars (job {job}):\n  {DURATION_BUCKETS}{{{}}} # {exemplar}\nits trace at the collector:\n{}",
        labels.join(","),
        render_trace(&spans)
    );
}

#[actix_web::test]
async fn failed_span_exports_are_counted_in_metrics() {
    // Nothing listens on the OTLP endpoint: every export fails.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let analyzer = skein_e2e::start_service("analyzer", &format!("http://127.0.0.1:{closed}"), "0", &[], &[]);
    skein_e2e::wait_ready(&analyzer).await;
    let reply =
        call("POST", &analyzer.url("/v1/analyze"), Some(json!({ "text": "Spans go nowhere." }))).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let deadline = Instant::now() + PATIENCE;
    let metrics = loop {
        let metrics = openmetrics::scrape(&analyzer.url("")).await;
        if metrics.value("skein_telemetry_export_errors_total", &[]).unwrap() >= 1.0 {
            break metrics;
        }
        assert!(
            Instant::now() < deadline,
            "no failed export counted: {:?}",
            metrics.family("skein_telemetry_export_errors")
        );
        actix_web::rt::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(
        metrics.value("skein_telemetry_spans_dropped_total", &[]).unwrap() >= 1.0,
        "the request's span was lost"
    );
    assert_eq!(metrics.value("skein_telemetry_spans_exported_total", &[]), Some(0.0));
}
