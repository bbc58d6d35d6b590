//! The attributes every span or event of a callsite carries, the same each time: where in the
//! code it was written, its target, and an event's level. Encoded once per callsite and thread,
//! then copied; writing them attribute by attribute was a third of recording a milestone.

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::otlp::attributes::{AttributeValue, put_attribute};

/// `Span.attributes` and `Event.attributes`: the field numbers attributes are written under.
pub(crate) const SPAN_ATTRIBUTES: u32 = 9;
pub(crate) const EVENT_ATTRIBUTES: u32 = 3;

/// A callsite's fixed attributes as OTLP `KeyValue` fields, and how many there are of each.
/// A span's all come before its own fields, as tracing-opentelemetry wrote them: code location,
/// then `target`. An event's `level` and `target` come before its fields, its code location
/// after them.
pub(crate) struct CallsiteAttributes {
    pub(crate) before: Box<[u8]>,
    pub(crate) before_count: u32,
    pub(crate) after: Box<[u8]>,
    pub(crate) after_count: u32,
}

impl CallsiteAttributes {
    fn of(meta: &'static tracing::Metadata<'static>) -> Self {
        let (mut before, mut after) = (Encoded::default(), Encoded::default());
        if meta.is_span() {
            code_location(meta, |key, value| before.put(SPAN_ATTRIBUTES, key, value));
            before.put(SPAN_ATTRIBUTES, "target", AttributeValue::Str(meta.target()));
        } else {
            before.put(EVENT_ATTRIBUTES, "level", AttributeValue::Str(meta.level().as_str()));
            before.put(EVENT_ATTRIBUTES, "target", AttributeValue::Str(meta.target()));
            code_location(meta, |key, value| after.put(EVENT_ATTRIBUTES, key, value));
        }
        Self {
            before: before.bytes.into(),
            before_count: before.count,
            after: after.bytes.into(),
            after_count: after.count,
        }
    }
}

/// Attributes being encoded, and how many.
#[derive(Default)]
struct Encoded {
    bytes: Vec<u8>,
    count: u32,
}

impl Encoded {
    fn put(&mut self, field: u32, key: &str, value: AttributeValue<'_>) {
        put_attribute(&mut self.bytes, field, key, value);
        self.count += 1;
    }
}

/// `code.file.path`, `code.module.name` and `code.line.number`, those the metadata has.
pub(crate) fn code_location(
    meta: &tracing::Metadata<'_>,
    mut attribute: impl FnMut(&str, AttributeValue<'_>),
) {
    if let Some(file) = meta.file() {
        attribute("code.file.path", AttributeValue::Str(file));
    }
    if let Some(module) = meta.module_path() {
        attribute("code.module.name", AttributeValue::Str(module));
    }
    if let Some(line) = meta.line() {
        attribute("code.line.number", AttributeValue::I64(line.into()));
    }
}

/// Calls `f` with `meta`'s fixed attributes, from this thread's cache (made on first use).
pub(crate) fn with_callsite_attributes<R>(
    meta: &'static tracing::Metadata<'static>,
    f: impl FnOnce(&CallsiteAttributes) -> R,
) -> R {
    CALLSITE_ATTRIBUTES.with(|cache| match cache.try_borrow_mut() {
        Ok(mut cache) => {
            f(cache.entry(std::ptr::from_ref(meta) as usize).or_insert_with(|| CallsiteAttributes::of(meta)))
        }
        // Recording from inside a `Debug` impl that records a field itself: encoded afresh.
        Err(_) => f(&CallsiteAttributes::of(meta)),
    })
}

type CallsiteMap = HashMap<usize, CallsiteAttributes, BuildHasherDefault<AddressHasher>>;

thread_local! {
    /// Each callsite's fixed attributes, by the address of its (static) metadata.
    static CALLSITE_ATTRIBUTES: RefCell<CallsiteMap> = RefCell::new(HashMap::default());
}

/// Hashes an address (a callsite's metadata) with one multiplication: the keys are few,
/// distinct and not chosen by anyone.
#[derive(Default)]
struct AddressHasher(u64);

impl Hasher for AddressHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0 << 8 | u64::from(byte)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn write_usize(&mut self, address: usize) {
        self.0 = (address as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}
