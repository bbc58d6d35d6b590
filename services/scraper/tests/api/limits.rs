//! What bounds one scrape: the deadline over all redirect hops, the permits for extraction,
//! and the pre-scan that refuses pages html5ever would take too long over.

use std::time::Duration;

use crate::helpers::{HOP_DELAY, Site, settings, spawn_app_with};

#[actix_web::test]
async fn a_redirect_chain_slower_than_the_deadline_is_504_though_every_hop_is_in_time() {
    let site = Site::start().await;
    // Three slow hops of 300 ms, then the article: each under the 800 ms per-hop timeout,
    // 0.9 s in all.
    let in_time = spawn_app_with(settings("127.0.0.0/8")).await;
    let (status, page) = in_time.scrape(&site.url("/chain/0")).await;
    assert_eq!(status, 200, "with a 10 s deadline the chain completes: {page}");
    assert_eq!(page["final_url"], site.url("/article"));

    let requests_before = site.received.lock().unwrap().len();
    let deadline = HOP_DELAY * 2 + HOP_DELAY / 2;
    let hurried = spawn_app_with(skein_scraper::Settings { deadline, ..settings("127.0.0.0/8") }).await;
    let (status, body) = hurried.scrape(&site.url("/chain/0")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (504, Some("upstream_timeout")), "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains(&format!("{} ms deadline", deadline.as_millis())), "{message}");
    let requested = site.received.lock().unwrap().len() - requests_before;
    assert!(requested < 4, "the scrape stopped at the deadline, after {requested} of 4 requests");
}

#[actix_web::test]
async fn with_every_extraction_permit_held_a_scrape_is_503_overloaded_with_retry_after() {
    let site = Site::start().await;
    let app = spawn_app_with(skein_scraper::Settings {
        cpu_permits: 1,
        cpu_wait: Duration::from_millis(50),
        ..settings("127.0.0.0/8")
    })
    .await;
    let body = serde_json::json!({ "url": site.url("/article") }).to_string();
    let held = app.cpu_limit.permit().await.expect("the only permit is free");
    let (status, headers, json) = app.scrape_with_headers(body.clone(), &[]).await;
    assert_eq!((status, json["error"]["code"].as_str()), (503, Some("overloaded")), "{json}");
    assert_eq!(headers.get("retry-after").and_then(|v| v.to_str().ok()), Some("1"));
    drop(held);
    let (status, _, json) = app.scrape_with_headers(body, &[]).await;
    assert_eq!(status, 200, "the permit is back: {json}");
}

#[actix_web::test]
async fn a_page_of_unclosed_tags_is_refused_as_too_complex() {
    let site = Site::start().await;
    let app = spawn_app_with(skein_scraper::Settings { max_bytes: 1 << 20, ..settings("127.0.0.0/8") }).await;
    let (status, body) = app.scrape(&site.url("/no-closing-bracket")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("page_too_complex")), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("attributes"), "{body}");
}
