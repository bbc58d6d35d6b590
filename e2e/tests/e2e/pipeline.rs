//! One request across all four services is one trace, with every edge Tempo would draw, and
//! the data survives restarts.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use pkg_tracing::harness::{Collector, EdgeKind, PEER_ATTRIBUTES, render_edges, render_trace, service_graph};
use serde_json::json;
use skein_e2e::{PATIENCE, Site, Stack};

use crate::helpers::{call, services, settled_trace, temp_dir};

#[actix_web::test]
async fn one_request_is_one_trace_across_all_four_services_and_data_survives_restarts() {
    let collector = Collector::start().expect("collector");
    let site = Site::start().await;
    let data = temp_dir("pipeline");
    let began = Instant::now();
    let mut stack = Stack::start(&collector.endpoint(), data.path().to_path_buf(), "127.0.0.1/32").await;
    println!("four services started and ready in {:.2} s", began.elapsed().as_secs_f64());

    // 0. The container health check answers for a ready service, and only for it.
    let healthcheck = |port: u16, path: &str| {
        std::process::Command::new(skein_e2e::binary("healthcheck"))
            .args([&port.to_string(), path])
            .status()
            .unwrap()
    };
    assert!(healthcheck(stack.controller.port, "/ready").success());
    assert!(healthcheck(stack.scheduler.port, "/health").success());
    assert_eq!(healthcheck(stack.controller.port, "/no-such-path").code(), Some(1));
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    assert_eq!(healthcheck(closed, "/health").code(), Some(1));

    // 1. A synchronous scrape: controller, scraper and analyzer in one trace.
    let started = Instant::now();
    let scrape =
        call("POST", &stack.controller.url("/api/v1/scrape"), Some(json!({ "url": site.url("/article") })))
            .await;
    let sync_ms = started.elapsed().as_secs_f64() * 1e3;
    assert_eq!(scrape.status, 201, "{}", scrape.body);
    let scrape_trace = scrape.trace_id.clone().expect("traceresponse");
    assert_eq!(scrape.body["trace_id"], scrape_trace.as_str(), "the document names the request's trace");
    let spans = settled_trace(&collector, &scrape_trace, &["controller", "scraper", "analyzer"]).await;
    println!("synchronous scrape, end to end: {sync_ms:.1} ms\n{}", render_trace(&spans));
    // Each milestone is a span event of the service that reached it (README: "Find a trace").
    for (service, event) in [
        ("scraper", "page.fetched"),
        ("scraper", "text.extracted"),
        ("analyzer", "analysis.completed"),
        ("controller", "cache.miss"),
        ("controller", "document.stored"),
    ] {
        let on_service = |s: &&pkg_tracing::harness::RecordedSpan| s.service == service;
        assert!(
            spans.iter().filter(on_service).any(|s| s.events.iter().any(|(name, _)| name == event)),
            "no {event} on a {service} span:\n{}",
            render_trace(&spans)
        );
    }

    // 2. A schedule created and run through the API: all four services in one trace.
    let schedule = call(
        "POST",
        &stack.scheduler.url("/api/v1/schedules"),
        Some(json!({ "name": "e2e", "cron": "0 0 1 1 *", "url": site.url("/second") })),
    )
    .await;
    assert_eq!(schedule.status, 201, "{}", schedule.body);
    let schedule_id = schedule.body["id"].as_str().unwrap().to_owned();
    let run = call("POST", &stack.scheduler.url(&format!("/api/v1/schedules/{schedule_id}/run")), None).await;
    assert_eq!(run.status, 200, "{}", run.body);
    let run_trace = run.trace_id.clone().expect("traceresponse");
    let job_id = run.body["job"]["id"].as_str().unwrap().to_owned();
    let run_spans =
        settled_trace(&collector, &run_trace, &["scheduler", "controller", "scraper", "analyzer"]).await;
    assert!(run_spans.iter().any(|s| s.name == "schedule.run" && s.service == "scheduler"));
    assert!(
        run_spans.iter().any(|s| s.name == "POST /api/v1/schedules/{id}/run"
            && s.attr_str("schedule.id") == Some(schedule_id.as_str())),
        "the run request is found by its schedule.id"
    );
    assert!(run_spans.iter().any(|s| s.name == "job.run" && s.service == "controller"));
    println!("scheduled run:\n{}", render_trace(&run_spans));
    let deadline = Instant::now() + PATIENCE;
    loop {
        let job = call("GET", &stack.controller.url(&format!("/api/v1/jobs/{job_id}")), None).await.body;
        if job["status"] == "succeeded" {
            assert_eq!(job["trace_id"], run_trace.as_str());
            break;
        }
        assert!(Instant::now() < deadline, "the scheduled job never succeeded: {job}");
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }

    // 3. The edges Tempo's service graph would draw.
    let mut all = spans.clone();
    all.extend(collector.trace(&run_trace));
    let edges = service_graph(&all, &PEER_ATTRIBUTES);
    println!("{}", render_edges(&edges));
    let has = |client: &str, server: &str, kind: EdgeKind| {
        edges.iter().any(|e| e.client == client && e.server == server && e.kind == kind && e.failed == 0)
    };
    assert!(has("scheduler", "controller", EdgeKind::Paired), "{edges:?}");
    assert!(has("controller", "scraper", EdgeKind::Paired), "{edges:?}");
    assert!(has("controller", "analyzer", EdgeKind::Paired), "{edges:?}");
    assert!(has("scraper", "127.0.0.1", EdgeKind::Virtual), "the site as a virtual node: {edges:?}");
    assert!(has("controller", "controller-db", EdgeKind::Virtual), "the database node: {edges:?}");
    assert!(has("scheduler", "scheduler-db", EdgeKind::Virtual), "{edges:?}");
    assert_eq!(services(&all), BTreeSet::from(["analyzer", "controller", "scheduler", "scraper"]));

    // 4. Restarting controller and scheduler loses nothing.
    let documents_before = call("GET", &stack.controller.url("/api/v1/documents"), None).await.body;
    let jobs_before = call("GET", &stack.controller.url("/api/v1/jobs"), None).await.body;
    let restarting = Instant::now();
    stack.restart_controller_and_scheduler().await;
    println!("controller and scheduler restarted in {:.2} s", restarting.elapsed().as_secs_f64());
    let documents_after = call("GET", &stack.controller.url("/api/v1/documents"), None).await.body;
    let jobs_after = call("GET", &stack.controller.url("/api/v1/jobs"), None).await.body;
    let schedule_after =
        call("GET", &stack.scheduler.url(&format!("/api/v1/schedules/{schedule_id}")), None).await;
    assert_eq!(documents_after["items"].as_array().unwrap().len(), 2);
    assert_eq!(documents_after, documents_before, "documents intact");
    assert_eq!(jobs_after, jobs_before, "jobs intact");
    assert_eq!(schedule_after.status, 200);
    assert_eq!(schedule_after.body["last_job_id"], job_id.as_str(), "the schedule remembers its run");

    // 5. Trace context never left for the third-party site.
    let names = site.header_names();
    assert!(!names.is_empty());
    for forbidden in ["traceparent", "tracestate", "baggage", "x-correlation-id"] {
        assert!(!names.iter().any(|n| n == forbidden), "the site received {forbidden}");
    }
}
