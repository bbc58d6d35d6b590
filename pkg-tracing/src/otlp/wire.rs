//! The Protocol Buffers wire format: the few primitives OTLP's trace messages need, writing
//! into a `Vec<u8>` and reading the collector's small answer.
//!
//! Fields at their default value are left out, as prost (and every other proto3 encoder) does,
//! except where the caller says otherwise (a `oneof` member is always written).

/// Wire types.
pub(crate) const VARINT: u8 = 0;
pub(crate) const FIXED64: u8 = 1;
pub(crate) const LEN: u8 = 2;
pub(crate) const FIXED32: u8 = 5;

pub(crate) fn varint_len(value: u64) -> usize {
    // 7 bits per byte; zero still takes one.
    (64 - (value | 1).leading_zeros() as usize).div_ceil(7)
}

pub(crate) fn put_varint(buf: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        buf.push(value as u8 | 0x80);
        value >>= 7;
    }
    buf.push(value as u8);
}

fn key(field: u32, wire_type: u8) -> u64 {
    (u64::from(field) << 3) | u64::from(wire_type)
}

pub(crate) fn tag_len(field: u32) -> usize {
    varint_len(key(field, 0))
}

pub(crate) fn put_tag(buf: &mut Vec<u8>, field: u32, wire_type: u8) {
    put_varint(buf, key(field, wire_type));
}

/// A length-delimited field (string, bytes or message) whose payload is `len` bytes.
pub(crate) fn len_field_len(field: u32, len: usize) -> usize {
    tag_len(field) + varint_len(len as u64) + len
}

/// Starts a length-delimited field; the caller writes exactly `len` bytes after it.
pub(crate) fn put_len_prefix(buf: &mut Vec<u8>, field: u32, len: usize) {
    put_tag(buf, field, LEN);
    put_varint(buf, len as u64);
}

pub(crate) fn put_bytes(buf: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    put_len_prefix(buf, field, bytes.len());
    buf.extend_from_slice(bytes);
}

/// A string or bytes field, left out when empty.
pub(crate) fn opt_bytes_len(field: u32, bytes: &[u8]) -> usize {
    if bytes.is_empty() { 0 } else { len_field_len(field, bytes.len()) }
}

pub(crate) fn put_opt_bytes(buf: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    if !bytes.is_empty() {
        put_bytes(buf, field, bytes);
    }
}

/// A uint32/uint64/enum field, left out when zero.
pub(crate) fn opt_varint_len(field: u32, value: u64) -> usize {
    if value == 0 { 0 } else { tag_len(field) + varint_len(value) }
}

pub(crate) fn put_opt_varint(buf: &mut Vec<u8>, field: u32, value: u64) {
    if value != 0 {
        put_tag(buf, field, VARINT);
        put_varint(buf, value);
    }
}

/// A fixed64 field (OTLP's timestamps), left out when zero.
pub(crate) fn opt_fixed64_len(field: u32, value: u64) -> usize {
    if value == 0 { 0 } else { tag_len(field) + 8 }
}

pub(crate) fn put_opt_fixed64(buf: &mut Vec<u8>, field: u32, value: u64) {
    if value != 0 {
        put_tag(buf, field, FIXED64);
        buf.extend_from_slice(&value.to_le_bytes());
    }
}

/// A fixed32 field (OTLP's span flags), left out when zero.
pub(crate) fn put_opt_fixed32(buf: &mut Vec<u8>, field: u32, value: u32) {
    if value != 0 {
        put_tag(buf, field, FIXED32);
        buf.extend_from_slice(&value.to_le_bytes());
    }
}

/// One field read by [`Reader`]: its number and its value (a varint, or a length-delimited
/// payload; fixed-width values are skipped, OTLP's answers have none).
#[derive(Debug, PartialEq)]
pub(crate) enum Field<'a> {
    Varint(u32, u64),
    Len(u32, &'a [u8]),
    Other(u32),
}

/// Walks the fields of one message.
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(message: &'a [u8]) -> Self {
        Self { rest: message }
    }

    fn varint(&mut self) -> Result<u64, &'static str> {
        let mut value = 0u64;
        for (i, &byte) in self.rest.iter().enumerate().take(10) {
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte < 0x80 {
                self.rest = &self.rest[i + 1..];
                return Ok(value);
            }
        }
        Err("a varint is cut short or longer than ten bytes")
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], &'static str> {
        if n > self.rest.len() {
            return Err("a field runs past the end of its message");
        }
        let (taken, rest) = self.rest.split_at(n);
        self.rest = rest;
        Ok(taken)
    }

    /// The next field, `None` at the end, or why the bytes are not a message.
    pub(crate) fn next_field(&mut self) -> Result<Option<Field<'a>>, &'static str> {
        if self.rest.is_empty() {
            return Ok(None);
        }
        let key = self.varint()?;
        let field = u32::try_from(key >> 3).map_err(|_| "a field number is out of range")?;
        Ok(Some(match (key & 7) as u8 {
            VARINT => Field::Varint(field, self.varint()?),
            LEN => {
                let len = usize::try_from(self.varint()?).map_err(|_| "a length is out of range")?;
                Field::Len(field, self.take(len)?)
            }
            FIXED64 => {
                self.take(8)?;
                Field::Other(field)
            }
            FIXED32 => {
                self.take(4)?;
                Field::Other(field)
            }
            _ => return Err("an unknown wire type"),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_take_seven_bits_a_byte_and_read_back() {
        for (value, len) in [(0u64, 1), (1, 1), (127, 1), (128, 2), (16_383, 2), (16_384, 3), (u64::MAX, 10)]
        {
            let mut buf = Vec::new();
            put_varint(&mut buf, value);
            assert_eq!((buf.len(), varint_len(value)), (len, len), "{value}");
            buf.extend_from_slice(&[0x08, 0x01]);
            let mut reader = Reader { rest: &buf };
            assert_eq!(reader.varint(), Ok(value));
            assert_eq!(reader.rest, [0x08, 0x01], "exactly its own bytes consumed");
        }
        // Field 16 (a span's flags) needs a two-byte key.
        assert_eq!((tag_len(15), tag_len(16)), (1, 2));
    }

    #[test]
    fn the_reader_walks_fields_and_refuses_truncated_messages() {
        let mut message = Vec::new();
        put_opt_varint(&mut message, 1, 300);
        put_opt_bytes(&mut message, 2, b"why");
        put_opt_fixed64(&mut message, 3, 7);
        put_opt_fixed32(&mut message, 4, 7);
        put_opt_varint(&mut message, 5, 0);
        let mut reader = Reader::new(&message);
        assert_eq!(reader.next_field(), Ok(Some(Field::Varint(1, 300))));
        assert_eq!(reader.next_field(), Ok(Some(Field::Len(2, b"why".as_slice()))));
        assert_eq!(reader.next_field(), Ok(Some(Field::Other(3))));
        assert_eq!(reader.next_field(), Ok(Some(Field::Other(4))));
        assert_eq!(reader.next_field(), Ok(None), "a zero is left out");

        let cut = &message[..message.len() - 1];
        let mut reader = Reader::new(cut);
        let errors = std::iter::from_fn(|| reader.next_field().transpose()).find_map(Result::err);
        assert_eq!(errors, Some("a field runs past the end of its message"));
        assert!(Reader::new(&[0x08, 0x80]).next_field().is_err(), "a varint cut short");
        assert!(Reader::new(&[0x0b]).next_field().is_err(), "wire type 3 (groups) is refused");
    }
}
