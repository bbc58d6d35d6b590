use std::time::Duration;

use pkg_tracing::harness::{SpanKind, render_trace};
use serde_json::json;
use skein_scheduler::store::Store;

use crate::helpers::{PATIENCE, spawn_alone, spawn_app};

#[actix_web::test]
async fn a_manual_run_queues_a_job_inside_one_trace() {
    let app = spawn_app().await;
    let id = app.create("manual", "0 0 1 1 *", &app.page()).await.body["id"].as_str().unwrap().to_owned();
    let run = app.request("POST", &format!("/api/v1/schedules/{id}/run"), None).await;
    assert_eq!(run.status, 200, "{}", run.body);
    let job_id = run.body["job"]["id"].as_str().unwrap().to_owned();
    assert_eq!(run.body["schedule"]["last_status"], "ok");
    assert_eq!(run.body["schedule"]["last_job_id"], job_id.as_str());
    assert!(run.body["schedule"]["last_run_at"].is_string());

    let job = app
        .wait_for(&app.controller, &format!("/api/v1/jobs/{job_id}"), "succeeded", |j| {
            j["status"] == "succeeded"
        })
        .await;
    let trace_id =
        run.headers.get("traceresponse").unwrap().to_str().unwrap().split('-').nth(1).unwrap().to_owned();
    assert_eq!(job["trace_id"], trace_id.as_str(), "the job runs in the run's trace");

    // job.run ends last (after the document is stored): wait for it, not for a span count.
    let spans = app.collector.wait_for_span(&trace_id, "job.run", PATIENCE).await.unwrap();
    let tree = render_trace(&spans);
    let server = spans
        .iter()
        .find(|s| s.name == "POST /api/v1/schedules/{id}/run")
        .unwrap_or_else(|| panic!("{tree}"));
    let run_span = spans.iter().find(|s| s.name == "schedule.run").unwrap_or_else(|| panic!("{tree}"));
    assert_eq!(run_span.parent_span_id.as_deref(), Some(server.span_id.as_str()), "{tree}");
    assert_eq!(run_span.attr_str("schedule.trigger"), Some("manual"));
    let call = spans
        .iter()
        .find(|s| s.kind == SpanKind::Client && s.attr_str("peer.service") == Some("controller"))
        .unwrap_or_else(|| panic!("{tree}"));
    assert_eq!(call.parent_span_id.as_deref(), Some(run_span.span_id.as_str()), "{tree}");
    let submitted = spans
        .iter()
        .find(|s| s.name == "POST /api/v1/jobs" && s.kind == SpanKind::Server)
        .unwrap_or_else(|| panic!("{tree}"));
    assert_eq!(submitted.parent_span_id.as_deref(), Some(call.span_id.as_str()), "{tree}");
    assert!(spans.iter().any(|s| s.name == "job.run"), "{tree}");
    assert!(spans.iter().any(|s| s.name == "POST /v1/analyze" && s.kind == SpanKind::Server), "{tree}");
}

#[actix_web::test]
async fn a_due_schedule_runs_on_its_own_as_a_root_span_and_changes_apply_at_once() {
    let app = spawn_app().await;
    // Far in the future first; the PUT must wake the loop for the new cron to apply.
    let id =
        app.create("every second", "0 0 1 1 *", &app.page()).await.body["id"].as_str().unwrap().to_owned();
    let every_second = json!({ "name": "every second", "cron": "* * * * * *", "url": app.page() });
    assert_eq!(app.request("PUT", &format!("/api/v1/schedules/{id}"), Some(every_second)).await.status, 200);

    let schedule = app
        .wait_for(&app.address, &format!("/api/v1/schedules/{id}"), "run", |s| s["last_status"] == "ok")
        .await;
    assert!(schedule["next_run_at"].as_str().unwrap() > schedule["last_run_at"].as_str().unwrap());
    let job_id = schedule["last_job_id"].as_str().unwrap().to_owned();
    let job = app
        .wait_for(&app.controller, &format!("/api/v1/jobs/{job_id}"), "known", |j| j["id"] == job_id.as_str())
        .await;
    let trace_id = job["trace_id"].as_str().unwrap().to_owned();
    let spans = app.collector.wait_for_span(&trace_id, "schedule.run", PATIENCE).await.unwrap();
    let root =
        spans.iter().find(|s| s.name == "schedule.run").unwrap_or_else(|| panic!("{}", render_trace(&spans)));
    assert_eq!(root.parent_span_id, None, "a tick starts its own trace");
    assert_eq!(root.attr_str("schedule.trigger"), Some("cron"));
    assert_eq!(root.attr_str("schedule.cron"), Some("* * * * * *"));

    let off = json!({ "name": "every second", "cron": "* * * * * *", "url": app.page(), "enabled": false });
    let put = app.request("PUT", &format!("/api/v1/schedules/{id}"), Some(off)).await;
    assert_eq!((put.status, &put.body["next_run_at"]), (200, &serde_json::Value::Null), "{}", put.body);
    // Once the PUT has committed, the loop no longer sees the schedule as due, so every tick
    // claimed from now on would have a fire time after this instant. A run already in flight
    // (claimed before the PUT) may still finish: that is allowed, and no longer guessed at.
    let disabled_at = jiff::Timestamp::now();
    // Two would-be ticks of an every-second schedule.
    actix_web::rt::time::sleep(Duration::from_millis(2500)).await;
    let ticks = Store::open(&app.database_url).await.unwrap().ticks(&id).await.unwrap();
    assert!(!ticks.is_empty(), "the schedule's earlier run claimed a tick");
    let after: Vec<_> = ticks
        .iter()
        .filter(|(fire_at, _)| fire_at.parse::<jiff::Timestamp>().unwrap() > disabled_at)
        .collect();
    assert!(after.is_empty(), "a disabled schedule stops running: ticks after {disabled_at}: {after:?}");
    let later = app.request("GET", &format!("/api/v1/schedules/{id}"), None).await.body;
    assert_eq!(later["next_run_at"], serde_json::Value::Null, "and has no next run: {later}");
}

#[actix_web::test]
async fn a_run_against_a_missing_controller_fails_with_the_cause_and_is_recorded() {
    let app = spawn_alone().await;
    let id = app.create("doomed", "0 0 1 1 *", "https://example.com/").await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let run = app.request("POST", &format!("/api/v1/schedules/{id}/run"), None).await;
    assert_eq!(
        (run.status, run.body["error"]["code"].as_str()),
        (503, Some("controller_unavailable")),
        "{}",
        run.body
    );
    let schedule = app.request("GET", &format!("/api/v1/schedules/{id}"), None).await.body;
    assert_eq!(schedule["last_status"], "error");
    assert!(schedule["last_error"].as_str().unwrap().starts_with("controller_unavailable"));
    assert_eq!(schedule["last_job_id"], serde_json::Value::Null);
}
