//! `/metrics`: valid OpenMetrics, request durations whose exemplars are the requests' traces,
//! the analyzer's own series, and a scrape that is neither traced nor faulted.

use std::collections::HashSet;

use pkg_service::faults::{FaultConfig, FaultSettings, Rate};
use pkg_tracing::harness::openmetrics::{scrape, traceresponse_trace_id};

use crate::helpers::{settings, spawn_app, spawn_app_with_settings};

const DURATION: &str = "http_server_request_duration_seconds";

#[actix_web::test]
async fn request_durations_carry_the_requests_traces_as_exemplars() {
    let app = spawn_app().await;
    let texts = ["One sentence here.", "Two sentences. Here they are.", "Three: a, b and c."];
    let mut trace_ids = HashSet::new();
    for text in texts {
        let (status, headers, _) =
            app.post_raw("/v1/analyze", serde_json::json!({ "text": text }).to_string(), &[]).await;
        assert_eq!(status, 200);
        trace_ids.insert(traceresponse_trace_id(&headers));
    }
    // A path nobody routes: it must not become a label value.
    assert_eq!(app.get("/no/such/path-4711").await.0, 404);

    let metrics = scrape(&app.address).await;
    let analyze = [("method", "POST"), ("route", "/v1/analyze"), ("status_code", "200")];
    assert_eq!(metrics.value(&format!("{DURATION}_count"), &analyze), Some(3.0));
    assert_eq!(
        metrics.value(&format!("{DURATION}_count"), &[("route", "unmatched"), ("status_code", "404")]),
        Some(1.0)
    );
    let family = metrics.family(DURATION).unwrap();
    assert!(
        family.samples.iter().all(|s| s.labels.values().all(|v| !v.contains("4711"))),
        "a raw path became a label value"
    );
    let exemplars: Vec<_> = metrics
        .exemplars(DURATION)
        .into_iter()
        .filter(|(sample, _)| sample.labels.get("route").map(String::as_str) == Some("/v1/analyze"))
        .map(|(_, exemplar)| exemplar.labels["trace_id"].clone())
        .collect();
    assert!(!exemplars.is_empty(), "no exemplar on the analyze series");
    for trace_id in &exemplars {
        assert!(trace_ids.contains(trace_id), "exemplar {trace_id} is none of the requests {trace_ids:?}");
    }
    // The exemplar's trace exists: the collector has its SERVER span.
    let spans = app
        .collector
        .wait_for_span(&exemplars[0], "POST /v1/analyze", std::time::Duration::from_secs(10))
        .await;
    assert!(spans.is_ok(), "the exemplar's trace was not exported");

    let bytes: usize = texts.iter().map(|t| t.len()).sum();
    assert_eq!(metrics.value("skein_analyzer_text_bytes_total", &[]), Some(bytes as f64));
    assert_eq!(metrics.value("skein_analyzer_analysis_duration_seconds_count", &[]), Some(3.0));
    for (_, exemplar) in metrics.exemplars("skein_analyzer_analysis_duration_seconds") {
        assert!(trace_ids.contains(&exemplar.labels["trace_id"]), "{exemplar:?}");
    }
    assert_eq!(
        metrics.value("http_server_active_requests", &[("route", "/v1/analyze")]),
        Some(0.0),
        "every request finished"
    );
    assert!(metrics.value("process_resident_memory_bytes", &[]).unwrap() > 0.0);
    assert!(metrics.value("process_start_time_seconds", &[]).unwrap() > 1.6e9);
    assert!(metrics.value("process_open_fds", &[]).unwrap() > 0.0);
    assert!(metrics.value("process_cpu_seconds_total", &[]).is_some());
    assert!(metrics.value("skein_telemetry_spans_exported_total", &[]).is_some());
    assert!(metrics.value("skein_telemetry_export_errors_total", &[]).is_some());
}

#[actix_web::test]
async fn unsampled_requests_are_counted_without_an_exemplar() {
    let app = spawn_app().await;
    // The caller did not sample this trace; parent-based sampling follows it.
    let unsampled = "4bf92f3577b34da6a3ce929d0e0e4736";
    let traceparent = format!("00-{unsampled}-00f067aa0ba902b7-00");
    let (status, _, _) = app
        .post_raw("/v1/analyze", r#"{"text":"not sampled"}"#, &[("traceparent", traceparent.as_str())])
        .await;
    assert_eq!(status, 200);
    let metrics = scrape(&app.address).await;
    assert_eq!(metrics.value(&format!("{DURATION}_count"), &[("route", "/v1/analyze")]), Some(1.0));
    assert!(metrics.exemplars(DURATION).is_empty(), "{:?}", metrics.exemplars(DURATION));
    assert!(metrics.exemplars("skein_analyzer_analysis_duration_seconds").is_empty());
}

#[actix_web::test]
async fn the_scrape_is_never_faulted_nor_behind_the_admin_token() {
    let mut settings = settings(1 << 20);
    settings.faults = FaultSettings {
        initial: FaultConfig { error_rate: Rate(1.0), ..FaultConfig::default() },
        admin_token: Some("secret".into()),
    };
    let app = spawn_app_with_settings(settings).await;
    assert_eq!(app.analyze("faulted").await.0, 503, "every request is faulted");
    let metrics = scrape(&app.address).await;
    assert_eq!(
        metrics.value(&format!("{DURATION}_count"), &[("route", "/v1/analyze"), ("status_code", "503")]),
        Some(1.0)
    );
    assert_eq!(
        metrics.value(&format!("{DURATION}_count"), &[("route", "/metrics")]),
        None,
        "scrapes are not counted"
    );
}
