use std::time::Duration;

use pkg_tracing::harness::{SpanKind, render_trace};

use crate::helpers::{spawn_app, spawn_app_with};

const ARTICLE: &str = "Distributed tracing follows a single request as it travels through many services. \
Every service records spans: named, timed operations with attributes. The spans share a trace id, so a \
back end such as Grafana Tempo can assemble them into one trace and draw a graph of the services.\n\n\
Teams love tracing because it makes slow requests easy to explain. Without it, finding the service that \
added latency is painful guesswork.";

#[actix_web::test]
async fn an_english_article_gets_a_full_analysis() {
    let app = spawn_app().await;
    let (status, body) = app.analyze(ARTICLE).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["language"]["code"], "en");
    assert_eq!(body["language"]["name"], "English");
    assert_eq!(body["counts"]["paragraphs"], 2);
    assert_eq!(body["counts"]["sentences"], 5);
    assert_eq!(body["counts"]["words"], 70);
    assert_eq!(body["reading_time_s"], 19, "70 words at 230 wpm, rounded up");
    let ease = body["readability"]["flesch_reading_ease"].as_f64().unwrap();
    assert!((0.0..100.0).contains(&ease), "{ease}");
    let keywords: Vec<&str> =
        body["keywords"].as_array().unwrap().iter().map(|k| k["term"].as_str().unwrap()).collect();
    assert!(keywords.contains(&"services") && keywords.contains(&"tracing"), "{keywords:?}");
    assert!(!keywords.iter().any(|k| ["the", "and", "with", "such"].contains(k)), "stop words: {keywords:?}");
    assert!(!body["key_phrases"].as_array().unwrap().is_empty());
    assert!(!body["tags"].as_array().unwrap().is_empty());
    assert!(body["quality"].as_f64().unwrap() > 0.3);
}

#[actix_web::test]
async fn empty_text_is_analysed_as_nothing() {
    let app = spawn_app().await;
    let (status, body) = app.analyze("").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["counts"]["words"], 0);
    assert_eq!(body["counts"]["characters"], 0);
    assert_eq!(body["reading_time_s"], 0);
    assert_eq!(body["language"]["code"], "und");
    assert_eq!(body["readability"]["level"], "none");
    assert_eq!(body["sentiment"]["label"], "neutral");
    assert_eq!(body["keywords"], serde_json::json!([]));
    assert_eq!(body["quality"], 0.0);
}

#[actix_web::test]
async fn french_text_is_detected_and_filtered_with_french_stop_words() {
    let app = spawn_app().await;
    let text = "Les services distribués envoient leurs traces au collecteur. Le collecteur garde les \
                traces et dessine le graphe des services. Les équipes lisent les traces chaque jour.";
    let (status, body) = app.analyze(text).await;
    assert_eq!(status, 200);
    assert_eq!(body["language"]["code"], "fr");
    let keywords: Vec<&str> =
        body["keywords"].as_array().unwrap().iter().map(|k| k["term"].as_str().unwrap()).collect();
    assert_eq!(keywords[0], "traces", "{keywords:?}");
    assert!(!keywords.iter().any(|k| ["les", "des", "leurs", "chaque"].contains(k)), "{keywords:?}");
}

#[actix_web::test]
async fn a_megabyte_of_text_is_analysed_completely() {
    let app = spawn_app().await;
    let sentence = "The quick brown fox jumps over the lazy dog near the quiet river bank. ";
    let text = sentence.repeat(1_000_000 / sentence.len() + 1);
    assert!(text.len() >= 1_000_000);
    let (status, body) = app.analyze(&text).await;
    assert_eq!(status, 200);
    let sentences = text.len() / sentence.len();
    assert_eq!(body["counts"]["sentences"], sentences);
    assert_eq!(body["counts"]["words"], sentences * 14);
    assert_eq!(body["keywords"][0]["count"], sentences, "every content word occurs once a sentence");
}

#[actix_web::test]
async fn text_over_the_limit_is_413_naming_both_sizes() {
    let app = spawn_app_with(1024).await;
    let (status, body) = app.analyze(&"a".repeat(1025)).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["error"]["code"], "text_too_large");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("1025") && message.contains("1024"), "{message}");
    let (status, _) = app.get("/health").await;
    assert_eq!(status, 200, "still healthy");
}

#[actix_web::test]
async fn malformed_requests_get_the_shared_error_body() {
    let app = spawn_app().await;
    for (body, status, code) in [
        (r#"{"text": "#, 400, "invalid_json"),
        (r#"{}"#, 400, "invalid_request"),
        (r#"{"text": 42}"#, 400, "invalid_request"),
        (r#"{"text": "x", "language": "en"}"#, 400, "invalid_request"),
    ] {
        let (got, _, json) = app.post_raw("/v1/analyze", body, &[]).await;
        assert_eq!((got, json["error"]["code"].as_str()), (status, Some(code)), "{body}: {json}");
    }
}

#[actix_web::test]
async fn every_stage_is_a_child_span_of_the_request_even_off_the_executor() {
    let app = spawn_app().await;
    let trace_id = "5ac1f1e5f0e0d0c0b0a0908070605040";
    let traceparent = format!("00-{trace_id}-1111111111111111-01");
    let (status, _, _) = app
        .post_raw("/v1/analyze", r#"{"text": "A short, happy text."}"#, &[("traceparent", &traceparent)])
        .await;
    assert_eq!(status, 200);
    let spans =
        app.collector.wait_for_span(trace_id, "POST /v1/analyze", Duration::from_secs(15)).await.unwrap();
    let server = spans.iter().find(|s| s.kind == SpanKind::Server).expect("a server span");
    assert_eq!(server.name, "POST /v1/analyze");
    assert_eq!(server.parent_span_id.as_deref(), Some("1111111111111111"));
    for stage in [
        "analyze.tokenize",
        "analyze.language",
        "analyze.readability",
        "analyze.keywords",
        "analyze.sentiment",
    ] {
        let span = spans
            .iter()
            .find(|s| s.name == stage)
            .unwrap_or_else(|| panic!("{stage} missing:\n{}", render_trace(&spans)));
        assert_eq!(span.parent_span_id.as_deref(), Some(server.span_id.as_str()), "{stage}");
    }
}
