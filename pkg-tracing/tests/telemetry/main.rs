//! pkg-tracing's integration tests: real `trace-hop` processes export real OTLP spans to the
//! in-process collector, and every assertion is on what was exported or received on the wire.
//! One test binary for the crate (see STYLE.md).

mod filter_state;
mod helpers;
mod lifecycle;
mod propagation;
mod readme;
mod sampling;
