//! OTLP's `ExportTraceServiceRequest`, written straight from Skein's span records.
//!
//! The SDK's exporter converts every span into opentelemetry-proto's structs (a `String` per
//! attribute key and value, a `Vec` per id) and has prost encode them, recomputing each nested
//! message's length at every level above it. Here a span's attributes and events are already
//! OTLP bytes (written as they were recorded, `super::attributes`); closing the span writes the
//! rest of its `Span` message around them in one pass, on the thread that closed it. The
//! resource and the instrumentation scope, the same in every request, are encoded once. Field
//! numbers are those of `opentelemetry/proto/trace/v1/trace.proto` and `common/v1/common.proto`;
//! the unit tests decode the result with opentelemetry-proto.

use opentelemetry::trace::{SpanContext, SpanKind, Status};
use opentelemetry::{Array, Value};
use opentelemetry_sdk::Resource;

use super::wire::{
    FIXED64, LEN, VARINT, len_field_len, opt_bytes_len, opt_fixed64_len, opt_varint_len, put_bytes,
    put_len_prefix, put_opt_bytes, put_opt_fixed32, put_opt_fixed64, put_opt_varint, put_tag, put_varint,
    tag_len, varint_len,
};
use crate::spans::record::{Recording, SpanRecord};

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

/// The instrumentation scope every span of a service is reported under: `skein` and the
/// service's version, encoded once.
#[derive(Debug, Default, Clone)]
pub(crate) struct EncodedScope {
    message: Vec<u8>,
}

impl EncodedScope {
    pub(crate) fn new(name: &str, version: &str) -> Self {
        let mut message = Vec::new();
        put_opt_bytes(&mut message, 1, name.as_bytes());
        put_opt_bytes(&mut message, 2, version.as_bytes());
        Self { message }
    }
}

/// Encoded spans waiting for their request: `ScopeSpans.spans` fields, ready to be written
/// behind the scope. They are kept in chunks of [`CHUNK`] bytes that are filled and never grow:
/// one buffer for the whole batch was copied into a larger one each time it filled up (a
/// batch is hundreds of kilobytes). The chunks are sent as they are (`super::framed`).
#[derive(Debug, Default)]
pub(crate) struct SpanEntries {
    chunks: Vec<Vec<u8>>,
    bytes: usize,
    spans: usize,
}

/// The size of a chunk of [`SpanEntries`]: a hundred spans or so, and under glibc's threshold
/// for giving an allocation pages of its own.
pub(crate) const CHUNK: usize = 64 * 1024;

impl SpanEntries {
    /// Appends a span written by [`encode_span`], behind its tag and length.
    pub(crate) fn push_encoded(&mut self, span: &[u8]) {
        let needed = len_field_len(2, span.len());
        let chunk = match self.chunks.last_mut() {
            Some(chunk) if chunk.capacity() - chunk.len() >= needed => chunk,
            _ => {
                self.chunks.push(Vec::with_capacity(CHUNK.max(needed)));
                self.chunks.last_mut().expect("just pushed")
            }
        };
        put_bytes(chunk, 2, span);
        self.bytes += needed;
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

/// An `ExportTraceServiceRequest` in pieces: what comes before the spans, the spans' chunks as
/// they were queued (moved, not copied), and what comes after. They are sent as they are
/// (`super::framed`): the spans are not copied again on their way out.
pub(crate) struct RequestParts {
    pub(crate) head: Vec<u8>,
    pub(crate) spans: Vec<Vec<u8>>,
    pub(crate) tail: Vec<u8>,
}

/// The request carrying `entries`.
pub(crate) fn request(
    resource: &EncodedResource,
    scope: &EncodedScope,
    entries: SpanEntries,
) -> RequestParts {
    let scope_spans_len = len_field_len(1, scope.message.len()) + entries.bytes;
    let resource_spans_len = len_field_len(1, resource.message.len())
        + len_field_len(2, scope_spans_len)
        + opt_bytes_len(3, resource.schema_url.as_bytes());
    let mut head = Vec::with_capacity(32 + resource.message.len() + scope.message.len());
    // ExportTraceServiceRequest.resource_spans
    put_len_prefix(&mut head, 1, resource_spans_len);
    // ResourceSpans.resource: written even when empty, as the SDK's exporter does.
    put_bytes(&mut head, 1, &resource.message);
    // ResourceSpans.scope_spans, its spans next
    put_len_prefix(&mut head, 2, scope_spans_len);
    put_bytes(&mut head, 1, &scope.message);
    let mut tail = Vec::new();
    put_opt_bytes(&mut tail, 3, resource.schema_url.as_bytes());
    RequestParts { head, spans: entries.chunks, tail }
}

/// The same request in one buffer.
#[cfg(test)]
pub(crate) fn put_request(
    resource: &EncodedResource,
    scope: &EncodedScope,
    entries: SpanEntries,
    buf: &mut Vec<u8>,
) {
    let parts = request(resource, scope, entries);
    buf.extend_from_slice(&parts.head);
    for chunk in &parts.spans {
        buf.extend_from_slice(chunk);
    }
    buf.extend_from_slice(&parts.tail);
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

/// `Status`: always present (the SDK's exporter sends one for every span).
fn status_parts(status: &Status) -> (u64, &str) {
    match status {
        Status::Unset => (0, ""),
        Status::Ok => (1, ""),
        Status::Error { description } => (2, description),
    }
}

/// Appends one span's `Span` message (no tag, no length) to `buf`, for
/// [`SpanEntries::push_encoded`]. Written once: its length is taken from what was written.
///
/// The fields of fixed size (ids, kind, times) are gathered into arrays and written at once.
pub(crate) fn encode_span(buf: &mut Vec<u8>, record: &SpanRecord, recording: &Recording, end_nanos: u64) {
    let context = &record.context;
    let state = context.trace_state().header();
    buf.reserve(
        96 + state.len() + recording.name.len() + recording.attributes.len() + recording.events.len(),
    );
    // trace_id = 1, span_id = 2
    let mut ids = [0u8; 28];
    ids[..2].copy_from_slice(&[1 << 3 | LEN, 16]);
    ids[2..18].copy_from_slice(&context.trace_id().to_bytes());
    ids[18..20].copy_from_slice(&[2 << 3 | LEN, 8]);
    ids[20..].copy_from_slice(&context.span_id().to_bytes());
    buf.extend_from_slice(&ids);
    put_opt_bytes(buf, 3, state.as_bytes());
    if record.parent_span_id != opentelemetry::trace::SpanId::INVALID {
        let mut parent = [4 << 3 | LEN, 8, 0, 0, 0, 0, 0, 0, 0, 0];
        parent[2..].copy_from_slice(&record.parent_span_id.to_bytes());
        buf.extend_from_slice(&parent);
    }
    put_opt_bytes(buf, 5, recording.name.as_bytes());
    // kind = 6 (one byte: 1 to 5), start_time_unix_nano = 7, end_time_unix_nano = 8; a time of
    // zero is left out, as proto3 leaves out defaults.
    if recording.start_nanos != 0 && end_nanos != 0 {
        let mut times = [0u8; 20];
        times[..2].copy_from_slice(&[6 << 3 | VARINT, kind(&recording.kind) as u8]);
        times[2] = 7 << 3 | FIXED64;
        times[3..11].copy_from_slice(&recording.start_nanos.to_le_bytes());
        times[11] = 8 << 3 | FIXED64;
        times[12..].copy_from_slice(&end_nanos.to_le_bytes());
        buf.extend_from_slice(&times);
    } else {
        put_opt_varint(buf, 6, kind(&recording.kind));
        put_opt_fixed64(buf, 7, recording.start_nanos);
        put_opt_fixed64(buf, 8, end_nanos);
    }
    buf.extend_from_slice(&recording.attributes);
    put_opt_varint(buf, 10, u64::from(recording.dropped_attributes));
    buf.extend_from_slice(&recording.events);
    put_opt_varint(buf, 12, u64::from(recording.dropped_events));
    buf.extend_from_slice(&recording.links);
    put_opt_varint(buf, 14, u64::from(recording.dropped_links));
    let (code, message) = status_parts(&recording.status);
    put_len_prefix(buf, 15, opt_bytes_len(2, message.as_bytes()) + opt_varint_len(3, code));
    put_opt_bytes(buf, 2, message.as_bytes());
    put_opt_varint(buf, 3, code);
    let remote = if record.parent_is_remote { CONTEXT_IS_REMOTE } else { 0 };
    put_opt_fixed32(buf, 16, u32::from(context.trace_flags().to_u8()) | CONTEXT_HAS_IS_REMOTE | remote);
}

/// Appends a `Link { trace_id = 1; span_id = 2; trace_state = 3; flags = 6 }` to `to` as
/// field 13 of a span.
pub(crate) fn put_link(buf: &mut Vec<u8>, to: &SpanContext) {
    let state = to.trace_state().header();
    let flags = link_flags(to);
    put_len_prefix(
        buf,
        13,
        len_field_len(1, 16) + len_field_len(2, 8) + opt_bytes_len(3, state.as_bytes()) + 5,
    );
    put_bytes(buf, 1, &to.trace_id().to_bytes());
    put_bytes(buf, 2, &to.span_id().to_bytes());
    put_opt_bytes(buf, 3, state.as_bytes());
    put_opt_fixed32(buf, 6, flags);
}

fn link_flags(to: &SpanContext) -> u32 {
    u32::from(to.trace_flags().to_u8())
        | CONTEXT_HAS_IS_REMOTE
        | if to.is_remote() { CONTEXT_IS_REMOTE } else { 0 }
}

/// Appends an `Event { time_unix_nano = 1; name = 2; attributes = 3; dropped = 4 }` as field 11
/// of a span; `attributes` are already `KeyValue` fields under number 3.
pub(crate) fn put_event(
    buf: &mut Vec<u8>,
    nanos: u64,
    name: &str,
    attributes: &[u8],
    dropped_attributes: u32,
) {
    let len = opt_fixed64_len(1, nanos)
        + opt_bytes_len(2, name.as_bytes())
        + attributes.len()
        + opt_varint_len(4, u64::from(dropped_attributes));
    // One allocation for a span's first event, not a growth per field.
    buf.reserve(len_field_len(11, len));
    put_len_prefix(buf, 11, len);
    put_opt_fixed64(buf, 1, nanos);
    put_opt_bytes(buf, 2, name.as_bytes());
    buf.extend_from_slice(attributes);
    put_opt_varint(buf, 4, u64::from(dropped_attributes));
}

/// `KeyValue { key = 1; AnyValue value = 2 }`; the value is always written, even when empty.
pub(crate) fn put_key_value(buf: &mut Vec<u8>, field: u32, key: &str, value: &Value) {
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
