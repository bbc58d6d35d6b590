//! What every end-to-end test uses: HTTP calls, traces that have settled, a data directory.

use std::collections::BTreeSet;
use std::time::Duration;

use pkg_tracing::harness::{Collector, RecordedSpan};
pub use pkg_tracing::harness::{TempDir, temp_dir};
use serde_json::Value;
use skein_e2e::PATIENCE;

pub struct Reply {
    pub status: u16,
    pub trace_id: Option<String>,
    pub body: Value,
}

pub async fn call(method: &str, url: &str, body: Option<Value>) -> Reply {
    let client = awc::Client::builder().timeout(PATIENCE).finish();
    let request = client.request(method.parse().unwrap(), url);
    let mut response = match body {
        Some(body) => request.send_json(&body).await,
        None => request.send().await,
    }
    .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let bytes = response.body().limit(8 << 20).await.expect("a body");
    let trace_id = response
        .headers()
        .get("traceresponse")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split('-').nth(1))
        .map(str::to_owned);
    Reply {
        status: response.status().as_u16(),
        trace_id,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

pub fn services(spans: &[RecordedSpan]) -> BTreeSet<&str> {
    spans.iter().map(|s| s.service.as_str()).collect()
}

/// Waits until the trace holds spans from every one of `expected` services and has been quiet
/// for a moment (late batches), then returns it.
pub async fn settled_trace(collector: &Collector, trace_id: &str, expected: &[&str]) -> Vec<RecordedSpan> {
    let what = format!("trace {trace_id} with spans from {expected:?}");
    collector
        .wait_for(&what, PATIENCE, |spans| {
            let names: BTreeSet<&str> =
                spans.iter().filter(|s| s.trace_id == trace_id).map(|s| s.service.as_str()).collect();
            expected.iter().all(|e| names.contains(e))
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut last = 0;
    loop {
        actix_web::rt::time::sleep(Duration::from_millis(300)).await;
        let count = collector.trace(trace_id).len();
        if count == last {
            return collector.trace(trace_id);
        }
        last = count;
    }
}

/// Every span received once the exporters have flushed: the count unchanged across 300 ms
/// (three batch delays of the test stacks). Read right after the last request ends, a client
/// span can be in while its server half still waits in the callee's batch, and the service
/// graph would draw that call as one to an uninstrumented peer.
pub async fn settled_spans(collector: &Collector) -> Vec<RecordedSpan> {
    let deadline = std::time::Instant::now() + PATIENCE;
    let mut last = collector.spans().len();
    loop {
        actix_web::rt::time::sleep(Duration::from_millis(300)).await;
        let spans = collector.spans();
        if spans.len() == last || std::time::Instant::now() > deadline {
            return spans;
        }
        last = spans.len();
    }
}
