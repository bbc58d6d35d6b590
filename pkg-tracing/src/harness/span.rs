//! Exported spans as plain data a test can assert on.

use std::collections::BTreeMap;
use std::fmt;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::{Span, status};

use crate::hex_ids::hex;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanKind {
    Unspecified,
    Internal,
    Server,
    Client,
    Producer,
    Consumer,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpanStatus {
    Unset,
    Ok,
    Error(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum AttrValue {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// Arrays, maps and bytes, rendered as text.
    Other(String),
}

impl AttrValue {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Self::Int(i) => Some(*i),
            _ => None,
        }
    }
}

impl fmt::Display for AttrValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Str(s) | Self::Other(s) => f.write_str(s),
            Self::Int(i) => write!(f, "{i}"),
            Self::Float(x) => write!(f, "{x}"),
            Self::Bool(b) => write!(f, "{b}"),
        }
    }
}

/// One span as a collector received it, with its resource's `service.name`.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedSpan {
    pub service: String,
    /// 32 lower-case hex digits.
    pub trace_id: String,
    /// 16 lower-case hex digits.
    pub span_id: String,
    /// `None` for a root span.
    pub parent_span_id: Option<String>,
    pub name: String,
    pub kind: SpanKind,
    pub start_unix_nanos: u64,
    pub end_unix_nanos: u64,
    pub status: SpanStatus,
    pub attributes: BTreeMap<String, AttrValue>,
    /// Event names with their attributes, in order.
    pub events: Vec<(String, BTreeMap<String, AttrValue>)>,
    /// Links to other spans: `(trace_id, span_id)`, hex.
    pub links: Vec<(String, String)>,
    /// The W3C `tracestate` the span carries (empty if none).
    pub trace_state: String,
    pub resource: BTreeMap<String, AttrValue>,
}

impl RecordedSpan {
    pub fn attr(&self, key: &str) -> Option<&AttrValue> {
        self.attributes.get(key)
    }

    /// A string attribute, or `None` if absent or of another type.
    pub fn attr_str(&self, key: &str) -> Option<&str> {
        self.attr(key).and_then(AttrValue::as_str)
    }

    pub fn duration_ms(&self) -> f64 {
        self.end_unix_nanos.saturating_sub(self.start_unix_nanos) as f64 / 1e6
    }

    pub fn is_error(&self) -> bool {
        matches!(self.status, SpanStatus::Error(_))
    }

    /// Flattens an OTLP export request into spans.
    pub fn from_request(request: &ExportTraceServiceRequest) -> Vec<RecordedSpan> {
        let mut out = Vec::new();
        for resource_spans in &request.resource_spans {
            let resource =
                resource_spans.resource.as_ref().map(|r| attributes(&r.attributes)).unwrap_or_default();
            let service = resource.get("service.name").map(ToString::to_string).unwrap_or_default();
            for scope_spans in &resource_spans.scope_spans {
                for span in &scope_spans.spans {
                    out.push(Self::from_proto(span, &service, &resource));
                }
            }
        }
        out
    }

    fn from_proto(span: &Span, service: &str, resource: &BTreeMap<String, AttrValue>) -> Self {
        let status = match &span.status {
            Some(s) if s.code == status::StatusCode::Error as i32 => SpanStatus::Error(s.message.clone()),
            Some(s) if s.code == status::StatusCode::Ok as i32 => SpanStatus::Ok,
            _ => SpanStatus::Unset,
        };
        let kind = match span.kind {
            1 => SpanKind::Internal,
            2 => SpanKind::Server,
            3 => SpanKind::Client,
            4 => SpanKind::Producer,
            5 => SpanKind::Consumer,
            _ => SpanKind::Unspecified,
        };
        let parent = hex(&span.parent_span_id);
        RecordedSpan {
            service: service.to_owned(),
            trace_id: hex(&span.trace_id),
            span_id: hex(&span.span_id),
            parent_span_id: (!parent.is_empty() && parent != "0000000000000000").then_some(parent),
            name: span.name.clone(),
            kind,
            start_unix_nanos: span.start_time_unix_nano,
            end_unix_nanos: span.end_time_unix_nano,
            status,
            attributes: attributes(&span.attributes),
            events: span.events.iter().map(|e| (e.name.clone(), attributes(&e.attributes))).collect(),
            links: span.links.iter().map(|l| (hex(&l.trace_id), hex(&l.span_id))).collect(),
            trace_state: span.trace_state.clone(),
            resource: resource.clone(),
        }
    }
}

fn attributes(kvs: &[KeyValue]) -> BTreeMap<String, AttrValue> {
    kvs.iter().map(|kv| (kv.key.clone(), value(kv.value.as_ref()))).collect()
}

fn value(v: Option<&AnyValue>) -> AttrValue {
    match v.and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => AttrValue::Str(s.clone()),
        Some(any_value::Value::IntValue(i)) => AttrValue::Int(*i),
        Some(any_value::Value::DoubleValue(x)) => AttrValue::Float(*x),
        Some(any_value::Value::BoolValue(b)) => AttrValue::Bool(*b),
        Some(other) => AttrValue::Other(format!("{other:?}")),
        None => AttrValue::Other(String::new()),
    }
}
