use std::time::Duration;

use pkg_tracing::harness::{EdgeKind, PEER_ATTRIBUTES, SpanKind, render_trace, service_graph};

use crate::helpers::{Site, settings, spawn_app, spawn_app_with};

#[actix_web::test]
async fn an_article_is_fetched_and_extracted() {
    let (app, site) = (spawn_app().await, Site::start().await);
    let (status, page) = app.scrape(&site.url("/article")).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["title"], "Tracing 101");
    assert_eq!(page["description"], "What a span is.");
    assert_eq!(page["author"], "Grace");
    assert_eq!(page["lang"], "en");
    assert_eq!(page["status"], 200);
    assert_eq!(page["text"], "Spans\n\nA span is a timed operation.\n\nRead the next part or elsewhere.");
    assert_eq!(
        page["links"],
        serde_json::json!([site.url("/"), site.url("/next"), "https://other.example/"])
    );
    assert!(page["fetch_ms"].is_u64());
}

#[actix_web::test]
async fn the_site_receives_no_trace_context() {
    let (app, site) = (spawn_app().await, Site::start().await);
    let traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    let (status, _) = app
        .scrape_raw(
            serde_json::json!({ "url": site.url("/article") }).to_string(),
            &[("traceparent", traceparent), ("baggage", "user=42"), ("x-correlation-id", "corr-1")],
        )
        .await;
    assert_eq!(status, 200);
    let received = site.received.lock().unwrap().clone();
    let names: Vec<&str> = received[0].iter().map(|(k, _)| k.as_str()).collect();
    for forbidden in ["traceparent", "tracestate", "baggage", "x-correlation-id"] {
        assert!(!names.contains(&forbidden), "the site received {forbidden}: {names:?}");
    }
}

#[actix_web::test]
async fn a_scrape_is_one_trace_with_a_client_span_per_hop_and_a_virtual_site_node() {
    let (app, site) = (spawn_app().await, Site::start().await);
    let trace_id = "0af7651916cd43dd8448eb211c803191";
    let traceparent = format!("00-{trace_id}-b7ad6b7169203331-01");
    let body = serde_json::json!({ "url": site.url("/redirect") }).to_string();
    let (status, page) = app.scrape_raw(body, &[("traceparent", &traceparent)]).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["final_url"], site.url("/article"), "the redirect was followed");

    let spans =
        app.collector.wait_for_span(trace_id, "POST /v1/scrape", Duration::from_secs(15)).await.unwrap();
    let tree = render_trace(&spans);
    let server = spans.iter().find(|s| s.kind == SpanKind::Server).expect("server span");
    assert_eq!(server.name, "POST /v1/scrape");
    let hops: Vec<_> = spans.iter().filter(|s| s.kind == SpanKind::Client).collect();
    assert_eq!(hops.len(), 2, "one CLIENT span per hop:\n{tree}");
    for hop in &hops {
        assert_eq!(hop.attr_str("peer.service"), Some("127.0.0.1"), "{tree}");
        assert_eq!(hop.parent_span_id.as_deref(), Some(server.span_id.as_str()), "{tree}");
    }
    let extract = spans.iter().find(|s| s.name == "scrape.extract").unwrap_or_else(|| panic!("{tree}"));
    assert_eq!(
        extract.parent_span_id.as_deref(),
        Some(server.span_id.as_str()),
        "extraction off the executor keeps its parent"
    );
    let edges = service_graph(&spans, &PEER_ATTRIBUTES);
    assert!(edges.iter().any(|e| e.kind == EdgeKind::Virtual
        && e.client == "scraper"
        && e.server == "127.0.0.1"
        && e.calls == 2));
}

#[actix_web::test]
async fn legacy_charsets_are_decoded() {
    let (app, site) = (spawn_app().await, Site::start().await);
    let (status, page) = app.scrape(&site.url("/latin1")).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["title"], "Café");
    assert_eq!(page["text"], "Crème brûlée");
}

#[actix_web::test]
async fn each_failure_has_its_status_and_code() {
    let (app, site) = (spawn_app().await, Site::start().await);
    let cases = [
        ("/image", 415, "not_html"),
        ("/big", 413, "page_too_large"),
        ("/slow", 504, "upstream_timeout"),
        ("/loop", 502, "upstream_error"),
        ("/missing", 502, "upstream_error"),
        ("/to-private", 403, "destination_blocked"),
        ("/to-metadata", 403, "destination_blocked"),
    ];
    for (path, status, code) in cases {
        let (got, body) = app.scrape(&site.url(path)).await;
        assert_eq!((got, body["error"]["code"].as_str()), (status, Some(code)), "{path}: {body}");
        assert!(!body["error"]["message"].as_str().unwrap_or("").is_empty());
    }
    let (_, body) = app.scrape(&site.url("/loop")).await;
    assert!(body["error"]["message"].as_str().unwrap().contains("redirected more than 3 times"), "{body}");
}

#[actix_web::test]
async fn bad_urls_are_400_and_private_destinations_403() {
    let app = spawn_app_with(settings("")).await;
    for url in [
        "",
        "not a url",
        "/relative",
        "ftp://example.com/",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "http://user:pw@example.com/",
    ] {
        let (status, body) = app.scrape(url).await;
        assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_url")), "{url:?}: {body}");
    }
    for url in [
        "http://127.0.0.1:1/",
        "http://[::1]:1/",
        "http://169.254.169.254/",
        "http://2130706433:1/",
        "http://localhost:1/",
    ] {
        let (status, body) = app.scrape(url).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (403, Some("destination_blocked")),
            "{url}: {body}"
        );
    }
}

#[actix_web::test]
async fn malformed_requests_get_the_shared_error_body() {
    let app = spawn_app().await;
    for (body, code) in [
        (r#"{"url": "#, "invalid_json"),
        (r#"{"uri": "http://x"}"#, "invalid_request"),
        (r#"{"url": 1}"#, "invalid_request"),
    ] {
        let (status, json) = app.scrape_raw(body.into(), &[]).await;
        assert_eq!((status, json["error"]["code"].as_str()), (400, Some(code)), "{body}");
    }
}
