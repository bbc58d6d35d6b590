//! Faults with real processes: a callee killed and restarted, SIGTERM under load, a crash
//! with a job running, and injected faults for the demo.

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use pkg_tracing::harness::{Collector, EdgeKind, PEER_ATTRIBUTES, SpanKind, service_graph};
use serde_json::{Value, json};
use skein_e2e::{PATIENCE, Site, Stack, StackEnv};

use crate::helpers::{call, temp_dir};

async fn wait_job(stack: &Stack, id: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let job = call("GET", &stack.controller.url(&format!("/api/v1/jobs/{id}")), None).await.body;
        if done(&job) {
            return job;
        }
        assert!(Instant::now() < deadline, "job {id} never {what}: {job}");
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
}

#[actix_web::test]
async fn a_killed_analyzer_fails_requests_with_the_cause_and_queued_jobs_recover_when_it_returns() {
    let collector = Collector::start().unwrap();
    let site = Site::start().await;
    let data = temp_dir("killed");
    let mut env = StackEnv::allowing("127.0.0.1/32");
    env.controller.push(("JOB_MAX_ATTEMPTS".into(), "30".into()));
    let mut stack = Stack::start_with(&collector.endpoint(), data.path().to_path_buf(), env).await;
    let order = json!({ "url": site.url("/article"), "force": true });
    // The analyzer dies before any job reaches it, and stays down until every job has failed
    // once: each job is forced through a real retry.
    stack.kill_analyzer();
    let mut jobs = Vec::new();
    for _ in 0..10 {
        let submitted = call("POST", &stack.controller.url("/api/v1/jobs"), Some(order.clone())).await;
        assert_eq!(submitted.status, 202, "{}", submitted.body);
        jobs.push(submitted.body["id"].as_str().unwrap().to_owned());
    }
    let down = call("POST", &stack.controller.url("/api/v1/scrape"), Some(order.clone())).await;
    assert_eq!(
        (down.status, down.body["error"]["code"].as_str()),
        (503, Some("analyzer_unavailable")),
        "{}",
        down.body
    );
    assert!(down.body["error"]["message"].as_str().unwrap().contains("unreachable"));
    let trace = down.trace_id.clone().unwrap();
    let spans = collector.wait_for_span(&trace, "POST /api/v1/scrape", PATIENCE).await.unwrap();
    let failed_call = spans
        .iter()
        .find(|s| s.kind == SpanKind::Client && s.name == "POST /v1/analyze")
        .expect("the failed call's span");
    assert!(
        failed_call.is_error() && failed_call.events.iter().any(|(n, _)| n == "exception"),
        "{failed_call:?}"
    );
    for id in &jobs {
        wait_job(&stack, id, "failed an attempt", |j| {
            j["attempts"].as_i64() >= Some(1) && j["error"]["code"] == "analyzer_unavailable"
        })
        .await;
    }

    stack.start_analyzer_again().await;
    let back = Instant::now();
    let recovered = call("POST", &stack.controller.url("/api/v1/scrape"), Some(order.clone())).await;
    println!(
        "first request after the analyzer's restart: {} in {:.0} ms",
        recovered.status,
        back.elapsed().as_secs_f64() * 1e3
    );
    assert_eq!(recovered.status, 201, "the first request after the restart succeeds: {}", recovered.body);
    for id in &jobs {
        let job = wait_job(&stack, id, "succeeded", |j| j["status"] == "succeeded").await;
        let attempts = job["attempts"].as_i64().unwrap();
        assert!(attempts >= 2, "the job failed during the outage and was retried: {job}");
        assert_eq!(job["error"], Value::Null, "success clears the last attempt's error: {job}");
        // Every attempt is a `job.run` span in the submitting request's trace: all but the
        // last failed on the missing analyzer.
        let trace = job["trace_id"].as_str().expect("the job's trace").to_owned();
        let runs = |spans: &[pkg_tracing::harness::RecordedSpan]| -> Vec<pkg_tracing::harness::RecordedSpan> {
            let mut runs: Vec<_> =
                spans.iter().filter(|s| s.trace_id == trace && s.name == "job.run").cloned().collect();
            runs.sort_by_key(|s| s.start_unix_nanos);
            runs
        };
        collector
            .wait_for("a job.run span per attempt", PATIENCE, |spans| runs(spans).len() as i64 >= attempts)
            .await
            .unwrap();
        let runs = runs(&collector.spans());
        assert_eq!(runs.len() as i64, attempts, "{runs:?}");
        let (last, failed) = runs.split_last().unwrap();
        assert!(!last.is_error(), "the last attempt succeeded: {last:?}");
        for run in failed {
            assert!(run.is_error(), "{run:?}");
            assert_eq!(run.attr_str("error.type"), Some("analyzer_unavailable"), "{run:?}");
        }
    }
}

#[actix_web::test]
async fn a_failed_jobs_stored_and_logged_error_keeps_the_urls_secrets_out() {
    let collector = Collector::start().unwrap();
    let site = Site::start().await;
    let data = temp_dir("redacted");
    let mut env = StackEnv::allowing("127.0.0.1/32");
    env.controller.push(("JOB_MAX_ATTEMPTS".into(), "1".into()));
    let stack = Stack::start_with(&collector.endpoint(), data.path().to_path_buf(), env).await;
    // The site has no such page: a 404, which the scraper reports with the URL it fetched.
    let order = json!({ "url": site.url("/no-such-page?token=secret&page=2") });
    let submitted = call("POST", &stack.controller.url("/api/v1/jobs"), Some(order)).await;
    assert_eq!(submitted.status, 202, "{}", submitted.body);
    let id = submitted.body["id"].as_str().unwrap().to_owned();
    let job = wait_job(&stack, &id, "failed", |j| j["status"] == "failed").await;
    let message = job["error"]["message"].as_str().expect("the failure's message");
    assert_eq!(job["error"]["code"], "upstream_error", "{job}");
    assert!(message.contains("404"), "the cause is kept: {message}");
    assert!(message.contains("token=REDACTED"), "{message}");
    assert!(!message.contains("secret") && !message.contains("page=2"), "{message}");
    let deadline = Instant::now() + PATIENCE;
    let failure_logged = |l: &Value| l["message"] == "job failed";
    while !stack.controller.log_lines().iter().any(failure_logged) {
        assert!(Instant::now() < deadline, "the failure was never logged");
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    for line in stack.controller.log_lines().iter().filter(|l| l.get("error").is_some()) {
        assert!(!line.to_string().contains("secret"), "a log line leaks the token: {line}");
    }
}

#[actix_web::test]
async fn sigterm_under_load_drains_in_flight_requests_then_flushes_every_span() {
    let collector = Collector::start().unwrap();
    let site = Site::start().await;
    let data = temp_dir("sigterm");
    let mut stack = Stack::start(&collector.endpoint(), data.path().to_path_buf(), "127.0.0.1/32").await;
    // A 5 s batch delay: without the flush at exit, these spans would be lost.
    let order = json!({ "url": site.url("/delayed"), "force": true });
    let url = stack.controller.url("/api/v1/scrape");
    let requests = join_all((0..20).map(|_| call("POST", &url, Some(order.clone()))));
    let stop = async {
        // SIGTERM once all 20 are in flight: the site has seen every request (and holds each
        // for 400 ms), however slowly this machine got there.
        let deadline = Instant::now() + PATIENCE;
        while site.received.lock().unwrap().len() < 20 {
            assert!(Instant::now() < deadline, "the requests never all reached the site");
            actix_web::rt::time::sleep(Duration::from_millis(5)).await;
        }
        stack.controller.signal_term().unwrap();
    };
    let (replies, ()) = futures_util::join!(requests, stop);
    let status = stack.controller.wait_exit(PATIENCE).unwrap();
    assert!(status.success(), "exit code 0 after draining: {status:?}");
    for reply in &replies {
        assert!(
            reply.status == 201 || reply.status == 200,
            "an in-flight request was dropped: {} {}",
            reply.status,
            reply.body
        );
        let trace = reply.trace_id.as_deref().unwrap();
        assert!(
            collector.trace(trace).iter().any(|s| s.service == "controller" && s.kind == SpanKind::Server),
            "the controller's span of trace {trace} was not flushed before exit"
        );
    }
    println!("SIGTERM with {} requests in flight: all completed, all root spans exported", replies.len());
}

#[actix_web::test]
async fn a_job_running_when_the_controller_crashes_is_run_again_after_the_restart() {
    let collector = Collector::start().unwrap();
    let site = Site::start().await;
    let data = temp_dir("crash");
    let mut stack = Stack::start(&collector.endpoint(), data.path().to_path_buf(), "127.0.0.1/32").await;
    let submitted =
        call("POST", &stack.controller.url("/api/v1/jobs"), Some(json!({ "url": site.url("/very-slow") })))
            .await;
    let id = submitted.body["id"].as_str().unwrap().to_owned();
    wait_job(&stack, &id, "running", |j| j["status"] == "running").await;
    stack.crash_and_restart_controller().await;
    let job = wait_job(&stack, &id, "succeeded", |j| j["status"] == "succeeded").await;
    assert_eq!(job["attempts"], 2, "the interrupted attempt counts, and the job ran again: {job}");
}

#[actix_web::test]
async fn injected_faults_are_real_errors_marked_on_the_span_and_can_be_switched_off() {
    let collector = Collector::start().unwrap();
    let site = Site::start().await;
    let data = temp_dir("faults");
    let mut env = StackEnv::allowing("127.0.0.1/32");
    env.analyzer.push(("ADMIN_TOKEN".into(), "s3cret-token".into()));
    let stack = Stack::start_with(&collector.endpoint(), data.path().to_path_buf(), env).await;
    let admin = stack.analyzer.url("/admin/faults");
    let put = |body: Value, token: &'static str| {
        let admin = admin.clone();
        async move {
            let client = awc::Client::new();
            let mut response = client
                .put(&admin)
                .insert_header(("authorization", format!("Bearer {token}")))
                .send_json(&body)
                .await
                .unwrap();
            (response.status().as_u16(), response.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    assert_eq!(put(json!({ "error_rate": 1.0 }), "wrong").await.0, 401);
    assert_eq!(put(json!({ "error_rate": 2.0 }), "s3cret-token").await.0, 400);
    let disabled = call("GET", &stack.controller.url("/admin/faults"), None).await;
    assert_eq!((disabled.status, disabled.body["error"]["code"].as_str()), (404, Some("admin_disabled")));
    assert_eq!(
        put(json!({ "error_rate": 1.0 }), "s3cret-token").await,
        (200, json!({ "error_rate": 1.0, "latency_ms": "0" }))
    );

    let order = json!({ "url": site.url("/article"), "force": true });
    let failed = call("POST", &stack.controller.url("/api/v1/scrape"), Some(order.clone())).await;
    assert_eq!(
        (failed.status, failed.body["error"]["code"].as_str()),
        (502, Some("analyzer_error")),
        "{}",
        failed.body
    );
    assert!(failed.body["error"]["message"].as_str().unwrap().contains("Injected fault"));
    let trace = failed.trace_id.unwrap();
    // The analyzer and the controller export on their own schedules: wait for both spans.
    let both = |spans: &[pkg_tracing::harness::RecordedSpan]| {
        let has = |service: &str, name: &str| {
            spans.iter().any(|s| s.trace_id == trace && s.service == service && s.name == name)
        };
        has("controller", "POST /api/v1/scrape") && has("analyzer", "POST /v1/analyze")
    };
    collector.wait_for("the controller's and the analyzer's spans", PATIENCE, both).await.unwrap();
    let spans = collector.trace(&trace);
    let injected = spans
        .iter()
        .find(|s| s.service == "analyzer" && s.kind == SpanKind::Server)
        .expect("the analyzer's span");
    assert!(injected.is_error());
    assert_eq!(injected.attr("fault.injected"), Some(&pkg_tracing::harness::AttrValue::Bool(true)));
    let edges = service_graph(&spans, &PEER_ATTRIBUTES);
    assert!(
        edges.iter().any(|e| e.client == "controller"
            && e.server == "analyzer"
            && e.kind == EdgeKind::Paired
            && e.failed == 1),
        "{edges:?}"
    );
    assert_eq!(
        call("GET", &stack.analyzer.url("/health"), None).await.status,
        200,
        "probes are never faulted"
    );

    assert_eq!(put(json!({ "error_rate": 0.0, "latency_ms": "300" }), "s3cret-token").await.0, 200);
    let started = Instant::now();
    let slow = call("POST", &stack.analyzer.url("/v1/analyze"), Some(json!({ "text": "fine" }))).await;
    assert_eq!(slow.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300), "the injected latency applies");
    assert_eq!(put(json!({ "error_rate": 0.0, "latency_ms": 0 }), "s3cret-token").await.0, 200);
    assert_eq!(
        call("POST", &stack.controller.url("/api/v1/scrape"), Some(order)).await.status,
        201,
        "switched off again"
    );
}
