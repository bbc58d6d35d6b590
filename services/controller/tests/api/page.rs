//! The web page and the two endpoints it reads: `/api/v1/traces/{id}` (Tempo, or trace-view in
//! run-local) and `/api/v1/service-map` (Prometheus, or trace-view). Stand-ins on wiremock for
//! Tempo and Prometheus; trace-view's real HTTP API on the test collector.

use std::sync::Arc;
use std::time::Instant;

use pkg_tracing::harness::{RecentTraces, serve_http};
use serde_json::{Value, json};
use skein_controller::TelemetryBackends;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{
    PATIENCE, TestApp, closed_port, settings, spawn_analyzer, spawn_app_with, spawn_scraper,
};

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

async fn spawn_with(backends: TelemetryBackends) -> TestApp {
    let scraper = spawn_scraper().await;
    let analyzer = spawn_analyzer(0).await;
    spawn_app_with(move |db| {
        let mut s = settings(db, scraper, analyzer);
        s.telemetry_backends = backends;
        s
    })
    .await
}

/// `GET` returning status, content type, a header and the body as text.
async fn get_text(url: &str) -> (u16, String, Option<String>, String) {
    let mut response = awc::Client::new().get(url).send().await.unwrap();
    let header = |name: &str| response.headers().get(name).map(|v| v.to_str().unwrap().to_owned());
    let (content_type, policy) =
        (header("content-type").unwrap_or_default(), header("content-security-policy"));
    let body = response.body().await.unwrap();
    (response.status().as_u16(), content_type, policy, String::from_utf8(body.to_vec()).unwrap())
}

#[actix_web::test]
async fn the_page_and_its_assets_are_compiled_in_and_load_nothing_from_elsewhere() {
    let app = spawn_with(TelemetryBackends::default()).await;
    let (status, content_type, policy, html) = get_text(&format!("{}/", app.address)).await;
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert!(html.contains(r#"<script src="/assets/page.js" defer></script>"#), "{html}");
    assert!(html.contains(r#"<label for="url">Page URL</label>"#));
    assert!(!html.contains("src=\"http") && !html.contains("href=\"http"), "no asset from elsewhere");
    let policy = policy.expect("a Content-Security-Policy");
    assert!(policy.contains("script-src 'self'") && policy.contains("connect-src 'self'"), "{policy}");
    for (asset, kind, marker) in [
        ("/assets/page.js", "text/javascript", "/api/v1/service-map"),
        ("/assets/page.css", "text/css", "--error:"),
    ] {
        let (status, content_type, _, body) = get_text(&format!("{}{asset}", app.address)).await;
        assert_eq!(status, 200, "{asset}");
        assert!(content_type.starts_with(kind), "{asset}: {content_type}");
        assert!(body.contains(marker), "{asset} lacks {marker}");
    }
}

/// What Tempo 3's `GET /api/traces/{id}` answers: `resourceSpans`, base64 ids (jsonpb bytes),
/// times as strings. (Before 2.10 the array was `batches`: see the waterfall's unit tests.)
fn tempo_body() -> Value {
    json!({"resourceSpans": [
        {"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "controller"}}]},
         "scopeSpans": [{"spans": [
            {"traceId": "S/kvNXezTaajzpKdDg5HNg==", "spanId": "AAAAAAAAAAE=", "name": "POST /api/v1/scrape",
             "kind": "SPAN_KIND_SERVER", "startTimeUnixNano": "1000000000", "endTimeUnixNano": "1080000000", "status": {}},
            {"traceId": "S/kvNXezTaajzpKdDg5HNg==", "spanId": "AAAAAAAAAAI=", "parentSpanId": "AAAAAAAAAAE=",
             "name": "POST /v1/analyze", "kind": "SPAN_KIND_CLIENT", "startTimeUnixNano": "1010000000",
             "endTimeUnixNano": "1070000000", "status": {"code": "STATUS_CODE_ERROR", "message": "503 Service Unavailable"}}
         ]}]},
        {"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "analyzer"}}]},
         "scopeSpans": [{"spans": [
            {"traceId": "S/kvNXezTaajzpKdDg5HNg==", "spanId": "AAAAAAAAAAM=", "parentSpanId": "AAAAAAAAAAI=",
             "name": "POST /v1/analyze", "kind": "SPAN_KIND_SERVER", "startTimeUnixNano": "1020000000",
             "endTimeUnixNano": "1060000000", "status": {"code": "STATUS_CODE_ERROR", "message": "fault_injected"}}
         ]}]}
    ]})
}

#[actix_web::test]
async fn a_trace_from_tempo_comes_back_as_waterfall_rows_through_a_traced_call() {
    let tempo = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/api/traces/{TRACE_ID}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(tempo_body()))
        .expect(1)
        .mount(&tempo)
        .await;
    let app = spawn_with(TelemetryBackends { tempo_url: Some(tempo.uri()), ..Default::default() }).await;

    // Upper case is still the same trace id.
    let reply = app.request("GET", &format!("/api/v1/traces/{}", TRACE_ID.to_uppercase()), None).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let trace = &reply.body;
    assert_eq!(trace["trace_id"], TRACE_ID);
    assert_eq!(trace["duration_ms"], 80.0);
    assert_eq!(trace["services"], json!(["controller", "analyzer"]));
    let rows: Vec<(String, String, u64, f64, String)> = trace["spans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["service"].as_str().unwrap().into(),
                s["kind"].as_str().unwrap().into(),
                s["depth"].as_u64().unwrap(),
                s["start_ms"].as_f64().unwrap(),
                s["status"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("controller".into(), "server".into(), 0, 0.0, "unset".into()),
            ("controller".into(), "client".into(), 1, 10.0, "error".into()),
            ("analyzer".into(), "server".into(), 2, 20.0, "error".into()),
        ]
    );
    assert_eq!(trace["spans"][2]["error"], "fault_injected");
    assert_eq!(trace["spans"][2]["span_id"], "0000000000000003", "base64 ids come back as hex");
    let link = trace["trace_url"].as_str().unwrap();
    assert!(link.starts_with("http://grafana.test/explore?") && link.contains(TRACE_ID), "{link}");

    // The call to Tempo is a traced CLIENT span that propagated its context.
    let received = tempo.received_requests().await.unwrap();
    let traceparent = received[0].headers.get("traceparent").expect("traceparent sent to Tempo");
    let call_trace = traceparent.to_str().unwrap().split('-').nth(1).unwrap().to_owned();
    let spans =
        app.collector.wait_for_span(&call_trace, "GET /api/traces/{trace_id}", PATIENCE).await.unwrap();
    let client = spans.iter().find(|s| s.name == "GET /api/traces/{trace_id}").unwrap();
    assert_eq!(client.attr_str("peer.service"), Some("tempo"));
    let server =
        reply.headers.get("traceresponse").unwrap().to_str().unwrap().split('-').nth(1).unwrap().to_owned();
    assert_eq!(server, call_trace, "the call to Tempo is part of the request's trace");
}

#[actix_web::test]
async fn bad_trace_ids_are_400_before_any_backend_is_asked() {
    let tempo = MockServer::start().await;
    let app = spawn_with(TelemetryBackends { tempo_url: Some(tempo.uri()), ..Default::default() }).await;
    for bad in ["xyz", &TRACE_ID[1..], &"0".repeat(32), &format!("{}g", &TRACE_ID[1..])] {
        let reply = app.request("GET", &format!("/api/v1/traces/{bad}"), None).await;
        assert_eq!(reply.status, 400, "{bad}: {}", reply.body);
        assert_eq!(reply.body["error"]["code"], "invalid_trace_id");
        assert!(reply.body["error"]["message"].as_str().unwrap().contains("32 hexadecimal digits"));
    }
    assert!(tempo.received_requests().await.unwrap().is_empty());
}

#[actix_web::test]
async fn unset_backends_are_503_naming_the_variable_to_set() {
    let app = spawn_with(TelemetryBackends::default()).await;
    let trace = app.request("GET", &format!("/api/v1/traces/{TRACE_ID}"), None).await;
    assert_eq!(trace.status, 503);
    assert_eq!(trace.body["error"]["code"], "backend_not_configured");
    assert!(trace.body["error"]["message"].as_str().unwrap().contains("TEMPO_URL"), "{}", trace.body);
    let map = app.request("GET", "/api/v1/service-map", None).await;
    assert_eq!(map.status, 503);
    assert_eq!(map.body["error"]["code"], "backend_not_configured");
    let message = map.body["error"]["message"].as_str().unwrap();
    assert!(message.contains("PROMETHEUS_URL") && message.contains("TRACE_VIEW_URL"), "{message}");
}

#[actix_web::test]
async fn unreachable_or_failing_backends_are_5xx_with_the_cause_and_unknown_traces_404() {
    let nobody = format!("http://127.0.0.1:{}", closed_port());
    let app = spawn_with(TelemetryBackends {
        tempo_url: Some(nobody.clone()),
        prometheus_url: Some(nobody),
        ..Default::default()
    })
    .await;
    let trace = app.request("GET", &format!("/api/v1/traces/{TRACE_ID}"), None).await;
    assert_eq!(trace.status, 503, "{}", trace.body);
    assert_eq!(trace.body["error"]["code"], "tempo_unavailable");
    let message = trace.body["error"]["message"].as_str().unwrap();
    assert!(message.contains("TEMPO_URL") && message.contains("could not connect"), "{message}");
    let map = app.request("GET", "/api/v1/service-map", None).await;
    assert_eq!(map.status, 503, "{}", map.body);
    assert_eq!(map.body["error"]["code"], "prometheus_unavailable");

    let tempo = MockServer::start().await;
    Mock::given(path(format!("/api/traces/{TRACE_ID}")))
        .respond_with(ResponseTemplate::new(404).set_body_string("trace not found"))
        .mount(&tempo)
        .await;
    Mock::given(path("/api/traces/00000000000000000000000000000001"))
        .respond_with(ResponseTemplate::new(500).set_body_string("ingester down"))
        .mount(&tempo)
        .await;
    Mock::given(path("/api/traces/00000000000000000000000000000002"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>a proxy page</html>"))
        .mount(&tempo)
        .await;
    let app = spawn_with(TelemetryBackends { tempo_url: Some(tempo.uri()), ..Default::default() }).await;
    let missing = app.request("GET", &format!("/api/v1/traces/{TRACE_ID}"), None).await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.body["error"]["code"], "trace_not_found");
    let failing = app.request("GET", "/api/v1/traces/00000000000000000000000000000001", None).await;
    assert_eq!(failing.status, 502);
    assert_eq!(failing.body["error"]["code"], "tempo_error");
    assert!(failing.body["error"]["message"].as_str().unwrap().contains("ingester down"), "{}", failing.body);
    let garbled = app.request("GET", "/api/v1/traces/00000000000000000000000000000002", None).await;
    assert_eq!(garbled.status, 502);
    assert!(garbled.body["error"]["message"].as_str().unwrap().contains("unreadable"), "{}", garbled.body);
}

fn vector(samples: &[(&str, &str, &str)]) -> Value {
    let result: Vec<Value> = samples
        .iter()
        .map(|(client, server, value)| {
            json!({"metric": {"client": client, "server": server}, "value": [1_700_000_000.5, value]})
        })
        .collect();
    json!({"status": "success", "data": {"resultType": "vector", "result": result}})
}

#[actix_web::test]
async fn the_service_map_comes_from_prometheus_service_graph_counters_over_the_window() {
    let prometheus = MockServer::start().await;
    let query =
        |metric: &str, minutes: u32| format!("sum by (client, server) (increase({metric}[{minutes}m]))");
    Mock::given(method("GET"))
        .and(path("/api/v1/query"))
        .and(query_param("query", query("traces_service_graph_request_total", 15)))
        .respond_with(ResponseTemplate::new(200).set_body_json(vector(&[
            ("user", "controller", "6.9"),
            ("controller", "analyzer", "4"),
            ("controller", "scraper", "4"),
        ])))
        .mount(&prometheus)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/query"))
        .and(query_param("query", query("traces_service_graph_request_failed_total", 15)))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(vector(&[("controller", "analyzer", "2.1"), ("controller", "scraper", "0")])),
        )
        .mount(&prometheus)
        .await;
    let app =
        spawn_with(TelemetryBackends { prometheus_url: Some(prometheus.uri()), ..Default::default() }).await;
    let reply = app.request("GET", "/api/v1/service-map?minutes=15", None).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["source"], "prometheus");
    assert_eq!(reply.body["window_minutes"], 15);
    assert_eq!(reply.body["nodes"], json!(["analyzer", "controller", "scraper", "user"]));
    assert_eq!(
        reply.body["edges"],
        json!([
            {"client": "controller", "server": "analyzer", "calls": 4, "failed": 2},
            {"client": "controller", "server": "scraper", "calls": 4, "failed": 0},
            {"client": "user", "server": "controller", "calls": 7, "failed": 0},
        ])
    );

    for bad in ["minutes=0", "minutes=61", "minutes=soon", "window=5"] {
        let reply = app.request("GET", &format!("/api/v1/service-map?{bad}"), None).await;
        assert_eq!(reply.status, 400, "{bad}: {}", reply.body);
    }
    // The default window (5 minutes) has no mock: Prometheus's 404 is the controller's 502.
    let reply = app.request("GET", "/api/v1/service-map", None).await;
    assert_eq!(reply.status, 502, "{}", reply.body);
    assert_eq!(reply.body["error"]["code"], "prometheus_error");
}

/// trace-view's real HTTP API on the in-process collector: the no-Docker path end to end.
#[actix_web::test]
async fn without_docker_the_trace_and_the_map_come_from_trace_view() {
    let collector = pkg_tracing::harness::test_telemetry("controller");
    let recent = Arc::new(RecentTraces::new(100));
    let trace_view = serve_http("127.0.0.1:0".parse().unwrap(), collector, recent).unwrap();
    let trace_view = format!("http://{trace_view}");
    let app = spawn_with(TelemetryBackends {
        tempo_url: Some(trace_view.clone()),
        trace_view_url: Some(trace_view),
        ..Default::default()
    })
    .await;
    let scraped = app.scrape(&app.page("/rivers"), false).await;
    assert_eq!(scraped.status, 201, "{}", scraped.body);
    let trace_id = scraped.body["trace_id"].as_str().unwrap().to_owned();
    collector.wait_for_span(&trace_id, "POST /api/v1/scrape", PATIENCE).await.unwrap();

    let trace = app.request("GET", &format!("/api/v1/traces/{trace_id}"), None).await;
    assert_eq!(trace.status, 200, "{}", trace.body);
    let spans = trace.body["spans"].as_array().unwrap();
    let row = |name: &str, kind: &str| {
        spans
            .iter()
            .find(|s| s["name"] == name && s["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind} {name} in {}", trace.body))
    };
    let root = row("POST /api/v1/scrape", "server");
    assert_eq!((root["depth"].as_u64(), root["start_ms"].as_f64()), (Some(0), Some(0.0)));
    for route in ["POST /v1/scrape", "POST /v1/analyze"] {
        assert_eq!(row(route, "client")["depth"], 1, "{route}");
        assert_eq!(row(route, "server")["depth"], 2, "{route}");
        assert_eq!(row(route, "server")["parent_span_id"], row(route, "client")["span_id"]);
    }

    // In-process, every service reports as `controller`: the map pairs its calls all the same.
    let deadline = Instant::now() + PATIENCE;
    loop {
        let map = app.request("GET", "/api/v1/service-map?minutes=1", None).await;
        assert_eq!(map.status, 200, "{}", map.body);
        assert_eq!(map.body["source"], "trace-view");
        let edges = map.body["edges"].as_array().unwrap();
        let calls = |client: &str, server: &str| {
            edges
                .iter()
                .find(|e| e["client"] == client && e["server"] == server)
                .and_then(|e| e["calls"].as_u64())
        };
        if calls("controller", "controller").unwrap_or(0) >= 2
            && calls("controller", "controller-db").is_some()
        {
            break;
        }
        assert!(Instant::now() < deadline, "no pipeline edges in {}", map.body);
        actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
