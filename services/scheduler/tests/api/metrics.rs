//! `/metrics`: runs by outcome, ticks fired, and the call to the controller with the run's
//! trace as exemplar.

use std::time::{Duration, Instant};

use pkg_tracing::harness::openmetrics::{Exposition, scrape, traceresponse_trace_id};

use crate::helpers::{PATIENCE, spawn_alone, spawn_app};

#[actix_web::test]
async fn a_manual_run_counts_as_queued_and_its_call_carries_the_trace() {
    let app = spawn_app().await;
    let id = app.create("manual", "0 0 1 1 *", &app.page()).await.body["id"].as_str().unwrap().to_owned();
    let run = app.request("POST", &format!("/api/v1/schedules/{id}/run"), None).await;
    assert_eq!(run.status, 200, "{}", run.body);
    let trace_id = traceresponse_trace_id(&run.headers);

    let metrics = scrape(&app.address).await;
    assert_eq!(metrics.value("skein_schedule_runs_total", &[("outcome", "queued")]), Some(1.0));
    assert_eq!(metrics.value("skein_schedule_runs_total", &[("outcome", "failed")]), Some(0.0));
    assert_eq!(metrics.value("skein_schedule_ticks_fired_total", &[]), Some(0.0), "no tick was due");
    let client = "http_client_request_duration_seconds";
    let call = [("peer", "controller"), ("method", "POST"), ("status_code", "202")];
    assert_eq!(metrics.value(&format!("{client}_count"), &call), Some(1.0));
    let exemplars: Vec<_> =
        metrics.exemplars(client).into_iter().map(|(_, e)| e.labels["trace_id"].clone()).collect();
    assert_eq!(exemplars, [trace_id]);
}

#[actix_web::test]
async fn ticks_are_counted_and_a_failing_controller_counts_as_failed_runs() {
    let app = spawn_alone().await;
    let created = app.create("every second", "* * * * * *", &app.page()).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let deadline = Instant::now() + PATIENCE;
    let metrics: Exposition = loop {
        let metrics = scrape(&app.address).await;
        let failed = metrics.value("skein_schedule_runs_total", &[("outcome", "failed")]).unwrap_or(0.0);
        if failed >= 2.0 {
            break metrics;
        }
        assert!(Instant::now() < deadline, "no two failed runs: {:?}", metrics.family("skein_schedule_runs"));
        actix_web::rt::time::sleep(Duration::from_millis(200)).await;
    };
    let fired = metrics.value("skein_schedule_ticks_fired_total", &[]).unwrap();
    let failed = metrics.value("skein_schedule_runs_total", &[("outcome", "failed")]).unwrap();
    assert!(fired >= failed, "every failed run was a fired tick: {fired} < {failed}");
    assert_eq!(metrics.value("skein_schedule_runs_total", &[("outcome", "queued")]), Some(0.0));
    assert!(metrics.value("skein_schedule_ticks_missed_total", &[]).is_some());
    assert!(
        metrics
            .value(
                "http_client_request_duration_seconds_count",
                &[("peer", "controller"), ("status_code", "connect_error")]
            )
            .unwrap()
            >= 2.0
    );
}
