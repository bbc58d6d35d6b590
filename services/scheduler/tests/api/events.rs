//! The attribute traces of a schedule are found by (the README's "Find a trace" recipe):
//! `schedule.id`, on every request about a schedule and on each run.

use pkg_tracing::harness::{AttrValue, SpanKind, render_trace};

use crate::helpers::{PATIENCE, Reply, spawn_app};

fn trace_id_of(reply: &Reply) -> String {
    let traceresponse = reply.headers.get("traceresponse").expect("a traceresponse").to_str().unwrap();
    traceresponse.split('-').nth(1).unwrap().to_owned()
}

#[actix_web::test]
async fn every_request_about_a_schedule_and_each_run_carry_its_id() {
    let app = spawn_app().await;
    let created = app.create("find me", "0 0 1 1 *", &app.page()).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let expected = Some(AttrValue::Str(id.clone()));

    let read = app.request("GET", &format!("/api/v1/schedules/{id}"), None).await;
    let run = app.request("POST", &format!("/api/v1/schedules/{id}/run"), None).await;
    assert_eq!((read.status, run.status), (200, 200), "{}", run.body);
    for (reply, route) in [
        (&created, "POST /api/v1/schedules"),
        (&read, "GET /api/v1/schedules/{id}"),
        (&run, "POST /api/v1/schedules/{id}/run"),
    ] {
        let spans = app.collector.wait_for_span(&trace_id_of(reply), route, PATIENCE).await.unwrap();
        let server = spans
            .iter()
            .find(|s| s.name == route && s.kind == SpanKind::Server)
            .unwrap_or_else(|| panic!("{}", render_trace(&spans)));
        assert_eq!(server.attr("schedule.id").cloned(), expected, "{route}");
        if route.ends_with("/run") {
            let run_span = spans.iter().find(|s| s.name == "schedule.run").expect("the run's span");
            assert_eq!(run_span.attr("schedule.id").cloned(), expected);
        }
    }
}
