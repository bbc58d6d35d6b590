//! Text renderings of traces and edges, for people: the viewer prints them, tests show them
//! when an assertion fails.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::graph::{Edge, EdgeKind};
use super::span::{RecordedSpan, SpanStatus};

/// One trace as an indented tree: `[service] name  KIND  duration  status`.
pub fn render_trace(spans: &[RecordedSpan]) -> String {
    let Some(first) = spans.first() else { return String::new() };
    let ids: std::collections::HashSet<&str> = spans.iter().map(|s| s.span_id.as_str()).collect();
    let mut children: HashMap<Option<&str>, Vec<&RecordedSpan>> = HashMap::new();
    for span in spans {
        // A span whose parent never arrived (or lives in another service that does not export)
        // is shown as a root rather than hidden.
        let parent = span.parent_span_id.as_deref().filter(|p| ids.contains(p));
        children.entry(parent).or_default().push(span);
    }
    for list in children.values_mut() {
        list.sort_by_key(|s| s.start_unix_nanos);
    }
    let start = spans.iter().map(|s| s.start_unix_nanos).min().unwrap_or(0);
    let end = spans.iter().map(|s| s.end_unix_nanos).max().unwrap_or(0);
    let mut out = format!(
        "trace {} — {} spans, {:.1} ms\n",
        first.trace_id,
        spans.len(),
        end.saturating_sub(start) as f64 / 1e6
    );
    let roots = children.get(&None).cloned().unwrap_or_default();
    let count = roots.len();
    for (i, root) in roots.into_iter().enumerate() {
        write_span(&mut out, root, &children, "", i + 1 == count);
    }
    out
}

fn write_span(
    out: &mut String,
    span: &RecordedSpan,
    children: &HashMap<Option<&str>, Vec<&RecordedSpan>>,
    prefix: &str,
    last: bool,
) {
    let status = match &span.status {
        SpanStatus::Error(message) => format!("  ERROR {message}"),
        _ => String::new(),
    };
    let extra = match (span.attr("http.response.status_code"), span.attr_str("peer.service")) {
        (Some(code), Some(peer)) => format!("  → {peer} {code}"),
        (Some(code), None) => format!("  {code}"),
        (None, Some(peer)) => format!("  → {peer}"),
        (None, None) => String::new(),
    };
    let _ = writeln!(
        out,
        "{prefix}{}[{}] {}  {:?}  {:.2} ms{extra}{status}",
        if last { "└─ " } else { "├─ " },
        span.service,
        span.name,
        span.kind,
        span.duration_ms()
    );
    let deeper = format!("{prefix}{}", if last { "   " } else { "│  " });
    if let Some(kids) = children.get(&Some(span.span_id.as_str())) {
        for (i, kid) in kids.iter().enumerate() {
            write_span(out, kid, children, &deeper, i + 1 == kids.len());
        }
    }
}

/// Edges one per line: `client → server  (calls, failed, kind)`.
pub fn render_edges(edges: &[Edge]) -> String {
    let mut out = String::from("service graph edges:\n");
    for edge in edges {
        let kind = match edge.kind {
            EdgeKind::Paired => "",
            EdgeKind::Virtual => ", virtual node",
            EdgeKind::User => ", from user",
        };
        let _ = writeln!(
            out,
            "  {} → {}  ({} calls, {} failed{kind})",
            edge.client, edge.server, edge.calls, edge.failed
        );
    }
    out
}
