//! Milestones as span events, and the attributes traces are searched by (the README's "Find a
//! trace" recipes), on the exported spans: names, types and values.

use std::collections::BTreeMap;
use std::time::Duration;

use pkg_tracing::harness::{AttrValue, RecordedSpan, SpanKind, render_trace};
use serde_json::json;

use crate::helpers::{
    ARTICLES, PATIENCE, Reply, TestApp, closed_port, settings, spawn_app, spawn_app_with, spawn_scraper,
};

type Attributes = BTreeMap<String, AttrValue>;

fn trace_id_of(reply: &Reply) -> String {
    let traceresponse = reply.headers.get("traceresponse").expect("a traceresponse").to_str().unwrap();
    traceresponse.split('-').nth(1).unwrap().to_owned()
}

fn span<'a>(spans: &'a [RecordedSpan], name: &str, kind: SpanKind) -> &'a RecordedSpan {
    spans
        .iter()
        .find(|s| s.name == name && s.kind == kind)
        .unwrap_or_else(|| panic!("no {kind:?} span {name}:\n{}", render_trace(spans)))
}

/// The attributes of the span's one event called `name`.
fn event<'a>(span: &'a RecordedSpan, name: &str) -> &'a Attributes {
    let found: Vec<_> = span.events.iter().filter(|(n, _)| n == name).collect();
    assert_eq!(found.len(), 1, "one {name} event on {}: {:?}", span.name, span.events);
    &found[0].1
}

fn event_names(span: &RecordedSpan) -> Vec<&str> {
    span.events.iter().map(|(n, _)| n.as_str()).collect()
}

/// What `.attr(key).cloned()` is for a string attribute.
fn str_value(value: &str) -> Option<AttrValue> {
    Some(AttrValue::Str(value.to_owned()))
}

/// What `.attr(key).cloned()` is for an integer attribute.
fn int(value: i64) -> Option<AttrValue> {
    Some(AttrValue::Int(value))
}

/// Events describe; they never carry the page's text or a URL (which may hold a query string).
fn assert_no_text_or_urls(spans: &[RecordedSpan], text: &str) {
    let excerpt = &text[text.find("<p>").unwrap() + 3..][..20];
    for span in spans {
        for (name, attributes) in &span.events {
            for (key, value) in attributes {
                let value = value.to_string();
                assert!(!value.contains(excerpt), "{name}.{key} holds page text: {value}");
                assert!(!value.contains("http://"), "{name}.{key} holds a URL: {value}");
            }
        }
    }
}

async fn wait_for_root(app: &TestApp, trace_id: &str, root: &str) -> Vec<RecordedSpan> {
    app.collector.wait_for_span(trace_id, root, PATIENCE).await.unwrap()
}

#[actix_web::test]
async fn a_scrape_leaves_a_milestone_in_every_service_and_the_searched_attributes_on_its_span() {
    let app = spawn_app().await;
    let (path, html) = ARTICLES[2];
    let headers = [("x-correlation-id", "find-me-42")];
    let order = json!({ "url": app.page(path) });
    let reply = app.request_with("POST", "/api/v1/scrape", Some(order), &headers).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let doc = &reply.body;
    let spans = wait_for_root(&app, &trace_id_of(&reply), "POST /api/v1/scrape").await;
    let tree = render_trace(&spans);

    // The server span of the request: what a user searches by.
    let root = span(&spans, "POST /api/v1/scrape", SpanKind::Server);
    assert_eq!(root.attr("correlation.id").cloned(), str_value("find-me-42"), "{tree}");
    assert_eq!(root.attr("url.domain").cloned(), str_value("127.0.0.1"), "the host, never the URL");
    assert_eq!(root.attr("document.id").cloned(), str_value(doc["id"].as_str().unwrap()));
    assert_eq!(root.attr("skein.cache").cloned(), str_value("miss"));
    assert_eq!(event_names(root), ["cache.miss", "document.stored"], "in order");
    let stored = event(root, "document.stored");
    assert_eq!(stored.get("document.id").cloned(), str_value(doc["id"].as_str().unwrap()));
    assert_eq!(stored.get("document.change").cloned(), str_value("created"));
    assert_eq!(stored.get("document.words").cloned(), int(doc["word_count"].as_i64().unwrap()));

    // The scraper: the page fetched on its request span, the text extracted on the extraction's.
    let scraper = span(&spans, "POST /v1/scrape", SpanKind::Server);
    assert_eq!(scraper.attr("url.domain").cloned(), str_value("127.0.0.1"));
    let fetched = event(scraper, "page.fetched");
    assert_eq!(fetched.get("http.response.status_code").cloned(), int(200));
    assert_eq!(fetched.get("http.response.body.size").cloned(), int(html.len() as i64));
    assert_eq!(fetched.get("page.content_type").cloned(), str_value("text/html"));
    assert_eq!(fetched.get("page.redirects").cloned(), int(0));
    let extract = span(&spans, "scrape.extract", SpanKind::Internal);
    let extracted = event(extract, "text.extracted");
    let characters = extracted.get("text.characters").and_then(AttrValue::as_i64).expect("an int");
    assert!((90..html.len() as i64).contains(&characters), "the readable text, not the markup: {characters}");
    assert_eq!(extracted.get("text.links").cloned(), int(0));

    // The analyzer: what it found.
    let analyzer = span(&spans, "POST /v1/analyze", SpanKind::Server);
    let analysed = event(analyzer, "analysis.completed");
    assert_eq!(analysed.get("analysis.words").cloned(), int(doc["word_count"].as_i64().unwrap()));
    assert_eq!(analysed.get("analysis.language").cloned(), str_value("en"));
    assert_eq!(
        analysed.get("analysis.sentiment").cloned(),
        str_value(doc["sentiment"]["label"].as_str().unwrap())
    );

    assert_no_text_or_urls(&spans, html);
}

#[actix_web::test]
async fn the_stored_document_answers_as_a_cache_hit_and_force_bypasses_it() {
    let app = spawn_app().await;
    let first = app.scrape(&app.page("/gardens"), false).await;
    assert_eq!(first.status, 201);
    let id = first.body["id"].as_str().unwrap();

    let hit = app.scrape(&app.page("/gardens"), false).await;
    assert_eq!(hit.status, 200);
    let spans = wait_for_root(&app, &trace_id_of(&hit), "POST /api/v1/scrape").await;
    let root = span(&spans, "POST /api/v1/scrape", SpanKind::Server);
    assert_eq!(root.attr("skein.cache").cloned(), str_value("hit"));
    assert_eq!(root.attr("document.id").cloned(), str_value(id));
    assert_eq!(event_names(root), ["cache.hit"], "nothing scraped, nothing stored");
    assert_eq!(event(root, "cache.hit").get("document.id").cloned(), str_value(id));
    assert!(!spans.iter().any(|s| s.name == "POST /v1/scrape"), "{}", render_trace(&spans));

    let forced = app.scrape(&app.page("/gardens"), true).await;
    assert_eq!(forced.status, 201);
    let spans = wait_for_root(&app, &trace_id_of(&forced), "POST /api/v1/scrape").await;
    let root = span(&spans, "POST /api/v1/scrape", SpanKind::Server);
    assert_eq!(root.attr("skein.cache").cloned(), str_value("bypass"));
    assert_eq!(event_names(root), ["document.stored"]);
    assert_eq!(
        event(root, "document.stored").get("document.change").cloned(),
        str_value("updated"),
        "same URL, same id"
    );
    assert_eq!(event(root, "document.stored").get("document.id").cloned(), str_value(id));
}

#[actix_web::test]
async fn job_and_document_requests_carry_their_ids_and_the_job_run_its_host() {
    let app = spawn_app().await;
    let submitted = app.submit(&app.page("/tracing")).await;
    assert_eq!(submitted.status, 202);
    let job_id = submitted.body["id"].as_str().unwrap().to_owned();
    let job = app.wait_for_job(&job_id, "succeeded", |j| j["status"] == "succeeded").await;
    let document_id = job["document_id"].as_str().unwrap().to_owned();

    let spans = wait_for_root(&app, &trace_id_of(&submitted), "job.run").await;
    let submit = span(&spans, "POST /api/v1/jobs", SpanKind::Server);
    assert_eq!(submit.attr("job.id").cloned(), str_value(&job_id));
    assert_eq!(submit.attr("url.domain").cloned(), str_value("127.0.0.1"));
    assert!(submit.attr("correlation.id").and_then(AttrValue::as_str).is_some_and(|c| !c.is_empty()));
    let run = span(&spans, "job.run", SpanKind::Internal);
    assert_eq!(run.attr("job.id").cloned(), str_value(&job_id));
    assert_eq!(run.attr("job.attempt").cloned(), int(1));
    assert_eq!(run.attr("url.domain").cloned(), str_value("127.0.0.1"));
    assert_eq!(run.attr("skein.cache").cloned(), str_value("miss"));
    assert_eq!(event(run, "document.stored").get("document.id").cloned(), str_value(&document_id));

    for (path, key, id) in [
        (format!("/api/v1/jobs/{job_id}"), "job.id", &job_id),
        (format!("/api/v1/documents/{document_id}"), "document.id", &document_id),
    ] {
        let reply = app.request("GET", &path, None).await;
        assert_eq!(reply.status, 200);
        let spans = app.collector.wait_for_trace(&trace_id_of(&reply), 1, PATIENCE).await.unwrap();
        let server = spans.iter().find(|s| s.kind == SpanKind::Server).expect("the server span");
        assert_eq!(server.attr(key).cloned(), str_value(id), "GET {path}");
    }
}

#[actix_web::test]
async fn a_retry_is_scheduled_with_its_attempt_delay_and_cause_and_a_cancel_is_recorded() {
    let scraper = spawn_scraper().await;
    let analyzer_port = closed_port();
    let app = spawn_app_with(|db| {
        let mut s = settings(db, scraper, analyzer_port);
        s.job_retry_base = Duration::from_secs(60);
        s
    })
    .await;
    let submitted = app.submit(&app.page("/rivers")).await;
    let job_id = submitted.body["id"].as_str().unwrap().to_owned();
    let job = app
        .wait_for_job(&job_id, "waiting to retry", |j| j["status"] == "queued" && j["attempts"] == 1)
        .await;
    let cause = job["error"]["code"].as_str().expect("the attempt's error code").to_owned();

    let spans = wait_for_root(&app, &trace_id_of(&submitted), "job.run").await;
    let run = span(&spans, "job.run", SpanKind::Internal);
    let retry = event(run, "job.retry_scheduled");
    assert_eq!(retry.get("job.attempt").cloned(), int(1));
    assert_eq!(retry.get("job.retry_delay_ms").cloned(), int(60_000));
    assert_eq!(retry.get("error.type").cloned(), str_value(&cause));
    assert!(run.is_error(), "the failed attempt is an error span");

    let cancelled = app.request("DELETE", &format!("/api/v1/jobs/{job_id}"), None).await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    let spans = wait_for_root(&app, &trace_id_of(&cancelled), "DELETE /api/v1/jobs/{id}").await;
    let server = span(&spans, "DELETE /api/v1/jobs/{id}", SpanKind::Server);
    assert_eq!(server.attr("job.id").cloned(), str_value(&job_id));
    let event = event(server, "job.cancelled");
    assert_eq!(event.get("job.id").cloned(), str_value(&job_id));
    assert_eq!(event.get("job.attempts").cloned(), int(1));
}
