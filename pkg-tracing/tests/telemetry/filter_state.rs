//! A span made right after a `log` level check is still recorded. sqlx checks
//! `log::log_enabled!` after every query; through tracing-log that check leaves a per-layer
//! filter verdict behind, and a span whose callsite every filter had cached as "always" used to
//! read it and vanish from the export and the logs alike (tokio-rs/tracing#2519): on
//! PostgreSQL, every job's `job.run` and the client spans under it.
//!
//! The same subscriber tells the `log` crate the most verbose level anything listens at, so a
//! library's disabled `log::debug!` costs a comparison: html5ever logs every token it reads
//! at DEBUG, and when the maximum said "anything" those records were formatted only to be
//! filtered out — a quarter of the scraper's instructions per request.
//!
//! This test runs the real subscriber in-process — the only test of this binary that installs
//! one, so both checks share it.

use std::time::Instant;

use pkg_tracing::TelemetryConfig;
use pkg_tracing::harness::Collector;

use crate::helpers::PATIENCE;

#[test]
fn a_span_made_right_after_a_log_crate_level_check_is_exported_and_log_is_told_the_level() {
    let collector = Collector::start().unwrap();
    let endpoint = collector.endpoint();
    let config = TelemetryConfig::from_lookup("filter-state", "test", false, |name| match name {
        "OTEL_EXPORTER_OTLP_ENDPOINT" => Some(endpoint.clone()),
        "OTEL_BSP_SCHEDULE_DELAY" => Some("50".into()),
        // Logs at INFO: both per-layer filters then let an INFO span's callsite through, the
        // case the callsite cache used to answer "always" for.
        "RUST_LOG" => Some("info".into()),
        _ => None,
    })
    .unwrap();
    let guard = pkg_tracing::init_with(config).unwrap();

    // Spans are exported at INFO and RUST_LOG says INFO: nothing listens below it.
    assert_eq!(log::max_level(), log::LevelFilter::Info);
    let mut formatted = false;
    log::debug!(target: "html5ever::tokenizer", "{}", {
        formatted = true;
        "a token"
    });
    assert!(!formatted, "a DEBUG record of the log crate was formatted with RUST_LOG=info");

    let mut trace_ids = Vec::new();
    for round in 0..3 {
        // What sqlx does after each query: a level check through tracing-log, and nothing
        // logged after it.
        let _ = log::log_enabled!(target: "sqlx::query", log::Level::Debug);
        let span = tracing::info_span!("after_level_check", round);
        let trace_id = span.in_scope(pkg_tracing::current_trace_id);
        trace_ids
            .push(trace_id.unwrap_or_else(|| panic!("round {round}: the span was dropped by the filters")));
    }
    guard.flush();

    let started = Instant::now();
    for trace_id in &trace_ids {
        loop {
            let spans = collector.trace(trace_id);
            if let [span] = spans.as_slice() {
                assert_eq!(span.name, "after_level_check");
                break;
            }
            assert!(started.elapsed() < PATIENCE, "trace {trace_id} never arrived: {spans:?}");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}
