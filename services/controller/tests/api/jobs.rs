use std::time::Duration;

use futures_util::StreamExt as _;
use pkg_tracing::harness::{SpanKind, render_trace};
use serde_json::json;

use crate::helpers::{
    PATIENCE, closed_port, settings, spawn_analyzer, spawn_app, spawn_app_with, spawn_scraper,
};

#[actix_web::test]
async fn a_job_is_queued_run_and_linked_to_its_document() {
    let app = spawn_app().await;
    let reply = app.submit(&app.page("/tracing")).await;
    assert_eq!(reply.status, 202, "{}", reply.body);
    let id = reply.body["id"].as_str().unwrap().to_owned();
    assert_eq!(reply.headers.get("location").unwrap(), &format!("/api/v1/jobs/{id}"));
    // The 202 is the row as inserted: queued, no attempt made yet (a worker counts it at claim).
    assert_eq!((reply.body["status"].as_str(), reply.body["attempts"].as_i64()), (Some("queued"), Some(0)));

    let job = app.wait_for_job(&id, "succeeded", |j| j["status"] == "succeeded").await;
    assert_eq!(job["attempts"], 1);
    assert_eq!(job["error"], serde_json::Value::Null);
    let document = app
        .request("GET", &format!("/api/v1/documents/{}", job["document_id"].as_str().unwrap()), None)
        .await;
    assert_eq!(document.status, 200);
    assert_eq!(document.body["title"], "Tracing");
    assert_eq!(document.body["trace_id"], job["trace_id"], "the document was made in the job's trace");
}

#[actix_web::test]
async fn the_worker_continues_the_submitting_requests_trace() {
    let app = spawn_app().await;
    let reply = app.submit(&app.page("/gardens")).await;
    let trace_id =
        reply.headers.get("traceresponse").unwrap().to_str().unwrap().split('-').nth(1).unwrap().to_owned();
    assert_eq!(reply.body["trace_id"], trace_id.as_str());
    app.wait_for_job(reply.body["id"].as_str().unwrap(), "succeeded", |j| j["status"] == "succeeded").await;

    let spans = app.collector.wait_for_span(&trace_id, "job.run", PATIENCE).await.unwrap();
    let tree = render_trace(&spans);
    let submit = spans
        .iter()
        .find(|s| s.name == "POST /api/v1/jobs" && s.kind == SpanKind::Server)
        .expect("submit span");
    let run = spans.iter().find(|s| s.name == "job.run").unwrap_or_else(|| panic!("no job.run:\n{tree}"));
    assert_eq!(run.parent_span_id.as_deref(), Some(submit.span_id.as_str()), "{tree}");
    assert_eq!(run.attr("job.attempt").and_then(|v| v.as_i64()), Some(1));
    assert!(run.attr("job.queue_wait_ms").is_some());
    let scrape_call = spans
        .iter()
        .find(|s| s.name == "POST /v1/scrape" && s.kind == SpanKind::Client)
        .expect("scrape call");
    assert_eq!(scrape_call.parent_span_id.as_deref(), Some(run.span_id.as_str()), "{tree}");
}

#[actix_web::test]
async fn transient_failures_are_retried_until_the_analyzer_is_back() {
    let scraper = spawn_scraper().await;
    let analyzer_port = closed_port();
    let app = spawn_app_with(|db| {
        let mut s = settings(db, scraper, analyzer_port);
        s.job_max_attempts = 6;
        s.job_retry_base = Duration::from_millis(200);
        s
    })
    .await;
    let id = app.submit(&app.page("/rivers")).await.body["id"].as_str().unwrap().to_owned();
    let failed_once = app
        .wait_for_job(&id, "retried", |j| j["attempts"].as_i64() >= Some(1) && j["status"] == "queued")
        .await;
    assert_eq!(failed_once["error"]["code"], "analyzer_unavailable", "{failed_once}");

    spawn_analyzer(analyzer_port).await;
    let job = app.wait_for_job(&id, "succeeded", |j| j["status"] == "succeeded").await;
    assert!(job["attempts"].as_i64().unwrap() >= 2, "{job}");
    assert_eq!(job["error"], serde_json::Value::Null, "a success clears the last error");
}

#[actix_web::test]
async fn a_job_fails_for_good_after_its_attempts_or_at_once_on_a_permanent_error() {
    let analyzer = spawn_analyzer(0).await;
    let app = spawn_app_with(|db| settings(db, closed_port(), analyzer)).await;
    let id = app.submit(&app.page("/tracing")).await.body["id"].as_str().unwrap().to_owned();
    let job = app.wait_for_job(&id, "failed", |j| j["status"] == "failed").await;
    assert_eq!(job["attempts"], 3, "JOB_MAX_ATTEMPTS");
    assert_eq!(job["error"]["code"], "scraper_unavailable");
    assert!(job["finished_at"].is_string());

    let app = spawn_app().await;
    let id = app.submit(&app.page("/image")).await.body["id"].as_str().unwrap().to_owned();
    let job = app.wait_for_job(&id, "failed", |j| j["status"] == "failed").await;
    assert_eq!(job["attempts"], 1, "a 415 will not get better: {job}");
    assert_eq!(job["error"]["code"], "not_html");
}

#[actix_web::test]
async fn only_queued_jobs_can_be_cancelled() {
    let analyzer = spawn_analyzer(0).await;
    let app = spawn_app_with(|db| {
        let mut s = settings(db, closed_port(), analyzer);
        s.job_retry_base = Duration::from_secs(60);
        s
    })
    .await;
    let id = app.submit(&app.page("/tracing")).await.body["id"].as_str().unwrap().to_owned();
    app.wait_for_job(&id, "waiting to retry", |j| j["status"] == "queued" && j["attempts"] == 1).await;
    let cancelled = app.request("DELETE", &format!("/api/v1/jobs/{id}"), None).await;
    assert_eq!(
        (cancelled.status, cancelled.body["status"].as_str()),
        (200, Some("cancelled")),
        "{}",
        cancelled.body
    );
    let again = app.request("DELETE", &format!("/api/v1/jobs/{id}"), None).await;
    assert_eq!((again.status, again.body["error"]["code"].as_str()), (409, Some("job_not_cancellable")));
    let missing = app.request("DELETE", &format!("/api/v1/jobs/{}", uuid_v4()), None).await;
    assert_eq!((missing.status, missing.body["error"]["code"].as_str()), (404, Some("job_not_found")));
}

#[actix_web::test]
async fn job_events_stream_every_stage_to_the_end() {
    let app = spawn_app().await;
    let id = app.submit(&app.page("/slow")).await.body["id"].as_str().unwrap().to_owned();
    let client = awc::Client::builder().timeout(PATIENCE).finish();
    let mut response = client.get(format!("{}/api/v1/jobs/{id}/events", app.address)).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers().get("content-type").unwrap(), "text/event-stream");
    let mut text = String::new();
    let read = async {
        while let Some(chunk) = response.next().await {
            text.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
        }
    };
    actix_web::rt::time::timeout(PATIENCE, read).await.expect("the stream ends after the final event");
    let stages: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("event: ")).collect();
    assert_eq!(stages.last(), Some(&"succeeded"), "{text}");
    for stage in ["scraping", "analyzing", "storing"] {
        assert!(stages.contains(&stage), "{stage} missing from {stages:?}");
    }
    let last_data = text.lines().filter_map(|l| l.strip_prefix("data: ")).next_back().unwrap();
    let last: serde_json::Value = serde_json::from_str(last_data).unwrap();
    assert_eq!((last["final"].as_bool(), last["job_id"].as_str()), (Some(true), Some(id.as_str())));
    assert!(last["detail"]["document_id"].is_string());
}

#[actix_web::test]
async fn jobs_are_listed_newest_first_and_filtered_by_status() {
    let app = spawn_app().await;
    let ok = app.submit(&app.page("/tracing")).await.body["id"].as_str().unwrap().to_owned();
    let bad = app.submit(&app.page("/image")).await.body["id"].as_str().unwrap().to_owned();
    app.wait_for_job(&ok, "done", |j| j["status"] == "succeeded").await;
    app.wait_for_job(&bad, "done", |j| j["status"] == "failed").await;
    let all = app.request("GET", "/api/v1/jobs", None).await.body;
    let ids: Vec<&str> = all["items"].as_array().unwrap().iter().map(|j| j["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [bad.as_str(), ok.as_str()]);
    let failed = app.request("GET", "/api/v1/jobs?status=failed", None).await.body;
    assert_eq!(failed["items"].as_array().unwrap().len(), 1);
    assert_eq!(failed["items"][0]["id"], bad.as_str());
    let page = app.request("GET", "/api/v1/jobs?limit=1", None).await.body;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let next = app
        .request(
            "GET",
            &format!("/api/v1/jobs?limit=1&cursor={}", page["next_cursor"].as_str().unwrap()),
            None,
        )
        .await
        .body;
    assert_eq!(next["items"][0]["id"], ok.as_str());
    assert_eq!(next["next_cursor"], serde_json::Value::Null);
    for (query, code) in [
        ("status=done", "invalid_status"),
        ("limit=0", "invalid_limit"),
        ("limit=-5", "invalid_limit"),
        ("cursor=xyz", "invalid_cursor"),
        ("stauts=failed", "invalid_query"),
    ] {
        let reply = app.request("GET", &format!("/api/v1/jobs?{query}"), None).await;
        assert_eq!((reply.status, reply.body["error"]["code"].as_str()), (400, Some(code)), "{query}");
    }
}

#[actix_web::test]
async fn an_idempotency_key_makes_a_repeated_submission_return_the_first_job() {
    let app = spawn_app().await;
    let order = json!({ "url": app.page("/tracing") });
    let key = [("Idempotency-Key", "schedule:abc:2026-01-01T00:00:00.000Z")];
    let first = app.request_with("POST", "/api/v1/jobs", Some(order.clone()), &key).await;
    assert_eq!(first.status, 202, "{}", first.body);
    let again = app.request_with("POST", "/api/v1/jobs", Some(order.clone()), &key).await;
    assert_eq!((again.status, &again.body["id"]), (200, &first.body["id"]), "{}", again.body);
    assert_eq!(again.headers.get("location"), first.headers.get("location"));

    let other = json!({ "url": app.page("/rivers") });
    let reused = app.request_with("POST", "/api/v1/jobs", Some(other), &key).await;
    assert_eq!((reused.status, reused.body["error"]["code"].as_str()), (409, Some("idempotency_key_reused")));
    for bad in ["has space", &"k".repeat(201)] {
        let reply =
            app.request_with("POST", "/api/v1/jobs", Some(order.clone()), &[("Idempotency-Key", bad)]).await;
        assert_eq!(
            (reply.status, reply.body["error"]["code"].as_str()),
            (400, Some("invalid_idempotency_key"))
        );
    }
    let jobs = app.request("GET", "/api/v1/jobs", None).await.body;
    assert_eq!(jobs["items"].as_array().unwrap().len(), 1, "one job for one key: {jobs}");
}

#[actix_web::test]
async fn a_retried_attempt_stays_in_the_submitting_trace_and_links_to_the_previous_attempt() {
    let scraper = spawn_scraper().await;
    let analyzer_port = closed_port();
    let app = spawn_app_with(|db| {
        let mut s = settings(db, scraper, analyzer_port);
        s.job_retry_base = Duration::from_millis(300);
        s
    })
    .await;
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let headers = [("traceparent", traceparent), ("tracestate", "skein=t61rcWkgMzE")];
    let order = json!({ "url": app.page("/rivers") });
    let id = app.request_with("POST", "/api/v1/jobs", Some(order), &headers).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.wait_for_job(&id, "retried", |j| j["attempts"] == 1 && j["status"] == "queued").await;
    spawn_analyzer(analyzer_port).await;
    app.wait_for_job(&id, "succeeded", |j| j["status"] == "succeeded").await;

    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let spans = app
        .collector
        .wait_for("both attempts", PATIENCE, |spans| {
            spans.iter().filter(|s| s.trace_id == trace_id && s.name == "job.run").count() == 2
        })
        .await
        .unwrap();
    let spans: Vec<_> = spans.into_iter().filter(|s| s.trace_id == trace_id).collect();
    let tree = render_trace(&spans);
    let submit = spans.iter().find(|s| s.name == "POST /api/v1/jobs").unwrap_or_else(|| panic!("{tree}"));
    let attempt = |n: i64| {
        spans
            .iter()
            .find(|s| s.name == "job.run" && s.attr("job.attempt").and_then(|a| a.as_i64()) == Some(n))
            .unwrap_or_else(|| panic!("no attempt {n}:\n{tree}"))
    };
    let (first, second) = (attempt(1), attempt(2));
    for run in [first, second] {
        assert_eq!(run.parent_span_id.as_deref(), Some(submit.span_id.as_str()), "{tree}");
        assert_eq!(run.trace_state, "skein=t61rcWkgMzE", "tracestate travels with the job");
    }
    assert!(first.links.is_empty(), "the first attempt has no predecessor");
    assert_eq!(second.links, [(trace_id.to_owned(), first.span_id.clone())], "{tree}");
}

fn uuid_v4() -> String {
    "7b1d5e9c-2f4a-4c8e-9d3b-1a2b3c4d5e6f".into()
}
