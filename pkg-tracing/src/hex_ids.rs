//! Trace and span ids as lower-case hex, written from a digit table rather than `core::fmt`,
//! and the canonical `traceparent` read back without the SDK's parser. Ids are written several
//! times per request (the `traceresponse` header, the stored trace id), and
//! `{:032x}` of a `u128` goes through the formatter's padding machinery, ~1.7 k instructions an
//! id against ~100 here.

use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId};

const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// `bytes` as lower-case hex, two digits a byte.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut digits = vec![0; 2 * bytes.len()];
    put_hex(&mut digits, bytes);
    ascii(digits)
}

/// Writes `bytes` as hex digits into `out` (two digits a byte, as many as fit).
fn put_hex(out: &mut [u8], bytes: &[u8]) {
    for (pair, &byte) in out.chunks_exact_mut(2).zip(bytes) {
        pair[0] = DIGITS[usize::from(byte >> 4)];
        pair[1] = DIGITS[usize::from(byte & 0x0f)];
    }
}

/// Text made only of ASCII digits, letters and dashes, as a `String`.
fn ascii(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_default()
}

/// 32 hex digits, as W3C trace context and every tracing backend write a trace id.
pub(crate) fn trace_id(id: TraceId) -> String {
    hex(&id.to_bytes())
}

/// 16 hex digits, as W3C trace context writes a span id.
pub(crate) fn span_id(id: SpanId) -> String {
    hex(&id.to_bytes())
}

/// `00-<trace-id>-<span-id>-<flags>`: the W3C `traceresponse` value, every flag as set.
pub(crate) fn version_00(span: &SpanContext) -> String {
    ascii(with_flags(span, span.trace_flags()).to_vec())
}

/// The W3C `traceparent` value as the SDK's `TraceContextPropagator` writes it: of the flags,
/// only `sampled` is passed on. As bytes: it goes straight into a header.
pub(crate) fn traceparent(span: &SpanContext) -> [u8; 55] {
    with_flags(span, span.trace_flags() & TraceFlags::SAMPLED)
}

/// Written on the stack, every digit in its place: no `String` grown piece by piece.
fn with_flags(span: &SpanContext, flags: TraceFlags) -> [u8; 55] {
    let mut out = [b'-'; 55];
    out[..2].copy_from_slice(b"00");
    put_hex(&mut out[3..35], &span.trace_id().to_bytes());
    put_hex(&mut out[36..52], &span.span_id().to_bytes());
    put_hex(&mut out[53..], &[flags.to_u8()]);
    out
}

/// `00-<32 hex>-<16 hex>-<2 hex>`, lower case, nothing around it: the ids and the flags byte.
/// `None` for anything else, which the SDK's parser then judges.
pub(crate) fn canonical_traceparent(value: &str) -> Option<(TraceId, SpanId, u8)> {
    let bytes = value.as_bytes();
    if bytes.len() != 55 || !bytes.starts_with(b"00-") || bytes[35] != b'-' || bytes[52] != b'-' {
        return None;
    }
    let trace_id = u128::from(lower_hex(&bytes[3..19])?) << 64 | u128::from(lower_hex(&bytes[19..35])?);
    let span_id = lower_hex(&bytes[36..52])?;
    let flags = lower_hex(&bytes[53..55])?;
    Some((TraceId::from(trace_id), SpanId::from(span_id), flags as u8))
}

/// At most 16 lower-case hex digits as a number.
fn lower_hex(digits: &[u8]) -> Option<u64> {
    digits.iter().try_fold(0_u64, |value, &digit| {
        let nibble = match digit {
            b'0'..=b'9' => digit - b'0',
            b'a'..=b'f' => digit - b'a' + 10,
            _ => return None,
        };
        Some(value << 4 | u64::from(nibble))
    })
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::TraceState;

    use super::*;

    /// The same text as `core::fmt`'s zero-padded hex, leading zeros and all-ones included.
    #[test]
    fn ids_read_as_the_formatter_writes_them() {
        for (trace, span, flags) in [
            (0x4bf92f3577b34da6a3ce929d0e0e4736_u128, 0x00f067aa0ba902b7_u64, TraceFlags::SAMPLED),
            (1, 1, TraceFlags::default()),
            (u128::MAX, u64::MAX, TraceFlags::new(0xff)),
            (0x0a << 120, 0x0b << 56, TraceFlags::SAMPLED),
        ] {
            let context = SpanContext::new(
                TraceId::from(trace),
                SpanId::from(span),
                flags,
                false,
                TraceState::default(),
            );
            assert_eq!(trace_id(context.trace_id()), format!("{trace:032x}"));
            assert_eq!(hex(&span.to_be_bytes()), format!("{span:016x}"));
            assert_eq!(version_00(&context), format!("00-{trace:032x}-{span:016x}-{:02x}", flags.to_u8()));
            let sampled = flags.to_u8() & 1;
            assert_eq!(
                traceparent(&context).as_slice(),
                format!("00-{trace:032x}-{span:016x}-{sampled:02x}").as_bytes()
            );
            assert_eq!(
                canonical_traceparent(&version_00(&context)),
                Some((TraceId::from(trace), SpanId::from(span), flags.to_u8())),
                "read back"
            );
        }
    }
}
