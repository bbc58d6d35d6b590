//! `GET /api/v1/service-map?minutes=`: the service graph of the last minutes for the web page,
//! from the counters Tempo's metrics-generator writes to Prometheus, or from trace-view.

use std::collections::{BTreeMap, BTreeSet};

use actix_web::{HttpResponse, web};
use pkg_api::{ApiError, ErrorCode};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::backends::{Backend, Backends, not_configured};

const DEFAULT_MINUTES: u32 = 5;
const MAX_MINUTES: u32 = 60;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MapQuery {
    minutes: Option<u32>,
}

#[derive(Debug, Default, Clone, Copy, Serialize, Deserialize, PartialEq)]
struct Counts {
    calls: u64,
    failed: u64,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
struct Edge {
    client: String,
    server: String,
    calls: u64,
    failed: u64,
}

/// `GET /api/v1/service-map`'s answer.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct ServiceMap {
    /// `prometheus` or `trace-view`.
    source: String,
    window_minutes: u32,
    nodes: Vec<String>,
    edges: Vec<Edge>,
}

/// `GET /api/v1/service-map`'s parameters, as documented.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct MapParams {
    /// The window, in minutes (default 5).
    #[param(minimum = 1, maximum = 60)]
    minutes: Option<u32>,
}

#[utoipa::path(
    get,
    path = "/api/v1/service-map",
    operation_id = "get_service_map",
    tag = "page",
    summary = "Calls between services over the last minutes, from Prometheus (PROMETHEUS_URL) or trace-view",
    params(MapParams),
    responses((status = 200, description = "Nodes and edges, with calls and failed calls", body = ServiceMap))
)]
pub async fn get(
    query: web::Query<MapQuery>,
    backends: web::Data<Backends>,
) -> Result<HttpResponse, ApiError> {
    let minutes = query.minutes.unwrap_or(DEFAULT_MINUTES);
    if !(1..=MAX_MINUTES).contains(&minutes) {
        return Err(ApiError::new(
            ErrorCode::InvalidWindow,
            format!("minutes must be from 1 to {MAX_MINUTES}, not {minutes}."),
        ));
    }
    let (source, edges) = match (&backends.prometheus, &backends.trace_view) {
        (Some(prometheus), _) => ("prometheus", from_prometheus(prometheus, minutes).await?),
        (None, Some(trace_view)) => ("trace-view", from_trace_view(trace_view, minutes).await?),
        (None, None) => return Err(not_configured("The service map", "PROMETHEUS_URL or TRACE_VIEW_URL")),
    };
    let nodes: BTreeSet<&String> = edges.keys().flat_map(|(client, server)| [client, server]).collect();
    let edges: Vec<Edge> = edges
        .iter()
        .filter(|(_, counts)| counts.calls > 0 || counts.failed > 0)
        .map(|((client, server), c)| Edge {
            client: client.clone(),
            server: server.clone(),
            calls: c.calls,
            failed: c.failed,
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "source": source,
        "window_minutes": minutes,
        "nodes": nodes,
        "edges": edges,
    })))
}

type EdgeMap = BTreeMap<(String, String), Counts>;

/// Two instant queries: requests and failed requests per (client, server) over the window.
async fn from_prometheus(prometheus: &Backend, minutes: u32) -> Result<EdgeMap, ApiError> {
    let mut edges = EdgeMap::new();
    for (metric, failed) in
        [("traces_service_graph_request_total", false), ("traces_service_graph_request_failed_total", true)]
    {
        let promql = format!("sum by (client, server) (increase({metric}[{minutes}m]))");
        let encoded: String = url::form_urlencoded::byte_serialize(promql.as_bytes()).collect();
        let reply = prometheus.get("/api/v1/query", &format!("/api/v1/query?query={encoded}")).await?;
        if !reply.status.is_success() {
            return Err(prometheus.unexpected(&reply));
        }
        let body: Value = reply.json().map_err(|e| prometheus.unreadable(e))?;
        for (client, server, value) in read_vector(&body).map_err(|e| prometheus.unreadable(e))? {
            let counts = edges.entry((client, server)).or_default();
            // `increase` extrapolates to the window's edges: round to whole calls.
            let value = value.max(0.0).round() as u64;
            if failed { counts.failed = value } else { counts.calls = value }
        }
    }
    Ok(edges)
}

/// `(client, server, value)` of an instant vector.
fn read_vector(body: &Value) -> Result<Vec<(String, String, f64)>, String> {
    if body.get("status").and_then(Value::as_str) != Some("success") {
        return Err(format!("status {}", body.get("status").unwrap_or(&Value::Null)));
    }
    let result = body.pointer("/data/result").and_then(Value::as_array).ok_or("no data.result array")?;
    result
        .iter()
        .map(|sample| {
            let label = |name: &str| sample.pointer(&format!("/metric/{name}")).and_then(Value::as_str);
            let (Some(client), Some(server)) = (label("client"), label("server")) else {
                return Err("a sample without client/server labels".to_owned());
            };
            let value = sample
                .pointer("/value/1")
                .and_then(Value::as_str)
                .and_then(|v| v.parse::<f64>().ok())
                .ok_or("a sample without a numeric value")?;
            // A NaN (no samples in part of the window) counts as nothing, not as a failure.
            Ok((client.to_owned(), server.to_owned(), if value.is_finite() { value } else { 0.0 }))
        })
        .collect()
}

async fn from_trace_view(trace_view: &Backend, minutes: u32) -> Result<EdgeMap, ApiError> {
    let reply =
        trace_view.get("/api/service-graph", &format!("/api/service-graph?minutes={minutes}")).await?;
    if !reply.status.is_success() {
        return Err(trace_view.unexpected(&reply));
    }
    #[derive(Deserialize)]
    struct Graph {
        edges: Vec<Edge>,
    }
    let graph: Graph = reply.json().map_err(|e| trace_view.unreadable(e))?;
    let mut edges = EdgeMap::new();
    for edge in graph.edges {
        let counts = edges.entry((edge.client, edge.server)).or_default();
        counts.calls += edge.calls;
        counts.failed += edge.failed;
    }
    Ok(edges)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::read_vector;

    #[test]
    fn an_instant_vector_reads_as_edges_and_anything_else_is_an_error() {
        let body = json!({"status": "success", "data": {"resultType": "vector", "result": [
            {"metric": {"client": "controller", "server": "analyzer"}, "value": [1700000000.1, "4.2"]}
        ]}});
        assert_eq!(read_vector(&body).unwrap(), [("controller".into(), "analyzer".into(), 4.2)]);
        assert!(read_vector(&json!({"status": "error", "error": "bad query"})).is_err());
        let unlabelled =
            json!({"status": "success", "data": {"result": [{"metric": {}, "value": [1, "1"]}]}});
        assert!(read_vector(&unlabelled).is_err());
        let nan = json!({"status": "success", "data": {"result": [
            {"metric": {"client": "a", "server": "b"}, "value": [1, "NaN"]}]}});
        assert_eq!(read_vector(&nan).unwrap(), [("a".into(), "b".into(), 0.0)]);
        let text = json!({"status": "success", "data": {"result": [
            {"metric": {"client": "a", "server": "b"}, "value": [1, "many"]}]}});
        assert!(read_vector(&text).is_err());
    }
}
