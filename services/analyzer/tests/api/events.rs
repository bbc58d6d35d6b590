//! The analyzer's milestone on its exported span: `analysis.completed` with what was found
//! (words, language, sentiment label), typed, and never the text.

use std::time::Duration;

use pkg_tracing::harness::{AttrValue, SpanKind};

use crate::helpers::spawn_app;

#[actix_web::test]
async fn a_completed_analysis_is_a_milestone_on_the_request_span() {
    let app = spawn_app().await;
    let trace_id = "6ac1f1e5f0e0d0c0b0a0908070605041";
    let traceparent = format!("00-{trace_id}-1111111111111111-01");
    let text = "What a wonderful, happy day. We love this bright garden and its lovely flowers.";
    let body = serde_json::json!({ "text": text }).to_string();
    let (status, _, analysis) = app.post_raw("/v1/analyze", body, &[("traceparent", &traceparent)]).await;
    assert_eq!(status, 200, "{analysis}");
    assert_eq!(analysis["sentiment"]["label"], "positive", "a text whose label is not the default");

    let spans =
        app.collector.wait_for_span(trace_id, "POST /v1/analyze", Duration::from_secs(15)).await.unwrap();
    let server = spans.iter().find(|s| s.kind == SpanKind::Server).expect("a server span");
    let completed: Vec<_> = server.events.iter().filter(|(n, _)| n == "analysis.completed").collect();
    assert_eq!(completed.len(), 1, "{:?}", server.events);
    let attributes = &completed[0].1;
    let words = analysis["counts"]["words"].as_i64().unwrap();
    assert_eq!(words, 14);
    assert_eq!(attributes.get("analysis.words"), Some(&AttrValue::Int(words)));
    assert_eq!(attributes.get("analysis.language"), Some(&AttrValue::Str("en".into())));
    assert_eq!(attributes.get("analysis.sentiment"), Some(&AttrValue::Str("positive".into())));
    assert!(attributes.values().all(|v| !v.to_string().contains("garden")), "no text: {attributes:?}");
}
