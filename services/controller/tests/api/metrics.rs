//! `/metrics`: calls to the scraper and analyzer by peer with the request's trace as exemplar,
//! scrape outcomes by code, and the job queue's series.

use pkg_tracing::harness::openmetrics::{scrape, traceresponse_trace_id};

use crate::helpers::spawn_app;

const CLIENT: &str = "http_client_request_duration_seconds";

#[actix_web::test]
async fn downstream_calls_and_scrape_outcomes_are_recorded_with_the_requests_trace() {
    let app = spawn_app().await;
    let reply = app.scrape(&app.page("/tracing"), false).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let trace_id = traceresponse_trace_id(&reply.headers);
    let image = app.scrape(&app.page("/image"), false).await;
    assert_eq!((image.status, image.body["error"]["code"].as_str()), (415, Some("not_html")));

    let metrics = scrape(&app.address).await;
    let ok = [("peer", "scraper"), ("method", "POST"), ("status_code", "200")];
    assert_eq!(metrics.value(&format!("{CLIENT}_count"), &ok), Some(1.0));
    assert_eq!(
        metrics.value(&format!("{CLIENT}_count"), &[("peer", "scraper"), ("status_code", "415")]),
        Some(1.0)
    );
    assert_eq!(metrics.value(&format!("{CLIENT}_count"), &[("peer", "analyzer")]), Some(1.0));
    let analyzer_exemplars: Vec<_> = metrics
        .exemplars(CLIENT)
        .into_iter()
        .filter(|(s, _)| s.labels["peer"] == "analyzer")
        .map(|(_, e)| e.labels["trace_id"].clone())
        .collect();
    assert_eq!(
        analyzer_exemplars,
        std::slice::from_ref(&trace_id),
        "the analyzer was called once, in the scrape's trace"
    );
    assert_eq!(metrics.value("skein_scrape_outcomes_total", &[("code", "ok")]), Some(1.0));
    assert_eq!(metrics.value("skein_scrape_outcomes_total", &[("code", "not_html")]), Some(1.0));
}

#[actix_web::test]
async fn a_job_shows_in_the_queue_series_with_its_trace() {
    let app = spawn_app().await;
    let reply = app.submit(&app.page("/gardens")).await;
    assert_eq!(reply.status, 202, "{}", reply.body);
    let trace_id = traceresponse_trace_id(&reply.headers);
    app.wait_for_job(reply.body["id"].as_str().unwrap(), "succeeded", |j| j["status"] == "succeeded").await;

    let metrics = scrape(&app.address).await;
    assert_eq!(metrics.value("skein_jobs", &[("status", "succeeded")]), Some(1.0));
    assert_eq!(metrics.value("skein_jobs", &[("status", "queued")]), Some(0.0));
    assert_eq!(metrics.value("skein_job_oldest_queued_age_seconds", &[]), Some(0.0));
    assert_eq!(metrics.value("skein_job_attempts_total", &[]), Some(1.0));
    assert_eq!(metrics.value("skein_job_retries_total", &[]), Some(0.0));
    assert_eq!(metrics.value("skein_jobs_completed_total", &[("status", "succeeded")]), Some(1.0));
    assert_eq!(metrics.value("skein_jobs_completed_total", &[("status", "failed")]), Some(0.0));
    assert_eq!(metrics.value("skein_scrape_outcomes_total", &[("code", "ok")]), Some(1.0));
    for histogram in ["skein_job_queue_wait_seconds", "skein_job_run_duration_seconds"] {
        assert_eq!(metrics.value(&format!("{histogram}_count"), &[]), Some(1.0), "{histogram}");
        let exemplars: Vec<_> =
            metrics.exemplars(histogram).into_iter().map(|(_, e)| e.labels["trace_id"].clone()).collect();
        assert_eq!(
            exemplars,
            std::slice::from_ref(&trace_id),
            "{histogram}: the job runs in the submitting request's trace"
        );
    }
}

#[actix_web::test]
async fn a_queued_job_that_waits_shows_its_age() {
    // No scraper or analyzer at all: the job stays queued behind a worker count of zero.
    let scraper = crate::helpers::closed_port();
    let app = crate::helpers::spawn_app_with(|db| {
        let mut settings = crate::helpers::settings(db, scraper, scraper);
        settings.job_workers = 0;
        settings
    })
    .await;
    assert_eq!(app.submit(&app.page("/rivers")).await.status, 202);
    actix_web::rt::time::sleep(std::time::Duration::from_millis(1100)).await;
    let metrics = scrape(&app.address).await;
    assert_eq!(metrics.value("skein_jobs", &[("status", "queued")]), Some(1.0));
    let age = metrics.value("skein_job_oldest_queued_age_seconds", &[]).unwrap();
    assert!(age >= 1.0, "the job has waited over a second: {age}");
}
