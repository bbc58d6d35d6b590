//! The analyzer's API tests: the real app on an ephemeral port, spans to an in-process collector.

mod analyze;
mod events;
mod golden;
mod helpers;
mod limits;
mod metrics;
mod openapi;
