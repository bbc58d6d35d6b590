//! Readiness, the limit on analyses in flight, and texts whose JSON is far larger than they are.

use std::time::Duration;

use crate::helpers::{build, settings, spawn_app_with, spawn_app_with_settings, start};

#[actix_web::test]
async fn ready_is_503_until_the_warm_up_has_run() {
    let app = build(skein_analyzer::Settings { cpu_permits: 1, ..settings(1 << 20) }).await;
    // Holding the only permit before the app starts keeps its warm-up from running.
    let held = app.cpu_limit().permit().await.expect("the permit is free");
    let app = start(app);
    let (status, body) = app.get("/ready").await;
    assert_eq!((status, body["error"]["code"].as_str()), (503, Some("warming_up")), "{body}");
    assert_eq!(app.get("/health").await.0, 200, "alive while warming up");
    drop(held);
    assert!(app.wait_until_ready().await, "ready once the warm-up ran");
    assert_eq!(app.get("/ready").await.1["status"], "ready");
}

#[actix_web::test]
async fn with_every_permit_held_an_analysis_is_503_overloaded_with_retry_after() {
    let app = spawn_app_with_settings(skein_analyzer::Settings {
        cpu_permits: 1,
        cpu_wait: Duration::from_millis(50),
        ..settings(1 << 20)
    })
    .await;
    assert!(app.wait_until_ready().await, "the warm-up no longer holds the permit");
    let held = app.cpu_limit.permit().await.expect("the only permit is free");
    let (status, headers, body) = app.post_raw("/v1/analyze", r#"{"text": "Busy."}"#, &[]).await;
    assert_eq!((status, body["error"]["code"].as_str()), (503, Some("overloaded")), "{body}");
    assert_eq!(headers.get("retry-after").and_then(|v| v.to_str().ok()), Some("1"));
    drop(held);
    let (status, _, body) = app.post_raw("/v1/analyze", r#"{"text": "Free."}"#, &[]).await;
    assert_eq!(status, 200, "{body}");
}

#[actix_web::test]
async fn control_characters_escaped_sixfold_still_fit_up_to_the_text_limit() {
    let app = spawn_app_with(1024).await;
    // Each U+0001 is one byte of text and six on the wire (\u0001).
    let (status, body) = app.analyze(&"\u{1}".repeat(1024)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["counts"]["characters"], 1024);
    let (status, body) = app.analyze(&"\u{1}".repeat(1025)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (413, Some("text_too_large")), "{body}");
}
