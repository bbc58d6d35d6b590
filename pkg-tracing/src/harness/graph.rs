//! Service-graph edges computed the way Grafana Tempo's metrics-generator computes them, so a
//! test can prove the map Grafana will draw without running Tempo.
//!
//! Tempo's rules (service-graphs processor):
//! * a CLIENT (or PRODUCER) span and a SERVER (or CONSUMER) span are a pair when they share the
//!   trace id and the server span's parent is the client span: an edge from the client's
//!   service to the server's. A server span that is a grandchild does not pair.
//! * a CLIENT span left unpaired that carries one of the peer attributes is an edge to a
//!   virtual node named by the attribute's value (the first one present, in order).
//! * a SERVER span with no parent at all is an edge from the virtual node `user`.

use std::collections::{BTreeMap, HashMap};

use super::span::{RecordedSpan, SpanKind};

/// Tempo's default `peer_attributes`, plus `db.system.name` (current semantic conventions),
/// in the order Tempo tries them.
pub const PEER_ATTRIBUTES: [&str; 4] = ["peer.service", "db.name", "db.system", "db.system.name"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EdgeKind {
    /// A client span paired with its server child.
    Paired,
    /// An unpaired client span with a peer attribute: the server is a virtual node.
    Virtual,
    /// A root server span: the client is the virtual node `user`.
    User,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    pub client: String,
    pub server: String,
    pub kind: EdgeKind,
    pub calls: usize,
    /// Calls where the client or the server span has status Error.
    pub failed: usize,
}

/// All edges in `spans`, one per (client, server, kind), sorted.
pub fn service_graph(spans: &[RecordedSpan], peer_attributes: &[&str]) -> Vec<Edge> {
    let is_client = |s: &RecordedSpan| matches!(s.kind, SpanKind::Client | SpanKind::Producer);
    let is_server = |s: &RecordedSpan| matches!(s.kind, SpanKind::Server | SpanKind::Consumer);
    let mut servers_by_parent: HashMap<(&str, &str), Vec<&RecordedSpan>> = HashMap::new();
    for span in spans.iter().filter(|s| is_server(s)) {
        if let Some(parent) = &span.parent_span_id {
            servers_by_parent.entry((&span.trace_id, parent)).or_default().push(span);
        }
    }

    let mut edges: BTreeMap<(String, String, EdgeKind), (usize, usize)> = BTreeMap::new();
    let mut add = |client: &str, server: &str, kind: EdgeKind, failed: bool| {
        let entry = edges.entry((client.to_owned(), server.to_owned(), kind)).or_default();
        entry.0 += 1;
        entry.1 += usize::from(failed);
    };
    for client in spans.iter().filter(|s| is_client(s)) {
        match servers_by_parent.get(&(client.trace_id.as_str(), client.span_id.as_str())) {
            Some(servers) => {
                for server in servers {
                    add(
                        &client.service,
                        &server.service,
                        EdgeKind::Paired,
                        client.is_error() || server.is_error(),
                    );
                }
            }
            None => {
                if let Some(peer) = peer_attributes.iter().find_map(|key| client.attr_str(key)) {
                    add(&client.service, peer, EdgeKind::Virtual, client.is_error());
                }
            }
        }
    }
    for server in spans.iter().filter(|s| is_server(s) && s.parent_span_id.is_none()) {
        add("user", &server.service, EdgeKind::User, server.is_error());
    }
    edges
        .into_iter()
        .map(|((client, server, kind), (calls, failed))| Edge { client, server, kind, calls, failed })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::span::{AttrValue, SpanStatus};

    fn span(
        service: &str,
        id: &str,
        parent: Option<&str>,
        kind: SpanKind,
        attrs: &[(&str, &str)],
    ) -> RecordedSpan {
        RecordedSpan {
            service: service.into(),
            trace_id: "t1".into(),
            span_id: id.into(),
            parent_span_id: parent.map(Into::into),
            name: format!("{service}-{id}"),
            kind,
            start_unix_nanos: 0,
            end_unix_nanos: 1,
            status: SpanStatus::Unset,
            attributes: attrs.iter().map(|(k, v)| (k.to_string(), AttrValue::Str(v.to_string()))).collect(),
            events: Vec::new(),
            links: Vec::new(),
            trace_state: String::new(),
            resource: Default::default(),
        }
    }

    fn edge(client: &str, server: &str, kind: EdgeKind, calls: usize, failed: usize) -> Edge {
        Edge { client: client.into(), server: server.into(), kind, calls, failed }
    }

    #[test]
    fn a_client_span_pairs_only_with_its_direct_server_child() {
        let spans = vec![
            span("a", "1", None, SpanKind::Server, &[]),
            span("a", "2", Some("1"), SpanKind::Client, &[("peer.service", "b")]),
            span("b", "3", Some("2"), SpanKind::Server, &[]),
            // A client whose server child hangs under an extra internal span: no pairing.
            span("a", "4", Some("1"), SpanKind::Client, &[]),
            span("c", "5", Some("4"), SpanKind::Internal, &[]),
            span("c", "6", Some("5"), SpanKind::Server, &[]),
        ];
        let edges = service_graph(&spans, &PEER_ATTRIBUTES);
        assert_eq!(
            edges,
            vec![edge("a", "b", EdgeKind::Paired, 1, 0), edge("user", "a", EdgeKind::User, 1, 0)]
        );
    }

    #[test]
    fn unpaired_client_spans_with_a_peer_attribute_become_virtual_nodes_in_attribute_order() {
        let spans = vec![
            span("a", "1", Some("x"), SpanKind::Client, &[("peer.service", "site.example")]),
            span("a", "2", Some("x"), SpanKind::Client, &[("db.system.name", "sqlite")]),
            span("a", "3", Some("x"), SpanKind::Client, &[("db.name", "docs"), ("db.system", "sqlite")]),
            span("a", "4", Some("x"), SpanKind::Client, &[("server.address", "nowhere")]),
        ];
        let edges = service_graph(&spans, &PEER_ATTRIBUTES);
        assert_eq!(
            edges,
            vec![
                edge("a", "docs", EdgeKind::Virtual, 1, 0),
                edge("a", "site.example", EdgeKind::Virtual, 1, 0),
                edge("a", "sqlite", EdgeKind::Virtual, 1, 0),
            ],
            "server.address alone is not a peer attribute"
        );
    }

    #[test]
    fn calls_aggregate_and_failures_count_from_either_side() {
        let mut failing_server = span("b", "4", Some("3"), SpanKind::Server, &[]);
        failing_server.status = SpanStatus::Error("boom".into());
        let spans = vec![
            span("a", "1", Some("x"), SpanKind::Client, &[]),
            span("b", "2", Some("1"), SpanKind::Server, &[]),
            span("a", "3", Some("x"), SpanKind::Client, &[]),
            failing_server,
        ];
        assert_eq!(service_graph(&spans, &PEER_ATTRIBUTES), vec![edge("a", "b", EdgeKind::Paired, 2, 1)]);
    }
}
