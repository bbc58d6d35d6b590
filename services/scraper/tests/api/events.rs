//! The scraper's milestones on its exported spans: `page.fetched` on the request's span,
//! `text.extracted` on the extraction's, and the scraped host as `url.domain` (no URL, no query
//! string, no page text in either).

use std::collections::BTreeMap;
use std::time::Duration;

use pkg_tracing::harness::{AttrValue, RecordedSpan, SpanKind, render_trace};
use serde_json::Value;

use crate::helpers::{ARTICLE, Site, TestApp, spawn_app};

/// Scrapes `url` inside a trace of our own and returns the status, the body and that trace.
async fn scrape_traced(app: &TestApp, url: &str, trace_id: &str) -> (u16, Value, Vec<RecordedSpan>) {
    let traceparent = format!("00-{trace_id}-b7ad6b7169203331-01");
    let body = serde_json::json!({ "url": url }).to_string();
    let (status, page) = app.scrape_raw(body, &[("traceparent", &traceparent)]).await;
    let spans =
        app.collector.wait_for_span(trace_id, "POST /v1/scrape", Duration::from_secs(15)).await.unwrap();
    (status, page, spans)
}

fn event<'a>(span: &'a RecordedSpan, name: &str) -> &'a BTreeMap<String, AttrValue> {
    let found: Vec<_> = span.events.iter().filter(|(n, _)| n == name).collect();
    assert_eq!(found.len(), 1, "one {name} event on {}: {:?}", span.name, span.events);
    &found[0].1
}

fn int(value: i64) -> Option<AttrValue> {
    Some(AttrValue::Int(value))
}

fn text(value: &str) -> Option<AttrValue> {
    Some(AttrValue::Str(value.to_owned()))
}

#[actix_web::test]
async fn a_fetched_page_and_its_extracted_text_are_milestones_with_typed_attributes() {
    let (app, site) = (spawn_app().await, Site::start().await);
    let url = site.url("/redirect?token=secret-query");
    let (status, page, spans) = scrape_traced(&app, &url, "1af7651916cd43dd8448eb211c803192").await;
    assert_eq!(status, 200, "{page}");
    let tree = render_trace(&spans);

    let server = spans.iter().find(|s| s.kind == SpanKind::Server).unwrap_or_else(|| panic!("{tree}"));
    assert_eq!(server.attr("url.domain").cloned(), text("127.0.0.1"), "the host, never the URL");
    let fetched = event(server, "page.fetched");
    assert_eq!(fetched.get("http.response.status_code").cloned(), int(200));
    assert_eq!(fetched.get("http.response.body.size").cloned(), int(ARTICLE.len() as i64));
    assert_eq!(fetched.get("page.content_type").cloned(), text("text/html"), "the media type alone");
    assert_eq!(fetched.get("page.redirects").cloned(), int(1));

    let extract = spans.iter().find(|s| s.name == "scrape.extract").unwrap_or_else(|| panic!("{tree}"));
    let extracted = event(extract, "text.extracted");
    let characters = page["text"].as_str().unwrap().chars().count() as i64;
    assert_eq!(extracted.get("text.characters").cloned(), int(characters));
    assert_eq!(extracted.get("text.links").cloned(), int(page["links"].as_array().unwrap().len() as i64));
    assert!(characters > 0 && !page["links"].as_array().unwrap().is_empty(), "{page}");

    for span in &spans {
        for (name, attributes) in &span.events {
            for (key, value) in attributes {
                let value = value.to_string();
                assert!(!value.contains("secret-query") && !value.contains("http"), "{name}.{key}: {value}");
                assert!(!value.contains("timed operation"), "{name}.{key} holds page text: {value}");
            }
        }
    }
}

#[actix_web::test]
async fn a_page_answered_with_an_error_status_is_still_a_fetched_milestone() {
    let (app, site) = (spawn_app().await, Site::start().await);
    let (status, body, spans) =
        scrape_traced(&app, &site.url("/missing"), "2af7651916cd43dd8448eb211c803193").await;
    assert_eq!((status, body["error"]["code"].as_str()), (502, Some("upstream_error")));
    let server = spans.iter().find(|s| s.kind == SpanKind::Server).expect("the server span");
    let fetched = event(server, "page.fetched");
    assert_eq!(fetched.get("http.response.status_code").cloned(), int(404));
    assert_eq!(fetched.get("page.redirects").cloned(), int(0));
    assert!(!spans.iter().any(|s| s.events.iter().any(|(n, _)| n == "text.extracted")), "nothing extracted");
}
