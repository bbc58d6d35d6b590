//! A trace as Tempo's HTTP API returns it (OTLP JSON) turned into the rows of the page's
//! waterfall: one per span, parents before children, times relative to the trace's start.
//!
//! Tempo's `GET /api/traces/{id}` answers `{"resourceSpans": [...]}` since 2.10 (the compose
//! stack runs 3.x) and `{"batches": [...]}` before (older still: `instrumentationLibrarySpans`
//! for `scopeSpans`), with ids in base64 and 64-bit times as strings (Go's jsonpb marshals
//! bytes as base64). trace-view answers OTLP JSON proper: hex ids. All of these are read here;
//! ids come out as hex either way.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Row {
    pub span_id: String,
    pub parent_span_id: Option<String>,
    pub service: String,
    pub name: String,
    /// `server`, `client`, `internal`, `producer`, `consumer` or `unspecified`.
    pub kind: &'static str,
    /// Milliseconds from the trace's first span.
    pub start_ms: f64,
    pub duration_ms: f64,
    /// Nesting level in the waterfall (0 for a root).
    pub depth: usize,
    /// `ok`, `error` or `unset`.
    pub status: &'static str,
    /// The status message of a failed span, or its `error.type`.
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Waterfall {
    pub duration_ms: f64,
    /// Services in order of their first span.
    pub services: Vec<String>,
    pub spans: Vec<Row>,
}

struct Raw {
    row: Row,
    start: u64,
    end: u64,
}

/// Reads every span of the trace; `Err` names what is malformed.
pub fn from_otlp_json(trace: &Value) -> Result<Waterfall, String> {
    let resources = trace
        .get("batches")
        .or_else(|| trace.get("resourceSpans"))
        .or_else(|| trace.pointer("/trace/resourceSpans"))
        .or_else(|| trace.pointer("/trace/batches"))
        .and_then(Value::as_array)
        .ok_or("no `batches` or `resourceSpans` array")?;
    let mut raws = Vec::new();
    for resource in resources {
        let service = attribute(resource.pointer("/resource/attributes"), "service.name")
            .unwrap_or_else(|| "unknown_service".into());
        let scopes = resource
            .get("scopeSpans")
            .or_else(|| resource.get("instrumentationLibrarySpans"))
            .and_then(Value::as_array);
        for scope in scopes.into_iter().flatten() {
            for span in scope.get("spans").and_then(Value::as_array).into_iter().flatten() {
                raws.push(read_span(span, &service)?);
            }
        }
    }
    Ok(order(raws))
}

fn read_span(span: &Value, service: &str) -> Result<Raw, String> {
    let span_id =
        span.get("spanId").and_then(Value::as_str).and_then(hex_id).ok_or("a span without a spanId")?;
    let parent_span_id = span.get("parentSpanId").and_then(Value::as_str).and_then(hex_id);
    let start = nanos(span.get("startTimeUnixNano")).ok_or("a span without startTimeUnixNano")?;
    let end = nanos(span.get("endTimeUnixNano")).unwrap_or(start).max(start);
    let status_code = span.pointer("/status/code");
    let status = match status_code {
        Some(Value::String(s)) if s == "STATUS_CODE_ERROR" => "error",
        Some(Value::Number(n)) if n.as_u64() == Some(2) => "error",
        Some(Value::String(s)) if s == "STATUS_CODE_OK" => "ok",
        Some(Value::Number(n)) if n.as_u64() == Some(1) => "ok",
        _ => "unset",
    };
    let error = (status == "error").then(|| {
        span.pointer("/status/message")
            .and_then(Value::as_str)
            .filter(|m| !m.is_empty())
            .map(str::to_owned)
            .or_else(|| attribute(span.get("attributes"), "error.type"))
            .unwrap_or_else(|| "error".into())
    });
    let kind = match span.get("kind") {
        Some(Value::String(s)) => match s.as_str() {
            "SPAN_KIND_INTERNAL" => "internal",
            "SPAN_KIND_SERVER" => "server",
            "SPAN_KIND_CLIENT" => "client",
            "SPAN_KIND_PRODUCER" => "producer",
            "SPAN_KIND_CONSUMER" => "consumer",
            _ => "unspecified",
        },
        Some(Value::Number(n)) => match n.as_u64() {
            Some(1) => "internal",
            Some(2) => "server",
            Some(3) => "client",
            Some(4) => "producer",
            Some(5) => "consumer",
            _ => "unspecified",
        },
        _ => "unspecified",
    };
    Ok(Raw {
        row: Row {
            span_id,
            parent_span_id,
            service: service.to_owned(),
            name: span.get("name").and_then(Value::as_str).unwrap_or_default().to_owned(),
            kind,
            start_ms: 0.0,
            duration_ms: (end - start) as f64 / 1e6,
            depth: 0,
            status,
            error,
        },
        start,
        end,
    })
}

/// Depth-first from the roots, children by start time: the order a waterfall reads in. A span
/// whose parent is missing (not arrived, or from another process's unsampled part) is a root.
fn order(raws: Vec<Raw>) -> Waterfall {
    let first = raws.iter().map(|r| r.start).min().unwrap_or(0);
    let last = raws.iter().map(|r| r.end).max().unwrap_or(first);
    let ids: HashSet<String> = raws.iter().map(|r| r.row.span_id.clone()).collect();
    let mut children: HashMap<Option<String>, Vec<Raw>> = HashMap::new();
    for raw in raws {
        let parent = raw.row.parent_span_id.clone().filter(|p| ids.contains(p));
        children.entry(parent).or_default().push(raw);
    }
    for list in children.values_mut() {
        list.sort_by(|a, b| a.start.cmp(&b.start).then(a.row.span_id.cmp(&b.row.span_id)));
    }
    let mut spans = Vec::new();
    let mut stack: Vec<(Raw, usize)> =
        children.remove(&None).unwrap_or_default().into_iter().rev().map(|r| (r, 0)).collect();
    while let Some((mut raw, depth)) = stack.pop() {
        let id = raw.row.span_id.clone();
        raw.row.depth = depth;
        raw.row.start_ms = (raw.start - first) as f64 / 1e6;
        spans.push(raw.row);
        if let Some(kids) = children.remove(&Some(id)) {
            stack.extend(kids.into_iter().rev().map(|r| (r, depth + 1)));
        }
    }
    let mut services: Vec<String> = Vec::new();
    let mut by_start: Vec<&Row> = spans.iter().collect();
    by_start.sort_by(|a, b| a.start_ms.total_cmp(&b.start_ms));
    for row in by_start {
        if !services.contains(&row.service) {
            services.push(row.service.clone());
        }
    }
    Waterfall { duration_ms: (last - first) as f64 / 1e6, services, spans }
}

/// A string attribute from an OTLP JSON attribute list.
fn attribute(list: Option<&Value>, key: &str) -> Option<String> {
    list?.as_array()?.iter().find(|kv| kv.get("key").and_then(Value::as_str) == Some(key)).and_then(|kv| {
        let value = kv.get("value")?;
        value.get("stringValue").and_then(Value::as_str).map(str::to_owned).or_else(|| {
            // Numbers and booleans as text; anything else is not a name.
            value.get("intValue").map(|v| v.to_string().trim_matches('"').to_owned())
        })
    })
}

/// jsonpb writes 64-bit integers as strings; OTLP JSON writers may use numbers.
fn nanos(value: Option<&Value>) -> Option<u64> {
    match value? {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

/// An id as lower-case hex, from hex (OTLP JSON) or base64 (Tempo). Empty or all-zero is none.
fn hex_id(raw: &str) -> Option<String> {
    let hex = if (raw.len() == 16 || raw.len() == 32) && raw.bytes().all(|b| b.is_ascii_hexdigit()) {
        raw.to_ascii_lowercase()
    } else {
        base64_decode(raw)?.iter().map(|b| format!("{b:02x}")).collect()
    };
    (!hex.is_empty() && hex.bytes().any(|b| b != b'0')).then_some(hex)
}

/// Standard base64 with optional padding: enough for span ids, no crate needed.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.trim_end_matches('=').bytes() {
        buffer = (buffer << 6) | u32::from(value(c)?);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// What Tempo before 2.10 answers: `batches`, base64 ids, times as strings, enum names.
    fn tempo_trace() -> Value {
        json!({"batches": [
            {"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "controller"}}]},
             "scopeSpans": [{"scope": {"name": "x"}, "spans": [
                {"traceId": "S/kvNXezTaajzpKdDg5HNg==", "spanId": "AAAAAAAAAAE=", "name": "POST /api/v1/scrape",
                 "kind": "SPAN_KIND_SERVER", "startTimeUnixNano": "1000000000", "endTimeUnixNano": "1050000000",
                 "status": {}},
                {"traceId": "S/kvNXezTaajzpKdDg5HNg==", "spanId": "AAAAAAAAAAI=", "parentSpanId": "AAAAAAAAAAE=",
                 "name": "POST /v1/analyze", "kind": "SPAN_KIND_CLIENT", "startTimeUnixNano": "1020000000",
                 "endTimeUnixNano": "1040000000",
                 "status": {"code": "STATUS_CODE_ERROR", "message": "503 fault_injected"}}
             ]}]},
            {"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "analyzer"}}]},
             "instrumentationLibrarySpans": [{"spans": [
                {"spanId": "AAAAAAAAAAM=", "parentSpanId": "AAAAAAAAAAI=", "name": "POST /v1/analyze",
                 "kind": 2, "startTimeUnixNano": 1025000000u64, "endTimeUnixNano": 1035000000u64,
                 "status": {"code": 2}, "attributes": [{"key": "error.type", "value": {"stringValue": "fault_injected"}}]}
             ]}]}
        ]})
    }

    #[test]
    fn tempo_json_becomes_ordered_rows_with_hex_ids_and_relative_times() {
        let waterfall = from_otlp_json(&tempo_trace()).unwrap();
        assert_eq!(waterfall.duration_ms, 50.0);
        assert_eq!(waterfall.services, ["controller", "analyzer"]);
        let rows: Vec<(&str, &str, usize, f64, f64, &str)> = waterfall
            .spans
            .iter()
            .map(|r| (r.service.as_str(), r.span_id.as_str(), r.depth, r.start_ms, r.duration_ms, r.status))
            .collect();
        assert_eq!(
            rows,
            [
                ("controller", "0000000000000001", 0, 0.0, 50.0, "unset"),
                ("controller", "0000000000000002", 1, 20.0, 20.0, "error"),
                ("analyzer", "0000000000000003", 2, 25.0, 10.0, "error"),
            ]
        );
        assert_eq!(waterfall.spans[0].kind, "server");
        assert_eq!(waterfall.spans[1].kind, "client");
        assert_eq!(waterfall.spans[1].error.as_deref(), Some("503 fault_injected"));
        assert_eq!(waterfall.spans[2].error.as_deref(), Some("fault_injected"), "error.type when no message");
        assert_eq!(waterfall.spans[0].error, None);
    }

    #[test]
    fn otlp_json_with_hex_ids_reads_the_same_and_orphans_become_roots() {
        let trace = json!({"resourceSpans": [{"resource": {"attributes": []}, "scopeSpans": [{"spans": [
            {"spanId": "00000000000000aa", "parentSpanId": "00000000000000ff", "name": "late child",
             "startTimeUnixNano": "5", "endTimeUnixNano": "7", "status": {"code": "STATUS_CODE_OK"}}
        ]}]}]});
        let waterfall = from_otlp_json(&trace).unwrap();
        assert_eq!(waterfall.spans.len(), 1);
        let row = &waterfall.spans[0];
        assert_eq!((row.span_id.as_str(), row.depth, row.status), ("00000000000000aa", 0, "ok"));
        assert_eq!(row.parent_span_id.as_deref(), Some("00000000000000ff"), "kept, though not in the trace");
        assert_eq!(row.service, "unknown_service");
    }

    #[test]
    fn malformed_traces_are_errors_not_panics() {
        assert!(from_otlp_json(&json!({"data": []})).is_err());
        assert!(from_otlp_json(&json!({"batches": [{"scopeSpans": [{"spans": [{"name": "x"}]}]}]})).is_err());
        assert_eq!(from_otlp_json(&json!({"batches": []})).unwrap().spans.len(), 0);
    }

    #[test]
    fn base64_ids_decode_to_hex() {
        assert_eq!(hex_id("S/kvNXezTaajzpKdDg5HNg==").unwrap(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(hex_id("AAAAAAAAAAA="), None, "all zero is no id");
        assert_eq!(hex_id(""), None);
        assert_eq!(hex_id("not*base64"), None);
    }
}
