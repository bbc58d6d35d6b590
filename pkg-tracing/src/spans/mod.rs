//! Skein's spans: `tracing` spans recorded as OpenTelemetry spans and encoded as OTLP where they
//! end ([`layer`]), with the ids ([`ids`]) and sampling decisions ([`sampler`]) the SDK would
//! give them, and [`SpanExt`] for what code adds to a span after making it.

mod callsite;
mod ext;
mod ids;
mod layer;
pub(crate) mod record;
mod sampler;
mod sink;

pub use ext::{SetParentError, SpanExt};
pub(crate) use layer::SpanLayer;
pub(crate) use sink::SpanSink;

#[cfg(all(test, feature = "harness"))]
mod tests;
