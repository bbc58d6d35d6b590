//! One request across two services is one trace, paired the way Tempo pairs it; baggage and
//! the correlation id travel with it; third parties receive none of it.

use pkg_tracing::harness::{
    EdgeKind, PEER_ATTRIBUTES, SpanKind, SpanStatus, render_edges, render_trace, service_graph,
};

use crate::helpers::{PATIENCE, Pair, Site, get, only, parse_traceparent};

#[actix_web::test]
async fn two_services_make_one_trace_whose_server_span_is_the_direct_child_of_the_client_span() {
    let pair = Pair::start(&[]);

    let (status, headers, body) = get(&pair.a.url("/hop"), &[]).await;
    assert_eq!(status, 200, "{body}");
    let traceresponse = headers.get("traceresponse").expect("traceresponse header").to_str().unwrap();
    let (trace_id, response_span_id, _) = parse_traceparent(traceresponse);

    let spans = pair.collector.wait_for_trace(&trace_id, 3, PATIENCE).await.unwrap();
    println!("{}", render_trace(&spans));
    assert_eq!(spans.len(), 3, "{}", render_trace(&spans));
    let a_server = only(&spans, "hop-a", SpanKind::Server);
    let a_client = only(&spans, "hop-a", SpanKind::Client);
    let b_server = only(&spans, "hop-b", SpanKind::Server);

    assert_eq!(a_server.parent_span_id, None, "the first hop starts the trace");
    assert_eq!(a_server.name, "GET /hop");
    assert_eq!(a_server.span_id, response_span_id, "traceresponse names A's server span");
    assert_eq!(a_client.parent_span_id.as_deref(), Some(a_server.span_id.as_str()));
    assert_eq!(a_client.attr_str("peer.service"), Some("hop-b"));
    assert_eq!(a_client.attr_str("service.peer.name"), Some("hop-b"), "the current key, next to the old one");
    assert_eq!(a_client.name, "GET /hop");
    assert_eq!(
        b_server.parent_span_id.as_deref(),
        Some(a_client.span_id.as_str()),
        "Tempo pairs only a server span whose parent IS the client span"
    );
    assert_eq!(b_server.attr("http.response.status_code").and_then(|v| v.as_i64()), Some(200));
    assert_eq!(body["downstream"]["trace_id"], trace_id.as_str(), "B saw the same trace");
    for span in &spans {
        assert_eq!(span.resource.get("service.namespace").map(ToString::to_string).as_deref(), Some("skein"));
        assert!(span.resource.contains_key("service.instance.id"));
        assert!(span.resource.contains_key("host.name"));
        assert!(span.resource.contains_key("deployment.environment.name"));
        assert!(span.resource.contains_key("service.version"));
        let sdk = |key: &str| span.resource.get(key).map(ToString::to_string);
        assert_eq!(sdk("telemetry.sdk.name").as_deref(), Some("opentelemetry"));
        assert_eq!(sdk("telemetry.sdk.language").as_deref(), Some("rust"));
        assert!(sdk("telemetry.sdk.version").is_some_and(|v| !v.is_empty()), "{:?}", span.resource);
    }

    let edges = service_graph(&spans, &PEER_ATTRIBUTES);
    println!("{}", render_edges(&edges));
    let paired: Vec<_> = edges.iter().filter(|e| e.kind == EdgeKind::Paired).collect();
    assert_eq!(paired.len(), 1, "{edges:?}");
    assert_eq!(
        (paired[0].client.as_str(), paired[0].server.as_str(), paired[0].calls),
        ("hop-a", "hop-b", 1)
    );
    assert!(
        !edges.iter().any(|e| e.kind == EdgeKind::Virtual),
        "a paired call must not also show up as a virtual node: {edges:?}"
    );
}

#[actix_web::test]
async fn baggage_and_the_correlation_id_reach_the_next_service_and_come_back() {
    let pair = Pair::start(&[]);

    let (status, headers, body) =
        get(&pair.a.url("/hop"), &[("baggage", "tenant=acme"), ("x-correlation-id", "order-1234")]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers.get("x-correlation-id").unwrap(), "order-1234", "echoed to the caller");

    let received = &body["downstream"]["received"];
    assert_eq!(received["x-correlation-id"], "order-1234", "header sent to B");
    let baggage = received["baggage"].as_str().expect("B received baggage");
    assert!(baggage.split(',').any(|kv| kv.trim() == "tenant=acme"), "caller's baggage forwarded: {baggage}");
    assert!(baggage.split(',').any(|kv| kv.trim() == "correlation.id=order-1234"), "{baggage}");

    let (trace_id, _, _) = parse_traceparent(headers.get("traceresponse").unwrap().to_str().unwrap());
    let spans = pair.collector.wait_for_trace(&trace_id, 3, PATIENCE).await.unwrap();
    for server in spans.iter().filter(|s| s.kind == SpanKind::Server) {
        assert_eq!(server.attr_str("correlation.id"), Some("order-1234"), "on {}'s span", server.service);
    }
}

#[actix_web::test]
async fn a_missing_or_unsafe_correlation_id_is_replaced_by_a_generated_one() {
    let pair = Pair::start(&[]);
    let (_, headers, body) = get(&pair.a.url("/hop"), &[("x-correlation-id", "bad id with spaces")]).await;
    let id = headers.get("x-correlation-id").unwrap().to_str().unwrap().to_owned();
    assert_ne!(id, "bad id with spaces");
    assert_eq!(id.len(), 36, "a UUID: {id}");
    assert_eq!(body["downstream"]["received"]["x-correlation-id"], id.as_str(), "the new id is propagated");
}

#[actix_web::test]
async fn span_names_use_the_route_template_and_only_5xx_marks_a_server_span_failed() {
    let pair = Pair::start(&[]);
    let mut trace_ids = Vec::new();
    for (path, expected_status) in
        [("/items/42", 200), ("/fail", 500), ("/no/such/route", 404), ("/items/x", 400)]
    {
        let (status, headers, _) = get(&pair.a.url(path), &[]).await;
        assert_eq!(status, expected_status, "{path}");
        let (trace_id, _, _) = parse_traceparent(headers.get("traceresponse").unwrap().to_str().unwrap());
        trace_ids.push(trace_id);
    }
    let mut spans = Vec::new();
    for id in &trace_ids {
        spans.push(pair.collector.wait_for_trace(id, 1, PATIENCE).await.unwrap().remove(0));
    }
    assert_eq!(spans[0].name, "GET /items/{id}", "never the raw id");
    assert_eq!(spans[0].attr_str("http.route"), Some("/items/{id}"));
    assert_eq!(spans[0].status, SpanStatus::Unset);
    assert_eq!(spans[1].name, "GET /fail");
    assert!(spans[1].is_error(), "a 500 is our failure: {:?}", spans[1].status);
    assert_eq!(spans[1].attr_str("error.type"), Some("500"));
    assert_eq!(spans[2].name, "GET", "unmatched requests are named by method alone");
    assert_eq!(spans[2].attr("http.route"), None, "and carry no route: {:?}", spans[2].attributes);
    for client_error in &spans[2..] {
        assert_eq!(client_error.status, SpanStatus::Unset, "a 4xx is the caller's mistake, not ours");
        assert_eq!(client_error.attr("error.type"), None, "no error.type on a server 4xx: {client_error:?}");
    }
    assert_eq!(spans[3].attr("http.response.status_code").and_then(|v| v.as_i64()), Some(400));
}

#[actix_web::test]
async fn unknown_methods_cannot_name_spans() {
    let pair = Pair::start(&[]);
    let client = awc::Client::new();
    let mut trace_ids = Vec::new();
    for (method, path) in [("BREW", "/items/1"), ("X-MINTED-NAME-12345", "/nowhere"), ("get", "/hop")] {
        let response = client
            .request(actix_web::http::Method::from_bytes(method.as_bytes()).unwrap(), pair.a.url(path))
            .send()
            .await
            .unwrap();
        let traceresponse = response.headers().get("traceresponse").unwrap().to_str().unwrap();
        trace_ids.push((method, parse_traceparent(traceresponse).0));
    }
    for (method, trace_id) in trace_ids {
        let span = pair.collector.wait_for_trace(&trace_id, 1, PATIENCE).await.unwrap().remove(0);
        assert!(span.name == "HTTP" || span.name.starts_with("HTTP /"), "{method}: {}", span.name);
        assert!(!span.name.contains(method), "{method} named a span: {}", span.name);
        assert_eq!(span.attr_str("http.request.method"), Some("_OTHER"));
        assert_eq!(span.attr_str("http.request.method_original"), Some(method));
    }
}

#[actix_web::test]
async fn a_panicking_handler_answers_the_json_500_ends_its_span_in_error_and_the_service_lives_on() {
    let pair = Pair::start(&[]);
    let (status, headers, body) = get(&pair.a.url("/panic"), &[]).await;
    assert_eq!(status, 500);
    assert_eq!(body, pkg_tracing::internal_error_body(), "the one error shape");
    let (trace_id, _, _) =
        parse_traceparent(headers.get("traceresponse").expect("traceresponse").to_str().unwrap());
    assert!(headers.contains_key("x-correlation-id"));

    let spans = pair.collector.wait_for_trace(&trace_id, 1, PATIENCE).await.unwrap();
    let server = only(&spans, "hop-a", SpanKind::Server);
    assert_eq!(server.name, "GET /panic");
    assert!(server.is_error(), "{:?}", server.status);
    assert_eq!(server.attr_str("error.type"), Some("panic"));
    assert_eq!(server.attr("http.response.status_code").and_then(|v| v.as_i64()), Some(500));
    let logged = pair.a.log_lines().into_iter().find(|l| l["message"] == "a handler panicked; answered 500");
    let logged = logged.unwrap_or_else(|| panic!("the panic is logged: {:?}", pair.a.log_lines()));
    assert!(logged["panic.message"].as_str().is_some_and(|m| m.contains("index out of bounds")), "{logged}");
    assert_eq!(logged["trace_id"], trace_id.as_str(), "the log line leads to the trace");

    for _ in 0..4 {
        // Both workers keep serving after a panic (trace-hop runs two).
        let (status, _, _) = get(&pair.a.url("/panic"), &[]).await;
        assert_eq!(status, 500);
    }
    let (status, _, _) = get(&pair.a.url("/items/1"), &[]).await;
    assert_eq!(status, 200, "the service lives on");
}

#[actix_web::test]
async fn a_traced_response_carries_both_headers_and_a_probe_neither() {
    let pair = Pair::start(&[]);
    let (status, traced, _) = get(&pair.b.url("/items/1"), &[]).await;
    assert_eq!(status, 200);
    assert!(traced.contains_key("traceresponse"), "{traced:?}");
    assert!(traced.contains_key("x-correlation-id"), "{traced:?}");
    let (status, probe, _) = get(&pair.b.url("/health"), &[("x-correlation-id", "probe-1")]).await;
    assert_eq!(status, 200);
    assert!(!probe.contains_key("traceresponse"), "probes are untraced: {probe:?}");
    assert!(!probe.contains_key("x-correlation-id"), "{probe:?}");
}

#[actix_web::test]
async fn carried_context_is_continued_and_an_unusable_one_is_logged_not_silently_a_new_root() {
    let pair = Pair::start(&[]);
    let carried = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let (_, _, body) = get(&pair.b.url("/resume"), &[("carried-traceparent", carried)]).await;
    assert_eq!(body["continued"], true, "{body}");
    let spans = pair
        .collector
        .wait_for_span("4bf92f3577b34da6a3ce929d0e0e4736", "hop.resume", PATIENCE)
        .await
        .unwrap();
    let resumed = spans.iter().find(|s| s.name == "hop.resume").unwrap();
    assert_eq!(resumed.parent_span_id.as_deref(), Some("00f067aa0ba902b7"), "a child of the carried span");
    let warning = |lines: &[serde_json::Value]| {
        lines
            .iter()
            .filter(|l| {
                l["level"] == "WARN" && l["message"].as_str().unwrap_or("").contains("carried trace context")
            })
            .count()
    };
    assert_eq!(warning(&pair.b.log_lines()), 0, "a usable context is no news");

    let (_, _, body) = get(&pair.b.url("/resume"), &[("carried-traceparent", "00-garbage")]).await;
    assert_eq!(body["continued"], false, "{body}");
    let deadline = std::time::Instant::now() + PATIENCE;
    while warning(&pair.b.log_lines()) == 0 && std::time::Instant::now() < deadline {
        actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(warning(&pair.b.log_lines()), 1, "{:?}", pair.b.log_lines());
}

#[actix_web::test]
async fn an_external_call_sends_no_trace_headers_and_draws_a_virtual_node() {
    let pair = Pair::start(&[]);
    let site = Site::start().await;
    let target = format!("http://127.0.0.1:{}/page?token=s3cret&page=2", site.port);
    let url = format!("/fetch?url={}", urlencode(&target));

    let (status, headers, body) =
        get(&pair.a.url(&url), &[("baggage", "tenant=acme"), ("x-correlation-id", "leak-check")]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], 200);

    let received = site.received.lock().unwrap().clone();
    assert_eq!(received.len(), 1);
    let names: Vec<&str> = received[0].iter().map(|(k, _)| k.as_str()).collect();
    for forbidden in ["traceparent", "tracestate", "baggage", "x-correlation-id"] {
        assert!(!names.contains(&forbidden), "the third party received {forbidden}: {names:?}");
    }
    assert!(
        !received[0].iter().any(|(_, v)| v.contains("leak-check")),
        "the correlation id leaked: {received:?}"
    );

    let (trace_id, _, _) = parse_traceparent(headers.get("traceresponse").unwrap().to_str().unwrap());
    let spans = pair.collector.wait_for_trace(&trace_id, 2, PATIENCE).await.unwrap();
    let client = only(&spans, "hop-a", SpanKind::Client);
    assert_eq!(
        client.attr_str("peer.service"),
        Some("external-site"),
        "a host nobody listed is not a node of its own: whoever submits URLs must not mint nodes"
    );
    assert_eq!(client.attr_str("service.peer.name"), Some("external-site"));
    assert_eq!(client.attr_str("server.address"), Some("127.0.0.1"), "the real host is still on the span");
    let full = client.attr_str("url.full").unwrap();
    assert!(full.ends_with("/page?token=REDACTED&page=REDACTED"), "query values are redacted: {full}");
    assert!(!full.contains("s3cret"));

    let edges = service_graph(&spans, &PEER_ATTRIBUTES);
    assert!(
        edges
            .iter()
            .any(|e| e.kind == EdgeKind::Virtual && e.client == "hop-a" && e.server == "external-site"),
        "{}",
        render_edges(&edges)
    );
    site.stop().await;
}

#[actix_web::test]
async fn a_listed_external_host_keeps_its_name_as_the_peer() {
    let collector = pkg_tracing::harness::Collector::start().unwrap();
    let hop = crate::helpers::Hop::spawn(
        "hop-a",
        &collector.endpoint(),
        &[("HOP_PEER_HOSTS", "demo-site, 127.0.0.1/32")],
    );
    let site = Site::start().await;
    let target = format!("http://127.0.0.1:{}/page", site.port);
    let (status, headers, body) = get(&hop.url(&format!("/fetch?url={}", urlencode(&target))), &[]).await;
    assert_eq!(status, 200, "{body}");
    let (trace_id, _, _) = parse_traceparent(headers.get("traceresponse").unwrap().to_str().unwrap());
    let spans = collector.wait_for_trace(&trace_id, 2, PATIENCE).await.unwrap();
    let client = only(&spans, "hop-a", SpanKind::Client);
    assert_eq!(client.attr_str("peer.service"), Some("127.0.0.1"));
    assert_eq!(client.attr_str("service.peer.name"), Some("127.0.0.1"));
    site.stop().await;
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
