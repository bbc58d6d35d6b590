//! Moving trace context and baggage in and out of HTTP headers.

use std::collections::HashMap;

use crate::SpanExt as _;
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::baggage::{Baggage, BaggageExt as _};
use opentelemetry::propagation::{Extractor, TextMapPropagator as _};
use opentelemetry::trace::{SpanContext, TraceContextExt, TraceFlags, TraceState};
use opentelemetry_sdk::propagation::TraceContextPropagator;

/// Reads W3C `traceparent` and `tracestate` from request headers (`baggage` is
/// [`extract_baggage`]'s). Only what the headers carry: extracting on top of the current context
/// would let an absent or broken `traceparent` fall back to whatever span happens to be current.
///
/// What the propagators `init` installs read (a unit test compares), read directly rather than
/// through the global composite. A `traceparent` in the canonical form every W3C tracer sends
/// (version 00, lower-case hex) is parsed here; any other form goes to the SDK's
/// `TraceContextPropagator`, whose rules for versions, lengths and case it then follows.
pub(crate) fn extract_trace(headers: &HeaderMap) -> opentelemetry::Context {
    let empty = opentelemetry::Context::new();
    let traceparent = headers.get(TRACEPARENT).and_then(|v| v.to_str().ok());
    match traceparent.and_then(crate::hex_ids::canonical_traceparent) {
        Some((trace_id, span_id, flags)) => {
            let trace_state = headers
                .get(TRACESTATE)
                .and_then(|v| v.to_str().ok())
                .map(|state| state.parse::<TraceState>().unwrap_or_default())
                .unwrap_or_default();
            let flags = TraceFlags::new(flags) & TraceFlags::SAMPLED;
            let span = SpanContext::new(trace_id, span_id, flags, true, trace_state);
            if span.is_valid() { empty.with_remote_span_context(span) } else { empty }
        }
        None => TraceContextPropagator::new().extract_with_context(&empty, &HeaderExtractor(headers)),
    }
}

/// The `baggage` header's entries as the SDK's `BaggagePropagator` reads them (a unit test
/// compares): at most 64 members of a header of at most 8192 bytes, each `key=value` and
/// properties after `;`, percent-decoded and trimmed; a member that is not `key=value` or not
/// UTF-8 once decoded is left out. Read here without the SDK's `Vec` and `String`s per member,
/// which made it 6 k instructions for a single entry, and handed back to be added to (a
/// server adds its correlation id) before it goes into a context.
pub(crate) fn extract_baggage(headers: &HeaderMap) -> Baggage {
    const MAX_HEADER: usize = 8192;
    const MAX_MEMBERS: usize = 64;
    let mut baggage = Baggage::new();
    let Some(header) = headers.get(BAGGAGE).and_then(|v| v.to_str().ok()) else { return baggage };
    if header.len() > MAX_HEADER {
        return baggage;
    }
    for member in header.split(',').take(MAX_MEMBERS) {
        let (pair, properties) = member.split_once(';').map_or((member, None), |(p, rest)| (p, Some(rest)));
        let mut halves = pair.split('=');
        let (Some(key), Some(value)) = (halves.next(), halves.next()) else { continue };
        let (Ok(key), Ok(value)) = (decode(key), decode(value)) else { continue };
        let metadata = properties.map_or_else(String::new, |properties| {
            let decoded: Vec<String> =
                properties.split(';').filter_map(|p| decode(p).ok()).map(|p| p.trim().to_owned()).collect();
            decoded.join(";")
        });
        baggage.insert_with_metadata(key.trim().to_owned(), value.trim().to_owned(), metadata);
    }
    baggage
}

fn decode(text: &str) -> Result<std::borrow::Cow<'_, str>, std::str::Utf8Error> {
    percent_encoding::percent_decode_str(text).decode_utf8()
}

/// Writes `traceparent`, `tracestate` and `baggage` for `cx` into outgoing headers: what the
/// propagators `init` installs write (a unit test compares), written directly rather than
/// through the global composite, and without `core::fmt`. Every internal call makes one;
/// through the propagators it cost ~7 k instructions.
///
/// One difference: an empty `tracestate` is not sent (the SDK sends the header empty). W3C
/// Trace Context lets a tracer leave it out, the Go and Java SDKs do, and a reader takes its
/// absence as empty; sending it cost both sides ~1 k instructions per call for nothing.
pub(crate) fn inject(cx: &opentelemetry::Context, headers: &mut awc::http::header::HeaderMap) {
    let span = cx.span();
    let ids = span.span_context();
    if ids.is_valid() {
        if let Ok(value) = HeaderValue::from_bytes(&crate::hex_ids::traceparent(ids)) {
            headers.insert(TRACEPARENT, value);
        }
        let state = ids.trace_state().header();
        if !state.is_empty()
            && let Ok(value) = HeaderValue::try_from(state)
        {
            headers.insert(TRACESTATE, value);
        }
    }
    let baggage = cx.baggage();
    if !baggage.is_empty()
        && let Ok(value) = HeaderValue::try_from(baggage_header(baggage))
    {
        headers.insert(BAGGAGE, value);
    }
}

/// The `baggage` header as the SDK's `BaggagePropagator` writes it: `key=value;metadata`
/// entries joined by commas, key and value trimmed and percent-encoded (control characters,
/// space, `"`, `;`, `,`, `=` and every non-ASCII byte, as `%XX` in upper case). Written in
/// one buffer rather than through a `String` per entry and a join.
fn baggage_header(baggage: &opentelemetry::baggage::Baggage) -> String {
    let mut out = String::with_capacity(64);
    for (name, (value, metadata)) in baggage {
        if !out.is_empty() {
            out.push(',');
        }
        push_percent_encoded(&mut out, name.as_str().trim());
        out.push('=');
        push_percent_encoded(&mut out, value.as_str().trim());
        let metadata = metadata.as_str().trim();
        if !metadata.is_empty() {
            out.push(';');
            out.push_str(metadata);
        }
    }
    out
}

fn push_percent_encoded(out: &mut String, text: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let plain = |b: u8| (0x20..0x7f).contains(&b) && !matches!(b, b' ' | b'"' | b';' | b',' | b'=');
    if text.bytes().all(plain) {
        out.push_str(text);
        return;
    }
    for byte in text.bytes() {
        if plain(byte) {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
    }
}

/// The current span's context as W3C headers (`traceparent`, `tracestate`, `baggage`), to
/// carry a trace somewhere other than an HTTP request: a queued job's row, a message.
pub fn current_context_headers() -> HashMap<String, String> {
    let mut headers = HashMap::new();
    let cx = tracing::Span::current().context();
    opentelemetry::global::get_text_map_propagator(|p| p.inject_context(&cx, &mut headers));
    headers
}

/// The context carried in headers made by [`current_context_headers`]. To continue the work
/// under it, prefer [`continue_trace`], which reports a context that cannot be used.
pub fn context_from_headers(headers: &HashMap<String, String>) -> opentelemetry::Context {
    opentelemetry::global::get_text_map_propagator(|p| {
        p.extract_with_context(&opentelemetry::Context::new(), headers)
    })
}

/// Makes `span` continue the trace carried in `headers` (made by [`current_context_headers`]
/// when the work was handed over: a queued job's row, a message). Returns whether it does.
///
/// A carried context that is missing or invalid, or a parent that cannot be set, is logged as
/// a warning: the work then starts a new trace, and whoever reads that trace must be able to
/// learn why it is not joined to the request that caused it.
pub fn continue_trace(span: &tracing::Span, headers: &HashMap<String, String>) -> bool {
    set_parent_or_warn(span, context_from_headers(headers), true)
}

/// Sets `parent` on `span`; a failure is logged, never silently a new root. With
/// `expect_remote`, a parent without a valid remote span is worth a warning too.
pub(crate) fn set_parent_or_warn(
    span: &tracing::Span,
    parent: opentelemetry::Context,
    expect_remote: bool,
) -> bool {
    let carried = parent.span().span_context().is_valid();
    if expect_remote && !carried {
        tracing::warn!(
            span = span.metadata().map(|m| m.name()).unwrap_or("(disabled)"),
            "the carried trace context is missing or invalid; the work starts a new trace"
        );
    }
    match span.set_parent(parent) {
        Ok(()) => carried,
        Err(error) => {
            tracing::warn!(%error, "could not set the span's parent; it starts a new trace");
            false
        }
    }
}

/// The W3C `traceresponse` value for a span: `00-<trace-id>-<span-id>-<flags>`.
pub fn traceresponse(span: &SpanContext) -> Option<String> {
    span.is_valid().then(|| crate::hex_ids::version_00(span))
}

struct HeaderExtractor<'a>(&'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }
}

/// The names `inject` writes, made once: parsing them on every outgoing call cost as much as the
/// rest of the injection.
const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
const TRACESTATE: HeaderName = HeaderName::from_static("tracestate");
const BAGGAGE: HeaderName = HeaderName::from_static("baggage");

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use opentelemetry::baggage::{BaggageMetadata, KeyValueMetadata};
    use opentelemetry::propagation::{TextMapCompositePropagator, TextMapPropagator as _};
    use opentelemetry::trace::{SpanId, TraceId};
    use opentelemetry_sdk::propagation::BaggagePropagator;

    use super::*;

    /// `inject` writes what the SDK's propagators, composed as `init` installs them, write,
    /// except an empty `tracestate`.
    #[test]
    fn inject_writes_what_the_sdks_propagators_write() {
        let context = |flags, state: &str| {
            SpanContext::new(
                TraceId::from(0x4bf92f3577b34da6a3ce929d0e0e4736_u128),
                SpanId::from(0x00f067aa0ba902b7_u64),
                flags,
                true,
                state.parse::<TraceState>().unwrap(),
            )
        };
        let entry = |key: &str, value: &str, metadata: &str| {
            KeyValueMetadata::new(key.to_owned(), value.to_owned(), BaggageMetadata::from(metadata))
        };
        let baggage = [
            entry(crate::CORRELATION_ID_KEY, "req-42_a.b:c", ""),
            entry("user.note", " needs encoding: space, comma; semicolon=equals % é \" \t\u{7f} ", ""),
            entry("with.metadata", "v", " prop1=1;prop2 "),
            entry("empty", "", ""),
        ];
        let cases = [
            opentelemetry::Context::new().with_remote_span_context(context(TraceFlags::SAMPLED, "")),
            opentelemetry::Context::new().with_remote_span_context(context(TraceFlags::default(), "v=1,w=2")),
            // Flags beyond `sampled`: not passed on.
            opentelemetry::Context::new().with_remote_span_context(context(TraceFlags::new(0xff), "")),
            opentelemetry::Context::new()
                .with_remote_span_context(context(TraceFlags::SAMPLED, "skein=t61rcWkgMzE"))
                .with_baggage(baggage.clone()),
            // No valid span: only the baggage, if any.
            opentelemetry::Context::new().with_baggage(baggage),
            opentelemetry::Context::new(),
        ];
        let sdk = TextMapCompositePropagator::new(vec![
            Box::new(TraceContextPropagator::new()),
            Box::new(BaggagePropagator::new()),
        ]);
        let mut encoded = false;
        for cx in cases {
            let mut expected = HashMap::new();
            sdk.inject_context(&cx, &mut expected);
            if expected.get("tracestate").is_some_and(String::is_empty) {
                expected.remove("tracestate");
            }
            let mut headers = awc::http::header::HeaderMap::new();
            inject(&cx, &mut headers);
            let written: HashMap<String, String> = headers
                .iter()
                .map(|(name, value)| (name.as_str().to_owned(), value.to_str().unwrap().to_owned()))
                .collect();
            assert_eq!(written, expected, "for {cx:?}");
            encoded |= expected.get("baggage").is_some_and(|b| b.contains("%C3%A9") && b.contains("%7F"));
        }
        assert!(encoded, "a case exercised the percent-encoding (the SDK kept the odd values)");
        let mut headers = awc::http::header::HeaderMap::new();
        inject(
            &opentelemetry::Context::new().with_remote_span_context(context(TraceFlags::SAMPLED, "")),
            &mut headers,
        );
        assert!(headers.contains_key("traceparent") && !headers.contains_key("tracestate"), "{headers:?}");
    }

    /// `extract_baggage` reads what the SDK's `BaggagePropagator` reads: well-formed headers,
    /// odd spacing, properties, percent escapes (valid, broken, not UTF-8), members that are
    /// not `key=value`, invalid keys, repeated keys, and headers past the member and size limits.
    #[test]
    fn extract_baggage_reads_what_the_sdks_propagator_reads() {
        let many = (0..70).map(|i| format!("k{i}=v{i}")).collect::<Vec<_>>().join(",");
        let huge = format!("big={}", "x".repeat(8200));
        let just_fits = format!("big={}", "x".repeat(8192 - 4));
        let values = [
            "",
            "k=v",
            "correlation.id=abc,k=v%20w;meta",
            " k = v ,  k2=v2 ",
            "k=v;p1;p2=x",
            "k=v;;a; b ;",
            "k=v;",
            "k",
            "k=v=w",
            "=v",
            "k=",
            ",,k=v,,",
            "k%20x=v%2Cw",
            "k%3Dx=v%3B",
            "%FF=v",
            "k=%FF",
            "k=v;%FF;a",
            "k=v%",
            "k=v%2",
            "k=v%zz",
            "(bad)=v",
            "k@=v,good=1",
            "k=1,k=2",
            "k=caf%C3%A9,city=M%C3%BCnchen",
            &many,
            &huge,
            &just_fits,
        ];
        let sdk = BaggagePropagator::new();
        let entries = |baggage: &Baggage| {
            let mut entries: Vec<String> =
                baggage.iter().map(|(k, (v, m))| format!("{k}={v};{}", m.as_str())).collect();
            entries.sort();
            entries
        };
        for value in values {
            let mut headers = HeaderMap::new();
            headers.insert(BAGGAGE, HeaderValue::from_str(value).unwrap());
            let theirs = sdk.extract_with_context(&opentelemetry::Context::new(), &HeaderExtractor(&headers));
            let ours = extract_baggage(&headers);
            assert_eq!(entries(&ours), entries(theirs.baggage()), "{value:?}");
        }
        let mut headers = HeaderMap::new();
        headers.insert(BAGGAGE, HeaderValue::from_static("k=v%20w;meta,other=1"));
        assert_eq!(
            entries(&extract_baggage(&headers)),
            ["k=v w;meta", "other=1;"],
            "the decoding is checked too"
        );
        assert!(extract_baggage(&HeaderMap::new()).is_empty());
    }

    /// `extract_trace` and `extract_baggage` read what the SDK's propagators, composed as `init`
    /// installs them, read: the canonical form and every one-character change of it, truncations,
    /// padding, other versions, zero ids, with and without a `tracestate`.
    #[test]
    fn extract_reads_what_the_sdks_propagators_read() {
        let canonical = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let mut values: Vec<String> = vec![
            canonical.into(),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00".into(),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-02".into(),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ff".into(),
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01".into(),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01".into(),
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into(),
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra".into(),
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into(),
            format!("{canonical}-"),
            format!("{canonical}0"),
            format!(" {canonical}"),
            format!("{canonical} "),
            String::new(),
        ];
        values.extend((0..canonical.len()).map(|end| canonical[..end].to_owned()));
        for at in 0..canonical.len() {
            for replacement in ['0', '9', 'a', 'f', 'A', 'F', 'g', '-', ' ', '+'] {
                let mut changed = canonical.to_owned();
                changed.replace_range(at..at + 1, &replacement.to_string());
                values.push(changed);
            }
        }
        let sdk = TextMapCompositePropagator::new(vec![
            Box::new(TraceContextPropagator::new()),
            Box::new(BaggagePropagator::new()),
        ]);
        let mut accepted = 0;
        for value in &values {
            for state in [None, Some("vendor=abc,other=1"), Some("not a valid state")] {
                let mut headers = HeaderMap::new();
                if let Ok(value) = HeaderValue::from_str(value) {
                    headers.insert(TRACEPARENT, value);
                }
                if let Some(state) = state {
                    headers.insert(TRACESTATE, HeaderValue::from_static(state));
                }
                headers.insert(BAGGAGE, HeaderValue::from_static("correlation.id=abc,k=v%20w;meta"));
                let ours = extract_trace(&headers).with_baggage(extract_baggage(&headers));
                let theirs =
                    sdk.extract_with_context(&opentelemetry::Context::new(), &HeaderExtractor(&headers));
                assert_eq!(ours.span().span_context(), theirs.span().span_context(), "{value:?} {state:?}");
                let entries = |cx: &opentelemetry::Context| {
                    let mut entries: Vec<String> =
                        cx.baggage().iter().map(|(k, (v, m))| format!("{k}={v};{}", m.as_str())).collect();
                    entries.sort();
                    entries
                };
                assert_eq!(entries(&ours), entries(&theirs), "{value:?}");
                accepted += usize::from(theirs.span().span_context().is_valid());
            }
        }
        assert!(accepted > 100, "the cases include many the SDK accepts: {accepted} of {}", values.len() * 3);
    }
}
