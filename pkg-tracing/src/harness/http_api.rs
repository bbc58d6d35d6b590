//! trace-view's HTTP side, so the controller's web page works without Tempo or Prometheus:
//!
//! * `GET /api/traces/{trace_id}` — the trace in OTLP JSON (`resourceSpans`, hex ids), the
//!   route and body Tempo's HTTP API answers with; 404 when no span of it was received.
//! * `GET /api/service-graph?minutes=N` — `{"edges": [{client, server, calls, failed}]}` over
//!   the traces whose last span arrived in the last N minutes (default 5), paired with
//!   [`service_graph`]'s rules (Tempo's).
//!
//! Traces the viewer has printed move from the [`Collector`] into [`RecentTraces`], which keeps
//! a bounded number of them; both are searched.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpResponse, HttpServer, web};
use serde_json::{Value, json};

use super::collector::Collector;
use super::graph::{PEER_ATTRIBUTES, service_graph};
use super::span::{AttrValue, RecordedSpan, SpanKind, SpanStatus};

/// Finished traces, newest last, at most `capacity` of them.
pub struct RecentTraces {
    capacity: usize,
    traces: Mutex<VecDeque<(Instant, String, Vec<RecordedSpan>)>>,
}

impl RecentTraces {
    pub fn new(capacity: usize) -> Self {
        Self { capacity, traces: Mutex::new(VecDeque::new()) }
    }

    /// Keeps a finished trace; the oldest goes when full.
    pub fn keep(&self, trace_id: String, spans: Vec<RecordedSpan>) {
        let mut traces = self.traces.lock().unwrap_or_else(|p| p.into_inner());
        traces.push_back((Instant::now(), trace_id, spans));
        while traces.len() > self.capacity {
            traces.pop_front();
        }
    }

    fn trace(&self, trace_id: &str) -> Vec<RecordedSpan> {
        let traces = self.traces.lock().unwrap_or_else(|p| p.into_inner());
        traces.iter().filter(|(_, id, _)| id == trace_id).flat_map(|(_, _, spans)| spans.clone()).collect()
    }

    fn since(&self, window: Duration) -> Vec<RecordedSpan> {
        let traces = self.traces.lock().unwrap_or_else(|p| p.into_inner());
        traces.iter().filter(|(at, _, _)| at.elapsed() <= window).flat_map(|(_, _, s)| s.clone()).collect()
    }
}

struct Sources {
    collector: &'static Collector,
    recent: Arc<RecentTraces>,
}

/// Serves the two routes on `addr` from a thread of its own, for the rest of the process's
/// life (hence the `'static` collector); returns the bound address.
pub fn serve_http(
    addr: SocketAddr,
    collector: &'static Collector,
    recent: Arc<RecentTraces>,
) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr)?;
    let bound = listener.local_addr()?;
    let sources = web::Data::new(Sources { collector, recent });
    // The server is built on its own thread: actix's app factories are not `Send`.
    std::thread::Builder::new().name("trace-view-http".into()).spawn(move || {
        let served = actix_web::rt::System::new().block_on(async move {
            HttpServer::new(move || {
                App::new()
                    .app_data(sources.clone())
                    .route("/api/traces/{trace_id}", web::get().to(trace))
                    .route("/api/service-graph", web::get().to(graph))
            })
            .workers(1)
            .disable_signals()
            .listen(listener)?
            .run()
            .await
        });
        if let Err(e) = served {
            eprintln!("trace-view: the HTTP server stopped: {e}");
        }
    })?;
    Ok(bound)
}

async fn trace(trace_id: web::Path<String>, sources: web::Data<Sources>) -> HttpResponse {
    let trace_id = trace_id.to_ascii_lowercase();
    let mut spans = sources.recent.trace(&trace_id);
    spans.extend(sources.collector.trace(&trace_id));
    if spans.is_empty() {
        return HttpResponse::NotFound().content_type("text/plain").body("trace not found");
    }
    HttpResponse::Ok().json(otlp_json(&spans))
}

async fn graph(query: web::Query<HashMap<String, String>>, sources: web::Data<Sources>) -> HttpResponse {
    let minutes = match query.get("minutes").map(|m| m.parse::<u64>()) {
        None => 5,
        Some(Ok(m)) if (1..=24 * 60).contains(&m) => m,
        Some(_) => {
            return HttpResponse::BadRequest().content_type("text/plain").body("minutes: 1 to 1440");
        }
    };
    let window = Duration::from_secs(minutes * 60);
    let mut spans = sources.recent.since(window);
    let arrivals = sources.collector.trace_arrivals();
    for (id, at) in arrivals {
        if at.elapsed() <= window {
            spans.extend(sources.collector.trace(&id));
        }
    }
    // One edge per (client, server): the map does not tell paired from virtual edges apart.
    let mut edges: BTreeMap<(String, String), (usize, usize)> = BTreeMap::new();
    for edge in service_graph(&spans, &PEER_ATTRIBUTES) {
        let entry = edges.entry((edge.client, edge.server)).or_default();
        entry.0 += edge.calls;
        entry.1 += edge.failed;
    }
    let edges: Vec<Value> = edges
        .into_iter()
        .map(|((client, server), (calls, failed))| {
            json!({"client": client, "server": server, "calls": calls, "failed": failed})
        })
        .collect();
    HttpResponse::Ok().json(json!({ "edges": edges }))
}

/// Spans in OTLP JSON, one `resourceSpans` entry per service.
pub fn otlp_json(spans: &[RecordedSpan]) -> Value {
    let mut by_service: BTreeMap<&str, Vec<&RecordedSpan>> = BTreeMap::new();
    for span in spans {
        by_service.entry(&span.service).or_default().push(span);
    }
    let resource_spans: Vec<Value> = by_service
        .into_values()
        .map(|spans| {
            json!({
                "resource": {"attributes": attributes(&spans[0].resource)},
                "scopeSpans": [{"spans": spans.iter().map(|s| span_json(s)).collect::<Vec<_>>()}],
            })
        })
        .collect();
    json!({ "resourceSpans": resource_spans })
}

fn span_json(span: &RecordedSpan) -> Value {
    let kind = match span.kind {
        SpanKind::Unspecified => "SPAN_KIND_UNSPECIFIED",
        SpanKind::Internal => "SPAN_KIND_INTERNAL",
        SpanKind::Server => "SPAN_KIND_SERVER",
        SpanKind::Client => "SPAN_KIND_CLIENT",
        SpanKind::Producer => "SPAN_KIND_PRODUCER",
        SpanKind::Consumer => "SPAN_KIND_CONSUMER",
    };
    let status = match &span.status {
        SpanStatus::Unset => json!({}),
        SpanStatus::Ok => json!({"code": "STATUS_CODE_OK"}),
        SpanStatus::Error(message) => json!({"code": "STATUS_CODE_ERROR", "message": message}),
    };
    let mut out = json!({
        "traceId": span.trace_id,
        "spanId": span.span_id,
        "name": span.name,
        "kind": kind,
        // 64-bit integers as strings, as OTLP JSON writes them.
        "startTimeUnixNano": span.start_unix_nanos.to_string(),
        "endTimeUnixNano": span.end_unix_nanos.to_string(),
        "attributes": attributes(&span.attributes),
        "status": status,
    });
    if let Some(parent) = &span.parent_span_id {
        out["parentSpanId"] = json!(parent);
    }
    out
}

fn attributes(map: &BTreeMap<String, AttrValue>) -> Vec<Value> {
    map.iter()
        .map(|(key, value)| {
            let value = match value {
                AttrValue::Str(s) | AttrValue::Other(s) => json!({"stringValue": s}),
                AttrValue::Int(i) => json!({"intValue": i.to_string()}),
                AttrValue::Float(x) => json!({"doubleValue": x}),
                AttrValue::Bool(b) => json!({"boolValue": b}),
            };
            json!({"key": key, "value": value})
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(id: &str, parent: Option<&str>, status: SpanStatus) -> RecordedSpan {
        RecordedSpan {
            service: "analyzer".into(),
            trace_id: "4bf92f3577b34da6a3ce929d0e0e4736".into(),
            span_id: id.into(),
            parent_span_id: parent.map(Into::into),
            name: "POST /v1/analyze".into(),
            kind: SpanKind::Server,
            start_unix_nanos: 1_700_000_000_000_000_001,
            end_unix_nanos: 1_700_000_000_000_000_009,
            status,
            attributes: [("http.response.status_code".to_owned(), AttrValue::Int(503))].into(),
            events: Vec::new(),
            links: Vec::new(),
            trace_state: String::new(),
            resource: [("service.name".to_owned(), AttrValue::Str("analyzer".into()))].into(),
        }
    }

    #[test]
    fn spans_become_otlp_json_with_hex_ids_and_times_as_strings() {
        let json = otlp_json(&[span(
            "00000000000000aa",
            Some("00000000000000bb"),
            SpanStatus::Error("boom".into()),
        )]);
        let resource = &json["resourceSpans"][0];
        assert_eq!(
            resource["resource"]["attributes"][0],
            json!({"key": "service.name", "value": {"stringValue": "analyzer"}})
        );
        let out = &resource["scopeSpans"][0]["spans"][0];
        assert_eq!(out["spanId"], "00000000000000aa");
        assert_eq!(out["parentSpanId"], "00000000000000bb");
        assert_eq!(out["kind"], "SPAN_KIND_SERVER");
        assert_eq!(out["startTimeUnixNano"], "1700000000000000001", "no precision lost to a float");
        assert_eq!(out["status"], json!({"code": "STATUS_CODE_ERROR", "message": "boom"}));
        assert_eq!(out["attributes"][0]["value"], json!({"intValue": "503"}));
        let root = otlp_json(&[span("00000000000000aa", None, SpanStatus::Unset)]);
        assert!(root["resourceSpans"][0]["scopeSpans"][0]["spans"][0].get("parentSpanId").is_none());
    }

    #[actix_web::test]
    async fn unknown_traces_are_404_and_a_bad_window_is_400() {
        let collector: &'static Collector = Box::leak(Box::new(Collector::start().unwrap()));
        let recent = Arc::new(RecentTraces::new(2));
        recent.keep("t1".into(), vec![span("01", None, SpanStatus::Unset)]);
        let addr = serve_http("127.0.0.1:0".parse().unwrap(), collector, Arc::clone(&recent)).unwrap();
        let client = awc::Client::new();
        let get = |path: &str| client.get(format!("http://{addr}{path}")).send();
        let mut found = get("/api/traces/T1").await.unwrap();
        assert_eq!(found.status(), 200, "ids are matched in lower case");
        let body: Value = found.json().await.unwrap();
        assert_eq!(body["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["spanId"], "01");
        assert_eq!(get("/api/traces/nope").await.unwrap().status(), 404);
        for bad in ["0", "soon", "1441"] {
            assert_eq!(
                get(&format!("/api/service-graph?minutes={bad}")).await.unwrap().status(),
                400,
                "{bad}"
            );
        }
        let mut graph = get("/api/service-graph?minutes=1").await.unwrap();
        let body: Value = graph.json().await.unwrap();
        assert_eq!(
            body,
            json!({"edges": [{"client": "user", "server": "analyzer", "calls": 1, "failed": 0}]})
        );
        // The oldest trace goes once more than `capacity` are kept.
        recent.keep("t2".into(), Vec::new());
        recent.keep("t3".into(), Vec::new());
        assert_eq!(get("/api/traces/t1").await.unwrap().status(), 404);
    }
}
