//! OTLP's `ExportTraceServiceRequest`, written straight from the SDK's `SpanData`.
//!
//! The SDK's own exporter clones the batch, converts every span into opentelemetry-proto's
//! structs (a `String` per attribute key and value, a `Vec` per id) and has prost encode them,
//! recomputing each nested message's length at every level above it: ~25 k instructions per
//! span on the export thread, more than the span cost where it was recorded. Here each span is
//! written in one pass from borrowed data and its length taken from what was written; the
//! resource, the same in every batch, is encoded once. Field numbers are those of
//! `opentelemetry/proto/trace/v1/trace.proto` and `common/v1/common.proto`; the unit test
//! below decodes the result with opentelemetry-proto and compares it with the SDK's conversion.

use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry::trace::{SpanContext, SpanId, SpanKind, Status};
use opentelemetry::{Array, InstrumentationScope, KeyValue, Value};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SpanData;

use super::wire::{
    FIXED64, VARINT, len_field_len, opt_bytes_len, opt_fixed32_len, opt_fixed64_len, opt_varint_len,
    put_bytes, put_len_prefix, put_opt_bytes, put_opt_fixed32, put_opt_fixed64, put_opt_varint, put_tag,
    put_varint, tag_len, varint_len,
};

/// `SpanFlags`: bit 8 says whether bit 9 (the parent is remote) is known; we always know.
const CONTEXT_HAS_IS_REMOTE: u32 = 0x100;
const CONTEXT_IS_REMOTE: u32 = 0x200;

/// The service's `Resource` message, encoded once.
#[derive(Debug, Default, Clone)]
pub(crate) struct EncodedResource {
    message: Vec<u8>,
    schema_url: String,
}

impl EncodedResource {
    pub(crate) fn new(resource: &Resource) -> Self {
        let mut message = Vec::new();
        for (key, value) in resource.iter() {
            put_key_value(&mut message, 1, key.as_str(), value);
        }
        Self { message, schema_url: resource.schema_url().unwrap_or_default().to_owned() }
    }
}

/// Appends the request carrying `batch` to `buf`, as the span processor builds it: each span
/// through [`encode_span`] into [`SpanEntries`], then [`put_request`].
#[cfg(test)]
pub(crate) fn export_request(resource: &EncodedResource, batch: &[SpanData], buf: &mut Vec<u8>) {
    let mut entries = SpanEntries::default();
    let mut scratch = Vec::new();
    for data in batch {
        scratch.clear();
        encode_span(&mut scratch, data);
        entries.push_encoded(&data.instrumentation_scope, &scratch);
    }
    put_request(resource, &entries, buf);
}

/// Encoded spans waiting for their request, grouped by instrumentation scope in order of first
/// appearance (Skein has one scope, so this is a one-entry list, not a map). Each group holds
/// `ScopeSpans.spans` fields, ready to be written behind the scope.
#[derive(Debug, Default)]
pub(crate) struct SpanEntries {
    groups: Vec<(InstrumentationScope, Vec<u8>)>,
    spans: usize,
}

impl SpanEntries {
    /// Appends a span written by [`encode_span`] to its scope's group, behind its tag and length.
    pub(crate) fn push_encoded(&mut self, scope: &InstrumentationScope, span: &[u8]) {
        let index = match self.groups.iter().position(|(known, _)| known == scope) {
            Some(index) => index,
            None => {
                self.groups.push((scope.clone(), Vec::new()));
                self.groups.len() - 1
            }
        };
        put_bytes(&mut self.groups[index].1, 2, span);
        self.spans += 1;
    }

    /// How many spans are held.
    pub(crate) fn len(&self) -> usize {
        self.spans
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.spans == 0
    }
}

/// Appends the `ExportTraceServiceRequest` carrying `entries` to `buf`.
pub(crate) fn put_request(resource: &EncodedResource, entries: &SpanEntries, buf: &mut Vec<u8>) {
    let scope_spans_lens: Vec<usize> = entries
        .groups
        .iter()
        .map(|(scope, spans)| {
            len_field_len(1, scope_len(scope)) + spans.len() + opt_bytes_len(3, schema_url(scope).as_bytes())
        })
        .collect();
    let resource_spans_len = len_field_len(1, resource.message.len())
        + scope_spans_lens.iter().map(|&len| len_field_len(2, len)).sum::<usize>()
        + opt_bytes_len(3, resource.schema_url.as_bytes());

    // The request's exact size: one allocation at most.
    buf.reserve(len_field_len(1, resource_spans_len));
    // ExportTraceServiceRequest.resource_spans
    put_len_prefix(buf, 1, resource_spans_len);
    // ResourceSpans.resource: written even when empty, as the SDK's exporter does.
    put_bytes(buf, 1, &resource.message);
    for ((scope, spans), &scope_spans_len) in entries.groups.iter().zip(&scope_spans_lens) {
        // ResourceSpans.scope_spans
        put_len_prefix(buf, 2, scope_spans_len);
        put_len_prefix(buf, 1, scope_len(scope));
        put_scope(buf, scope);
        buf.extend_from_slice(spans);
        put_opt_bytes(buf, 3, schema_url(scope).as_bytes());
    }
    put_opt_bytes(buf, 3, resource.schema_url.as_bytes());
}

fn schema_url(scope: &InstrumentationScope) -> &str {
    scope.schema_url().unwrap_or_default()
}

fn scope_len(scope: &InstrumentationScope) -> usize {
    opt_bytes_len(1, scope.name().as_bytes())
        + opt_bytes_len(2, scope.version().unwrap_or_default().as_bytes())
        + scope
            .attributes()
            .map(|kv| len_field_len(3, key_value_len(kv.key.as_str(), &kv.value)))
            .sum::<usize>()
}

fn put_scope(buf: &mut Vec<u8>, scope: &InstrumentationScope) {
    put_opt_bytes(buf, 1, scope.name().as_bytes());
    put_opt_bytes(buf, 2, scope.version().unwrap_or_default().as_bytes());
    for kv in scope.attributes() {
        put_key_value(buf, 3, kv.key.as_str(), &kv.value);
    }
}

fn nanos(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos() as u64
}

fn kind(kind: &SpanKind) -> u64 {
    match kind {
        SpanKind::Internal => 1,
        SpanKind::Server => 2,
        SpanKind::Client => 3,
        SpanKind::Producer => 4,
        SpanKind::Consumer => 5,
    }
}

fn flags(context: &SpanContext, remote: bool) -> u32 {
    u32::from(context.trace_flags().to_u8())
        | CONTEXT_HAS_IS_REMOTE
        | if remote { CONTEXT_IS_REMOTE } else { 0 }
}

fn parent_id(span: &SpanData) -> Option<[u8; 8]> {
    (span.parent_span_id != SpanId::INVALID).then(|| span.parent_span_id.to_bytes())
}

/// `Status`: always present (the SDK's exporter sends one for every span).
fn status_parts(status: &Status) -> (u64, &str) {
    match status {
        Status::Unset => (0, ""),
        Status::Ok => (1, ""),
        Status::Error { description } => (2, description),
    }
}

fn status_len(status: &Status) -> usize {
    let (code, message) = status_parts(status);
    opt_bytes_len(2, message.as_bytes()) + opt_varint_len(3, code)
}

/// Appends one span's `Span` message (no tag, no length) to `buf`, for
/// [`SpanEntries::push_encoded`]. Written once: its length is taken from what was written.
pub(crate) fn encode_span(buf: &mut Vec<u8>, span: &SpanData) {
    let context = &span.span_context;
    put_bytes(buf, 1, &context.trace_id().to_bytes());
    put_bytes(buf, 2, &context.span_id().to_bytes());
    put_opt_bytes(buf, 3, context.trace_state().header().as_bytes());
    if let Some(parent) = parent_id(span) {
        put_bytes(buf, 4, &parent);
    }
    put_opt_bytes(buf, 5, span.name.as_bytes());
    put_opt_varint(buf, 6, kind(&span.span_kind));
    put_opt_fixed64(buf, 7, nanos(span.start_time));
    put_opt_fixed64(buf, 8, nanos(span.end_time));
    put_attributes(buf, 9, &span.attributes);
    put_opt_varint(buf, 10, u64::from(span.dropped_attributes_count));
    for event in span.events.iter() {
        put_len_prefix(buf, 11, event_len(event));
        put_opt_fixed64(buf, 1, nanos(event.timestamp));
        put_opt_bytes(buf, 2, event.name.as_bytes());
        put_attributes(buf, 3, &event.attributes);
        put_opt_varint(buf, 4, u64::from(event.dropped_attributes_count));
    }
    put_opt_varint(buf, 12, u64::from(span.events.dropped_count));
    for link in span.links.iter() {
        put_len_prefix(buf, 13, link_len(link));
        let context = &link.span_context;
        put_bytes(buf, 1, &context.trace_id().to_bytes());
        put_bytes(buf, 2, &context.span_id().to_bytes());
        put_opt_bytes(buf, 3, context.trace_state().header().as_bytes());
        put_attributes(buf, 4, &link.attributes);
        put_opt_varint(buf, 5, u64::from(link.dropped_attributes_count));
        put_opt_fixed32(buf, 6, flags(context, context.is_remote()));
    }
    put_opt_varint(buf, 14, u64::from(span.links.dropped_count));
    put_len_prefix(buf, 15, status_len(&span.status));
    let (code, message) = status_parts(&span.status);
    put_opt_bytes(buf, 2, message.as_bytes());
    put_opt_varint(buf, 3, code);
    put_opt_fixed32(buf, 16, flags(context, span.parent_span_is_remote));
}

fn event_len(event: &opentelemetry::trace::Event) -> usize {
    opt_fixed64_len(1, nanos(event.timestamp))
        + opt_bytes_len(2, event.name.as_bytes())
        + attributes_len(3, &event.attributes)
        + opt_varint_len(4, u64::from(event.dropped_attributes_count))
}

fn link_len(link: &opentelemetry::trace::Link) -> usize {
    let context = &link.span_context;
    len_field_len(1, 16)
        + len_field_len(2, 8)
        + opt_bytes_len(3, context.trace_state().header().as_bytes())
        + attributes_len(4, &link.attributes)
        + opt_varint_len(5, u64::from(link.dropped_attributes_count))
        + opt_fixed32_len(6, flags(context, context.is_remote()))
}

fn attributes_len(field: u32, attributes: &[KeyValue]) -> usize {
    attributes.iter().map(|kv| len_field_len(field, key_value_len(kv.key.as_str(), &kv.value))).sum()
}

fn put_attributes(buf: &mut Vec<u8>, field: u32, attributes: &[KeyValue]) {
    for kv in attributes {
        put_key_value(buf, field, kv.key.as_str(), &kv.value);
    }
}

/// `KeyValue { key = 1; AnyValue value = 2 }`; the value is always written, even when empty.
fn key_value_len(key: &str, value: &Value) -> usize {
    opt_bytes_len(1, key.as_bytes()) + len_field_len(2, any_value_len(value))
}

fn put_key_value(buf: &mut Vec<u8>, field: u32, key: &str, value: &Value) {
    let value_len = any_value_len(value);
    put_len_prefix(buf, field, opt_bytes_len(1, key.as_bytes()) + len_field_len(2, value_len));
    put_opt_bytes(buf, 1, key.as_bytes());
    put_len_prefix(buf, 2, value_len);
    put_any_value(buf, value);
}

/// `AnyValue`'s `oneof`: string 1, bool 2, int 3, double 4, array 5. A member of a `oneof` is
/// written even at its default (an empty string is still a string).
fn any_value_len(value: &Value) -> usize {
    match value {
        Value::Bool(_) => tag_len(2) + 1,
        Value::I64(i) => tag_len(3) + varint_len(*i as u64),
        Value::F64(_) => tag_len(4) + 8,
        Value::String(s) => len_field_len(1, s.as_str().len()),
        Value::Array(array) => len_field_len(5, array_len(array)),
        // A kind newer than this encoder: sent as its text rather than dropped.
        other => len_field_len(1, other.as_str().len()),
    }
}

fn put_any_value(buf: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Bool(b) => {
            put_tag(buf, 2, VARINT);
            put_varint(buf, u64::from(*b));
        }
        Value::I64(i) => {
            put_tag(buf, 3, VARINT);
            // int64: a negative number is its two's complement, ten bytes.
            put_varint(buf, *i as u64);
        }
        Value::F64(f) => {
            put_tag(buf, 4, FIXED64);
            buf.extend_from_slice(&f.to_bits().to_le_bytes());
        }
        Value::String(s) => put_bytes(buf, 1, s.as_str().as_bytes()),
        Value::Array(array) => {
            put_len_prefix(buf, 5, array_len(array));
            for_each_array_value(array, |value| {
                put_len_prefix(buf, 1, any_value_len(&value));
                put_any_value(buf, &value);
            });
        }
        other => put_bytes(buf, 1, other.as_str().as_bytes()),
    }
}

/// `ArrayValue { repeated AnyValue values = 1 }`.
fn array_len(array: &Array) -> usize {
    let mut len = 0;
    for_each_array_value(array, |value| len += len_field_len(1, any_value_len(&value)));
    len
}

/// Arrays are rare in spans (none of Skein's own): each element as a `Value`, cloned.
fn for_each_array_value(array: &Array, mut each: impl FnMut(Value)) {
    match array {
        Array::Bool(values) => values.iter().for_each(|&v| each(Value::Bool(v))),
        Array::I64(values) => values.iter().for_each(|&v| each(Value::I64(v))),
        Array::F64(values) => values.iter().for_each(|&v| each(Value::F64(v))),
        Array::String(values) => values.iter().for_each(|v| each(Value::String(v.clone()))),
        other => each(Value::String(other.to_string().into())),
    }
}

#[cfg(all(test, feature = "harness"))]
#[path = "encode_tests.rs"]
mod tests;
