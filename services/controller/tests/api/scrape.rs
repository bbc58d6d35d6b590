use pkg_tracing::harness::{SpanKind, render_trace};

use crate::helpers::{
    PATIENCE, closed_port, settings, spawn_analyzer, spawn_app, spawn_app_with, spawn_scraper,
};

#[actix_web::test]
async fn a_synchronous_scrape_stores_and_returns_the_document() {
    let app = spawn_app().await;
    let reply = app.scrape(&app.page("/tracing"), false).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let doc = &reply.body;
    assert_eq!(doc["title"], "Tracing");
    assert_eq!(doc["url"], app.page("/tracing"));
    assert_eq!(doc["language"], "en");
    assert!(doc["word_count"].as_i64().unwrap() > 10);
    assert!(doc["tags"].as_array().unwrap().iter().any(|t| t == "tracing"), "{doc}");
    assert!(doc["readability"]["flesch_reading_ease"].is_number());
    assert!(doc["sentiment"]["label"].is_string());
    let traceresponse = reply.headers.get("traceresponse").unwrap().to_str().unwrap();
    let trace_id = traceresponse.split('-').nth(1).unwrap();
    assert_eq!(doc["trace_id"], trace_id, "the document names the trace that made it");
    assert!(doc["trace_url"].as_str().unwrap().starts_with("http://grafana.test/explore?"));
    assert!(doc["trace_url"].as_str().unwrap().contains(trace_id));

    let fetched =
        app.request("GET", &format!("/api/v1/documents/{}", doc["id"].as_str().unwrap()), None).await;
    assert_eq!(fetched.status, 200);
    assert_eq!(fetched.body["id"], doc["id"]);
}

#[actix_web::test]
async fn the_same_page_is_scraped_once_unless_forced() {
    let app = spawn_app().await;
    let first = app.scrape(&app.page("/gardens"), false).await;
    assert_eq!(first.status, 201);
    let variant =
        app.page("/gardens?utm_source=newsletter#top").replace("http://127.0.0.1", "HTTP://127.0.0.1");
    let again = app.scrape(&variant, false).await;
    assert_eq!(again.status, 200, "the stored document: {}", again.body);
    assert_eq!(again.body["id"], first.body["id"]);
    assert_eq!(again.body["fetched_at"], first.body["fetched_at"]);
    let forced = app.scrape(&app.page("/gardens"), true).await;
    assert_eq!(forced.status, 201);
    assert_eq!(forced.body["id"], first.body["id"], "one document per URL");
    assert_ne!(forced.body["fetched_at"], first.body["fetched_at"]);
}

#[actix_web::test]
async fn one_scrape_is_one_trace_through_scraper_analyzer_and_store() {
    let app = spawn_app().await;
    let reply = app.scrape(&app.page("/rivers"), false).await;
    assert_eq!(reply.status, 201);
    let trace_id = reply.body["trace_id"].as_str().unwrap().to_owned();
    let spans = app.collector.wait_for_span(&trace_id, "POST /api/v1/scrape", PATIENCE).await.unwrap();
    let tree = render_trace(&spans);
    let find = |name: &str, kind: SpanKind| {
        spans
            .iter()
            .find(|s| s.name == name && s.kind == kind)
            .unwrap_or_else(|| panic!("no {kind:?} {name}:\n{tree}"))
    };
    let root = find("POST /api/v1/scrape", SpanKind::Server);
    assert_eq!(root.parent_span_id, None);
    for (callee, route) in [("scraper", "POST /v1/scrape"), ("analyzer", "POST /v1/analyze")] {
        let client = find(route, SpanKind::Client);
        let server = find(route, SpanKind::Server);
        assert_eq!(client.attr_str("peer.service"), Some(callee));
        assert_eq!(client.parent_span_id.as_deref(), Some(root.span_id.as_str()), "{tree}");
        assert_eq!(server.parent_span_id.as_deref(), Some(client.span_id.as_str()), "{tree}");
    }
    let insert = find("INSERT documents", SpanKind::Client);
    assert_eq!(insert.attr_str("db.system.name"), Some("sqlite"));
    assert_eq!(insert.attr_str("db.namespace"), Some("controller"));
    assert_eq!(insert.attr_str("db.operation.name"), Some("INSERT"));
    assert_eq!(insert.attr_str("peer.service"), Some("controller-db"));
}

#[actix_web::test]
async fn a_callees_verdict_passes_through_and_bad_urls_stop_at_the_controller() {
    let app = spawn_app().await;
    let image = app.scrape(&app.page("/image"), false).await;
    assert_eq!(
        (image.status, image.body["error"]["code"].as_str()),
        (415, Some("not_html")),
        "{}",
        image.body
    );
    let private = app.scrape("http://10.0.0.1/admin", false).await;
    assert_eq!((private.status, private.body["error"]["code"].as_str()), (403, Some("destination_blocked")));
    for url in ["", "not a url", "ftp://example.com/file"] {
        let bad = app.scrape(url, false).await;
        assert_eq!((bad.status, bad.body["error"]["code"].as_str()), (400, Some("invalid_url")), "{url:?}");
    }
    let malformed = app.request("POST", "/api/v1/scrape", Some(serde_json::json!({ "link": "x" }))).await;
    assert_eq!((malformed.status, malformed.body["error"]["code"].as_str()), (400, Some("invalid_request")));
}

#[actix_web::test]
async fn an_unreachable_scraper_is_503_with_the_cause_and_an_error_span() {
    let analyzer = spawn_analyzer(0).await;
    let dead = closed_port();
    let app = spawn_app_with(|db| settings(db, dead, analyzer)).await;
    let reply = app.scrape(&app.page("/tracing"), false).await;
    assert_eq!(reply.status, 503, "{}", reply.body);
    assert_eq!(reply.body["error"]["code"], "scraper_unavailable");
    assert!(reply.body["error"]["message"].as_str().unwrap().contains("unreachable"));

    let trace_id =
        reply.headers.get("traceresponse").unwrap().to_str().unwrap().split('-').nth(1).unwrap().to_owned();
    let spans = app.collector.wait_for_span(&trace_id, "POST /api/v1/scrape", PATIENCE).await.unwrap();
    let client = spans
        .iter()
        .find(|s| s.kind == SpanKind::Client && s.name == "POST /v1/scrape")
        .expect("client span");
    assert!(client.is_error(), "{:?}", client.status);
    assert!(client.events.iter().any(|(name, _)| name == "exception"));
    let server = spans.iter().find(|s| s.kind == SpanKind::Server).unwrap();
    assert!(server.is_error(), "a 503 is our failure too");
}

#[actix_web::test]
async fn readiness_reflects_the_callees() {
    let scraper = spawn_scraper().await;
    let analyzer = spawn_analyzer(0).await;
    let healthy = spawn_app_with(|db| settings(db, scraper, analyzer)).await;
    assert_eq!(healthy.request("GET", "/ready", None).await.status, 200);
    let broken = spawn_app_with(|db| settings(db, scraper, closed_port())).await;
    let reply = broken.request("GET", "/ready", None).await;
    assert_eq!((reply.status, reply.body["error"]["code"].as_str()), (503, Some("not_ready")));
    assert_eq!(broken.request("GET", "/health", None).await.status, 200, "alive while not ready");
}
