//! OTLP `KeyValue` fields written straight from what `tracing` hands a visitor: no
//! `opentelemetry::KeyValue`, no `String` per value. A span's or an event's attributes are kept
//! as these bytes until the span is encoded.
//!
//! `KeyValue { string key = 1; AnyValue value = 2 }`; `AnyValue`'s `oneof`: string 1, bool 2,
//! int 3, double 4, array 5 (`ArrayValue { repeated AnyValue values = 1 }`). A member of a
//! `oneof` is written even at its default (an empty string is still a string).

#[cfg(test)]
use super::wire::put_opt_bytes;
use super::wire::{
    FIXED64, LEN, VARINT, len_field_len, opt_bytes_len, put_bytes, put_len_prefix, put_tag, put_varint,
    tag_len, varint_len,
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
///
/// The hot path of recording a span (a dozen attributes each): the tags and lengths around the
/// key and the value are gathered on the stack and appended in as few copies as there are
/// pieces, into space reserved once.
pub(crate) fn put_attribute(buf: &mut Vec<u8>, field: u32, key: &str, value: AttributeValue<'_>) {
    if put_short_attribute(buf, field, key, value) {
        return;
    }
    let value_len = any_value_len(value);
    let kv_len = opt_bytes_len(1, key.as_bytes()) + len_field_len(2, value_len);
    buf.reserve(len_field_len(field, kv_len));
    let mut head = Head::default();
    head.tag(field, LEN);
    head.varint(kv_len as u64);
    if !key.is_empty() {
        head.tag(1, LEN);
        head.varint(key.len() as u64);
        buf.extend_from_slice(head.bytes());
        buf.extend_from_slice(key.as_bytes());
        head = Head::default();
    }
    head.tag(2, LEN);
    head.varint(value_len as u64);
    match value {
        AttributeValue::Str(s) => {
            head.tag(1, LEN);
            head.varint(s.len() as u64);
            buf.extend_from_slice(head.bytes());
            buf.extend_from_slice(s.as_bytes());
        }
        AttributeValue::Bool(b) => {
            head.tag(2, VARINT);
            head.varint(u64::from(b));
            buf.extend_from_slice(head.bytes());
        }
        AttributeValue::I64(i) => {
            head.tag(3, VARINT);
            // int64: a negative number is its two's complement, ten bytes.
            head.varint(i as u64);
            buf.extend_from_slice(head.bytes());
        }
        AttributeValue::F64(f) => {
            head.tag(4, FIXED64);
            head.extend(&f.to_bits().to_le_bytes());
            buf.extend_from_slice(head.bytes());
        }
        AttributeValue::Strs(_) => {
            buf.extend_from_slice(head.bytes());
            put_any_value(buf, value);
        }
    }
}

/// Nearly every attribute Skein records: a field number and every length small enough for
/// one-byte tags and varints, a key, and a string, integer or boolean. Written as fixed-size
/// headers around the key's and the value's bytes, with no lengths to work out. Returns false,
/// writing nothing, for any other attribute.
fn put_short_attribute(buf: &mut Vec<u8>, field: u32, key: &str, value: AttributeValue<'_>) -> bool {
    /// The largest key + value that keeps `KeyValue`'s own length under 128: the key's two
    /// bytes of tag and length, `AnyValue`'s two, and its member's tag and length.
    const MAX_PAYLOAD: usize = 127 - 6;
    if field >= 16 || key.is_empty() || key.len() > MAX_PAYLOAD {
        return false;
    }
    let tag = (field << 3) as u8 | LEN;
    match value {
        AttributeValue::Str(s) => {
            if key.len() + s.len() > MAX_PAYLOAD {
                return false;
            }
            let value_len = 2 + s.len();
            put_key_value_parts(
                buf,
                tag,
                key,
                &[2 << 3 | LEN, value_len as u8, 1 << 3 | LEN, s.len() as u8],
                s.as_bytes(),
            );
        }
        AttributeValue::Bool(b) => {
            put_key_value_parts(buf, tag, key, &[2 << 3 | LEN, 2, 2 << 3 | VARINT, u8::from(b)], &[]);
        }
        AttributeValue::I64(i) => {
            let mut varint = Head::default();
            varint.varint(i as u64);
            let len = varint.bytes().len();
            if key.len() + len > MAX_PAYLOAD + 1 {
                return false;
            }
            put_key_value_parts(
                buf,
                tag,
                key,
                &[2 << 3 | LEN, 1 + len as u8, 3 << 3 | VARINT],
                varint.bytes(),
            );
        }
        AttributeValue::F64(_) | AttributeValue::Strs(_) => return false,
    }
    true
}

/// `KeyValue` under `tag`: the key, then `value_head` (the `AnyValue` field's tag and length
/// and its member's tag, and length or value) and `value_tail`. Inlined into each case of
/// [`put_short_attribute`], where `value_head`'s size is a constant: it is then written with a
/// store or two instead of a call to `memcpy`.
#[inline(always)]
fn put_key_value_parts(buf: &mut Vec<u8>, tag: u8, key: &str, value_head: &[u8], value_tail: &[u8]) {
    let kv_len = 2 + key.len() + value_head.len() + value_tail.len();
    buf.reserve(2 + kv_len);
    buf.extend_from_slice(&[tag, kv_len as u8, 1 << 3 | LEN, key.len() as u8]);
    buf.extend_from_slice(key.as_bytes());
    buf.extend_from_slice(value_head);
    buf.extend_from_slice(value_tail);
}

/// Up to 32 bytes of tags, lengths and small values, written on the stack.
#[derive(Default)]
struct Head {
    bytes: [u8; 32],
    len: usize,
}

impl Head {
    fn push(&mut self, byte: u8) {
        self.bytes[self.len] = byte;
        self.len += 1;
    }

    fn varint(&mut self, mut value: u64) {
        while value >= 0x80 {
            self.push(value as u8 | 0x80);
            value >>= 7;
        }
        self.push(value as u8);
    }

    fn tag(&mut self, field: u32, wire_type: u8) {
        self.varint((u64::from(field) << 3) | u64::from(wire_type));
    }

    fn extend(&mut self, bytes: &[u8]) {
        self.bytes[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
    }

    fn bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The stack-built writer against the plain one it replaces: the same bytes for every kind
    /// of value, short and long keys, and lengths that need two-byte varints.
    #[test]
    fn attributes_are_written_as_the_plain_writer_writes_them() {
        fn plain(buf: &mut Vec<u8>, field: u32, key: &str, value: AttributeValue<'_>) {
            let value_len = any_value_len(value);
            put_len_prefix(buf, field, opt_bytes_len(1, key.as_bytes()) + len_field_len(2, value_len));
            put_opt_bytes(buf, 1, key.as_bytes());
            put_len_prefix(buf, 2, value_len);
            put_any_value(buf, value);
        }
        let long = "y".repeat(300);
        // Around the short writer's limit: key + value of 121 bytes and of 122.
        let (near, over) = ("v".repeat(121 - 5), "v".repeat(122 - 5));
        let chain = ["a".to_owned(), long.clone()];
        let values = [
            AttributeValue::Str(""),
            AttributeValue::Str("short"),
            AttributeValue::Str(&long),
            AttributeValue::Str(&near),
            AttributeValue::Str(&over),
            AttributeValue::I64(1 << 40),
            AttributeValue::Bool(true),
            AttributeValue::Bool(false),
            AttributeValue::I64(0),
            AttributeValue::I64(-1),
            AttributeValue::I64(i64::MAX),
            AttributeValue::F64(-0.5),
            AttributeValue::Strs(&chain),
        ];
        for key in ["", "k", "short", "k".repeat(120).as_str(), long.as_str()] {
            for value in values {
                for field in [3, 9, 16] {
                    let (mut ours, mut theirs) = (vec![0xAA], vec![0xAA]);
                    put_attribute(&mut ours, field, key, value);
                    plain(&mut theirs, field, key, value);
                    assert_eq!(ours, theirs, "{field} {key:?} {value:?}");
                }
            }
        }
    }
}
