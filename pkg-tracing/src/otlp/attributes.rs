//! OTLP `KeyValue` fields written straight from what `tracing` hands a visitor: no
//! `opentelemetry::KeyValue`, no `String` per value. A span's or an event's attributes are kept
//! as these bytes until the span is encoded.
//!
//! `KeyValue { string key = 1; AnyValue value = 2 }`; `AnyValue`'s `oneof`: string 1, bool 2,
//! int 3, double 4, array 5 (`ArrayValue { repeated AnyValue values = 1 }`). A member of a
//! `oneof` is written even at its default (an empty string is still a string).

use super::wire::{
    FIXED64, VARINT, len_field_len, opt_bytes_len, put_bytes, put_len_prefix, put_opt_bytes, put_tag,
    put_varint, tag_len, varint_len,
};

/// An attribute's value, borrowed.
#[derive(Debug, Clone, Copy)]
pub(crate) enum AttributeValue<'a> {
    Str(&'a str),
    Bool(bool),
    I64(i64),
    F64(f64),
    /// An array of strings (an error's source chain).
    Strs(&'a [String]),
}

fn any_value_len(value: AttributeValue<'_>) -> usize {
    match value {
        AttributeValue::Str(s) => len_field_len(1, s.len()),
        AttributeValue::Bool(_) => tag_len(2) + 1,
        AttributeValue::I64(i) => tag_len(3) + varint_len(i as u64),
        AttributeValue::F64(_) => tag_len(4) + 8,
        AttributeValue::Strs(items) => len_field_len(5, strs_len(items)),
    }
}

fn strs_len(items: &[String]) -> usize {
    items.iter().map(|s| len_field_len(1, len_field_len(1, s.len()))).sum()
}

fn put_any_value(buf: &mut Vec<u8>, value: AttributeValue<'_>) {
    match value {
        AttributeValue::Str(s) => put_bytes(buf, 1, s.as_bytes()),
        AttributeValue::Bool(b) => {
            put_tag(buf, 2, VARINT);
            put_varint(buf, u64::from(b));
        }
        AttributeValue::I64(i) => {
            put_tag(buf, 3, VARINT);
            // int64: a negative number is its two's complement, ten bytes.
            put_varint(buf, i as u64);
        }
        AttributeValue::F64(f) => {
            put_tag(buf, 4, FIXED64);
            buf.extend_from_slice(&f.to_bits().to_le_bytes());
        }
        AttributeValue::Strs(items) => {
            put_len_prefix(buf, 5, strs_len(items));
            for item in items {
                put_len_prefix(buf, 1, len_field_len(1, item.len()));
                put_bytes(buf, 1, item.as_bytes());
            }
        }
    }
}

/// Appends `key = value` as field `field` of the enclosing message (a span's 9, an event's 3).
pub(crate) fn put_attribute(buf: &mut Vec<u8>, field: u32, key: &str, value: AttributeValue<'_>) {
    let value_len = any_value_len(value);
    put_len_prefix(buf, field, opt_bytes_len(1, key.as_bytes()) + len_field_len(2, value_len));
    put_opt_bytes(buf, 1, key.as_bytes());
    put_len_prefix(buf, 2, value_len);
    put_any_value(buf, value);
}
