//! The bad-input catalogue: every case gets its specific 4xx (or, for a failing site, 5xx)
//! in the one error shape, its SERVER span says the same (a 4xx is no error of ours, a 5xx is),
//! and every service is still healthy afterwards.

use pkg_tracing::harness::{RecordedSpan, SpanKind, SpanStatus};
use serde_json::{Value, json};
use skein_e2e::{PATIENCE, Site, Stack, StackEnv};

use crate::helpers::{call, temp_dir};

/// The span every case's request claims as its parent: the case's SERVER span is its child.
const CALLER_SPAN: &str = "00f067aa0ba902b7";

/// Case `i` runs in its own trace, so its SERVER span can be found among all the others.
fn trace_of(i: usize) -> String {
    format!("bad1{:028x}", i + 1)
}

/// Sends one case with a `traceparent` naming [`trace_of`]`(i)`; the body as is, as JSON.
async fn send(i: usize, method: &str, url: &str, body: Option<&str>) -> (u16, Value) {
    let client = awc::Client::builder().timeout(PATIENCE).finish();
    let request = client
        .request(method.parse().unwrap(), url)
        .insert_header(("traceparent", format!("00-{}-{CALLER_SPAN}-01", trace_of(i))));
    let sent = match body {
        Some(body) => {
            request.insert_header(("content-type", "application/json")).send_body(body.to_owned()).await
        }
        None => request.send().await,
    };
    let mut response = sent.unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let bytes = response.body().limit(8 << 20).await.expect("a body");
    (response.status().as_u16(), serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// The SERVER span of `service` that answered case `i`.
fn server_span<'a>(spans: &'a [RecordedSpan], i: usize, service: &str) -> Option<&'a RecordedSpan> {
    let trace = trace_of(i);
    spans.iter().find(|s| {
        s.trace_id == trace
            && s.service == service
            && s.kind == SpanKind::Server
            && s.parent_span_id.as_deref() == Some(CALLER_SPAN)
    })
}

/// A case: which service, method, path, body (`None`: no body; JSON unless it fails to parse
/// as JSON, then sent as is), and the status and code expected.
struct Case {
    service: &'static str,
    method: &'static str,
    path: String,
    body: Option<String>,
    status: u16,
    code: &'static str,
}

fn case(
    service: &'static str,
    method: &'static str,
    path: &str,
    body: Option<&str>,
    status: u16,
    code: &'static str,
) -> Case {
    Case { service, method, path: path.to_owned(), body: body.map(str::to_owned), status, code }
}

fn scrape(url: &str, status: u16, code: &'static str) -> Case {
    let body = json!({ "url": url }).to_string();
    Case {
        service: "controller",
        method: "POST",
        path: "/api/v1/scrape".into(),
        body: Some(body),
        status,
        code,
    }
}

fn schedule(body: serde_json::Value, status: u16, code: &'static str) -> Case {
    Case {
        service: "scheduler",
        method: "POST",
        path: "/api/v1/schedules".into(),
        body: Some(body.to_string()),
        status,
        code,
    }
}

#[actix_web::test]
async fn every_bad_input_gets_its_own_status_and_code_and_nothing_breaks() {
    let collector = pkg_tracing::harness::Collector::start().expect("collector");
    // The site on 127.0.0.2 is allowed; 127.0.0.1 (where the services listen) stays blocked.
    let site = Site::start_on("127.0.0.2").await;
    let data = temp_dir("bad-input");
    let mut env = StackEnv::allowing("127.0.0.2/32");
    for (k, v) in
        [("SCRAPER_MAX_BYTES", "262144"), ("SCRAPER_TIMEOUT_MS", "1500"), ("SCRAPER_MAX_REDIRECTS", "3")]
    {
        env.scraper.push((k.into(), v.into()));
    }
    let stack = Stack::start_with(&collector.endpoint(), data.path().to_path_buf(), env).await;
    let taken = call(
        "POST",
        &stack.scheduler.url("/api/v1/schedules"),
        Some(json!({ "name": "taken", "cron": "0 0 * * *", "url": site.url("/article") })),
    )
    .await;
    assert_eq!(taken.status, 201);

    let unknown = "0190f5b2-0000-7000-8000-000000000000";
    let cases = vec![
        // Malformed, truncated, wrong-typed, oversized JSON; missing and unknown fields.
        case("controller", "POST", "/api/v1/scrape", Some(r#"{"url": "#), 400, "invalid_json"),
        case(
            "controller",
            "POST",
            "/api/v1/scrape",
            Some(r#"{"url": "http://a.example/"#),
            400,
            "invalid_json",
        ),
        case("controller", "POST", "/api/v1/scrape", Some("not json at all"), 400, "invalid_json"),
        case("controller", "POST", "/api/v1/scrape", Some(r#"{"url": 42}"#), 400, "invalid_request"),
        case(
            "controller",
            "POST",
            "/api/v1/scrape",
            Some(r#"{"url": "http://a.example/", "force": "yes"}"#),
            400,
            "invalid_request",
        ),
        case("controller", "POST", "/api/v1/scrape", Some("{}"), 400, "invalid_request"),
        case(
            "controller",
            "POST",
            "/api/v1/scrape",
            Some(r#"{"url": "http://a.example/", "forse": true}"#),
            400,
            "invalid_request",
        ),
        case(
            "controller",
            "POST",
            "/api/v1/jobs",
            Some(&format!(r#"{{"url": "http://a.example/{}"}}"#, "a".repeat(20_000))),
            413,
            "payload_too_large",
        ),
        case("analyzer", "POST", "/v1/analyze", Some(r#"{"text": "#), 400, "invalid_json"),
        case("analyzer", "POST", "/v1/analyze", Some(r#"{"text": ["a"]}"#), 400, "invalid_request"),
        case(
            "analyzer",
            "POST",
            "/v1/analyze",
            Some(&json!({ "text": "x".repeat(2_000_000) }).to_string()),
            413,
            "text_too_large",
        ),
        case(
            "scraper",
            "POST",
            "/v1/scrape",
            Some(r#"{"href": "http://a.example/"}"#),
            400,
            "invalid_request",
        ),
        // URLs that are no web page.
        scrape("", 400, "invalid_url"),
        scrape("/relative/page", 400, "invalid_url"),
        scrape("file:///etc/passwd", 400, "invalid_url"),
        scrape("ftp://example.com/file", 400, "invalid_url"),
        scrape("javascript:alert(1)", 400, "invalid_url"),
        scrape("data:text/html,<b>hi</b>", 400, "invalid_url"),
        scrape("http://user:secret@example.com/", 400, "invalid_url"),
        // Destinations inside the network, in every spelling.
        scrape("http://127.0.0.1:8080/", 403, "destination_blocked"),
        scrape("http://[::1]/", 403, "destination_blocked"),
        scrape("http://10.1.2.3/", 403, "destination_blocked"),
        scrape("http://172.16.0.1/", 403, "destination_blocked"),
        scrape("http://192.168.1.1/", 403, "destination_blocked"),
        scrape("http://169.254.169.254/latest/meta-data/", 403, "destination_blocked"),
        scrape("http://[fd00:ec2::254]/", 403, "destination_blocked"),
        scrape("http://100.64.0.1/", 403, "destination_blocked"),
        scrape("http://0.0.0.0/", 403, "destination_blocked"),
        scrape("http://[::ffff:127.0.0.1]/", 403, "destination_blocked"),
        scrape("http://2130706433/", 403, "destination_blocked"),
        scrape("http://0177.0.0.1/", 403, "destination_blocked"),
        scrape("http://0x7f.0.0.1/", 403, "destination_blocked"),
        scrape("http://%31%32%37.0.0.1/", 403, "destination_blocked"),
        scrape("http://ⓛⓞⓒⓐⓛⓗⓞⓢⓣ/", 403, "destination_blocked"),
        scrape("http://localhost:1/", 403, "destination_blocked"),
        scrape(&site.url("/to-private"), 403, "destination_blocked"),
        scrape(&site.url("/to-metadata"), 403, "destination_blocked"),
        // Pages that are too big, too slow, circular or not HTML.
        scrape(&site.url("/big"), 413, "page_too_large"),
        scrape(&site.url("/image"), 415, "not_html"),
        scrape(&site.url("/loop"), 502, "upstream_error"),
        scrape(&site.url("/slow-headers"), 504, "upstream_timeout"),
        scrape(&site.url("/slow-body"), 504, "upstream_timeout"),
        // Schedules.
        schedule(json!({ "name": "a", "cron": "* * *", "url": site.url("/article") }), 400, "invalid_cron"),
        schedule(
            json!({ "name": "a", "cron": "61 * * * *", "url": site.url("/article") }),
            400,
            "invalid_cron",
        ),
        schedule(
            json!({ "name": "a", "cron": "0 0 32 * *", "url": site.url("/article") }),
            400,
            "invalid_cron",
        ),
        schedule(
            json!({ "name": "a", "cron": "0 0 * 13 *", "url": site.url("/article") }),
            400,
            "invalid_cron",
        ),
        schedule(
            json!({ "name": "a", "cron": "0 0 * * 8", "url": site.url("/article") }),
            400,
            "invalid_cron",
        ),
        schedule(
            json!({ "name": "a", "cron": "0 0 * * *", "timezone": "Mars/Olympus_Mons", "url": site.url("/article") }),
            400,
            "invalid_timezone",
        ),
        schedule(
            json!({ "name": "a", "cron": "0 0 * * *", "url": "gopher://old.example/" }),
            400,
            "invalid_url",
        ),
        schedule(
            json!({ "name": "taken", "cron": "0 0 * * *", "url": site.url("/article") }),
            409,
            "schedule_name_taken",
        ),
        case("scheduler", "GET", &format!("/api/v1/schedules/{unknown}"), None, 404, "schedule_not_found"),
        case("scheduler", "POST", "/api/v1/schedules/not-an-id/run", None, 400, "invalid_id"),
        // Ids, cursors and limits.
        case("controller", "GET", &format!("/api/v1/jobs/{unknown}"), None, 404, "job_not_found"),
        case("controller", "GET", &format!("/api/v1/documents/{unknown}"), None, 404, "document_not_found"),
        case("controller", "DELETE", "/api/v1/documents/12", None, 400, "invalid_id"),
        case("controller", "GET", "/api/v1/documents?cursor=c1.not-hex", None, 400, "invalid_cursor"),
        case("controller", "GET", "/api/v1/jobs?cursor=eyJpZCI6MX0", None, 400, "invalid_cursor"),
        // A multi-byte character where hex digits belong once dropped the connection (a panic).
        case("controller", "GET", "/api/v1/documents?cursor=c1.a%E2%82%AC", None, 400, "invalid_cursor"),
        case("controller", "GET", "/api/v1/jobs?cursor=c1.a%E2%82%AC", None, 400, "invalid_cursor"),
        case("controller", "GET", "/api/v1/jobs?cursor=c1.%E2%82%AC%E2%82%AC", None, 400, "invalid_cursor"),
        case("controller", "GET", "/api/v1/jobs?limit=-1", None, 400, "invalid_limit"),
        case("controller", "GET", "/api/v1/documents?limit=1000000000000", None, 400, "invalid_limit"),
        case("controller", "GET", "/api/v1/documents?limit=99999999999999999999", None, 400, "invalid_query"),
        case("controller", "GET", "/api/v1/jobs?status=finished", None, 400, "invalid_status"),
        case("controller", "GET", "/api/v1/nope", None, 404, "route_not_found"),
    ];

    let mut failures = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        let base = match c.service {
            "controller" => &stack.controller,
            "scraper" => &stack.scraper,
            "analyzer" => &stack.analyzer,
            _ => &stack.scheduler,
        };
        let (status, body) = send(i, c.method, &base.url(&c.path), c.body.as_deref()).await;
        let code = body["error"]["code"].as_str().unwrap_or("");
        let message = body["error"]["message"].as_str().unwrap_or("");
        if status != c.status || code != c.code || message.is_empty() {
            failures.push(format!(
                "{} {} {}: got {status} {code} ({body})",
                c.service,
                c.method,
                c.path.chars().take(80).collect::<String>(),
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );

    // Each case's SERVER span: the status it answered, no error of ours for a 4xx (status
    // Unset, no error.type), status Error with error.type for a 5xx.
    let spans = collector
        .wait_for("a SERVER span for every case", PATIENCE, |spans| {
            cases.iter().enumerate().all(|(i, c)| server_span(spans, i, c.service).is_some())
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    for (i, c) in cases.iter().enumerate() {
        let span = server_span(&spans, i, c.service).unwrap();
        let what = format!(
            "{} {} {} -> {}: {span:?}",
            c.service,
            c.method,
            c.path.chars().take(80).collect::<String>(),
            c.status
        );
        assert_eq!(
            span.attr("http.response.status_code").and_then(|v| v.as_i64()),
            Some(i64::from(c.status)),
            "{what}"
        );
        if c.status < 500 {
            assert_eq!(span.status, SpanStatus::Unset, "{what}");
            assert_eq!(span.attr("error.type"), None, "{what}");
        } else {
            assert!(span.is_error(), "{what}");
            assert_eq!(span.attr_str("error.type"), Some(c.status.to_string().as_str()), "{what}");
        }
    }
    println!("bad-input catalogue: {} cases, all answered as expected", cases.len());

    // Lenient by design: an unknown charset degrades to UTF-8 with replacement characters.
    let odd = call(
        "POST",
        &stack.controller.url("/api/v1/scrape"),
        Some(json!({ "url": site.url("/bad-charset") })),
    )
    .await;
    assert_eq!(odd.status, 201, "{}", odd.body);
    // And everything still works.
    for service in [&stack.controller, &stack.scraper, &stack.analyzer, &stack.scheduler] {
        assert_eq!(
            call("GET", &service.url("/ready"), None).await.status,
            200,
            "{} not ready after the catalogue",
            service.url("")
        );
    }
    let fine =
        call("POST", &stack.controller.url("/api/v1/scrape"), Some(json!({ "url": site.url("/article") })))
            .await;
    assert_eq!(fine.status, 201, "{}", fine.body);
}
