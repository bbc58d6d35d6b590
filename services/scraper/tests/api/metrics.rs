//! `/metrics`: bytes fetched, pages refused by reason, and the fetch's client duration under
//! the fixed peer `external` with the scrape's trace as exemplar.

use pkg_tracing::harness::openmetrics::{scrape, traceresponse_trace_id};
use serde_json::json;

use crate::helpers::{ARTICLE, Site, spawn_app};

#[actix_web::test]
async fn fetched_bytes_refusals_and_client_calls_are_counted() {
    let site = Site::start().await;
    let app = spawn_app().await;
    let mut trace_ids = Vec::new();
    for (url, expected) in [
        (site.url("/article"), 200),
        (site.url("/image"), 415),
        (site.url("/to-private"), 403),
        ("ftp://example.com/file".to_owned(), 400),
    ] {
        let (status, headers, _) = app.scrape_with_headers(json!({ "url": url }).to_string(), &[]).await;
        assert_eq!(status, expected, "{url}");
        trace_ids.push(traceresponse_trace_id(&headers));
    }

    let metrics = scrape(&app.address).await;
    // The article, then the image's four bytes; pages refused before their fetch add nothing.
    assert_eq!(metrics.value("skein_scraper_fetched_bytes_total", &[]), Some((ARTICLE.len() + 4) as f64));
    for reason in ["not_html", "destination_blocked", "invalid_url"] {
        assert_eq!(
            metrics.value("skein_scraper_pages_refused_total", &[("reason", reason)]),
            Some(1.0),
            "{reason}"
        );
    }
    assert_eq!(metrics.value("skein_scraper_pages_refused_total", &[]), Some(3.0));

    let client = "http_client_request_duration_seconds";
    let family = metrics.family(client).unwrap();
    assert!(
        family.samples.iter().all(|s| s.labels["peer"] == "external"),
        "hosts must not become peer labels"
    );
    // The article and the image answered 200; the redirect to a private address answered 302.
    assert_eq!(
        metrics.value(&format!("{client}_count"), &[("status_code", "200"), ("method", "GET")]),
        Some(2.0)
    );
    assert_eq!(metrics.value(&format!("{client}_count"), &[("status_code", "302")]), Some(1.0));
    let exemplars = metrics.exemplars(client);
    assert!(!exemplars.is_empty());
    for (_, exemplar) in exemplars {
        let trace_id = &exemplar.labels["trace_id"];
        assert!(
            trace_ids[..3].contains(trace_id),
            "client exemplar {trace_id} is none of the fetching scrapes"
        );
    }
    let server_exemplars: Vec<String> = metrics
        .exemplars("http_server_request_duration_seconds")
        .into_iter()
        .filter(|(s, _)| s.labels["status_code"] == "200")
        .map(|(_, e)| e.labels["trace_id"].clone())
        .collect();
    assert_eq!(server_exemplars, [trace_ids[0].clone()], "the one 200 is the article's scrape");
}
