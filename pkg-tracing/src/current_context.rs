//! Which OpenTelemetry context is current: the one of the innermost entered span that the span
//! layer records.
//!
//! Entering a span does not make its context `opentelemetry::Context::current()` (that would
//! cost a context clone, a thread-local push and a pop on every poll of every instrumented
//! future). What needs the current trace (log lines, the correlation id, the trace id a handler
//! stores) asks here instead, at the rare moments it does.

use std::sync::{Arc, OnceLock};

use tracing::dispatcher::WeakDispatch;
use tracing::{Dispatch, Subscriber};
use tracing_subscriber::registry::{LookupSpan, Registry};

use crate::spans::record::SpanRecord;

/// The innermost entered span that has a context, under `dispatch`: its name and context. Spans
/// the span layer does not record (the transport's, filtered out) are skipped for their
/// parents; so are none that RUST_LOG leaves out of the logs. `None` outside any traced span.
pub(crate) fn traced_span_in(dispatch: &Dispatch) -> Option<(&'static str, opentelemetry::Context)> {
    let registry = dispatch.downcast_ref::<Registry>()?;
    let current = registry.current_span();
    let span = registry.span(current.id()?)?;
    span.scope().find_map(|span| {
        let name = span.name();
        span.extensions().get::<SpanRecord>().map(|record| (name, record.context()))
    })
}

/// The current context under the thread's current subscriber; empty outside any traced span.
pub(crate) fn current() -> opentelemetry::Context {
    tracing::dispatcher::get_default(traced_span_in).map(|(_, cx)| cx).unwrap_or_default()
}

/// The subscriber's own `Dispatch`, for code that runs inside the subscriber (the log line
/// formatter): there, asking for the thread's current dispatch answers "none" whenever a
/// scoped one is set. Kept weak: the subscriber holds this, and must not keep itself alive.
/// (A layer's `on_register_dispatch` would learn it too, but an unfiltered layer changes the
/// subscriber's callsite interest and level hint, and a filtered one adds a span lookup to
/// every enter and exit.)
#[derive(Debug, Clone, Default)]
pub(crate) struct OwnDispatch(Arc<OnceLock<WeakDispatch>>);

impl OwnDispatch {
    /// Remembers `dispatch`, the subscriber just installed.
    pub(crate) fn set(&self, dispatch: &Dispatch) {
        let _ = self.0.set(dispatch.downgrade());
    }

    /// The current traced span as [`traced_span_in`] the installed subscriber finds it.
    pub(crate) fn traced_span(&self) -> Option<(&'static str, opentelemetry::Context)> {
        traced_span_in(&self.0.get()?.upgrade()?)
    }
}
