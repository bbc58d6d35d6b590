//! A per-layer filter that is asked about every span and event, never answered from the
//! callsite cache.
//!
//! Why: tracing-subscriber hands a per-layer filter's verdict from `enabled()` to the layer in a
//! thread-local. When every filter tells a callsite "always", the `tracing` macros skip
//! `enabled()` for it, and the layer reads whatever the previous `enabled()` call on that thread
//! left behind. `log::log_enabled!` through tracing-log is such a call with nothing after it:
//! sqlx makes one after every query, and on PostgreSQL (whose queries run on the caller's
//! thread, unlike SQLite's worker thread) the next span — a job's `job.run`, the client span of
//! the following HTTP call — silently vanished from both the export and the logs
//! (tokio-rs/tracing#2519, fix proposed upstream in #3572). Capping the cached interest at
//! "sometimes" makes every span and event ask `enabled()` first, so the verdict is always its
//! own; "never" stays cached, so what is filtered out still costs nothing.

use tracing::Metadata;
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing_subscriber::layer::{Context, Filter};

pub(crate) struct AskEveryTime<F>(pub(crate) F);

impl<S, F: Filter<S>> Filter<S> for AskEveryTime<F> {
    fn enabled(&self, meta: &Metadata<'_>, cx: &Context<'_, S>) -> bool {
        self.0.enabled(meta, cx)
    }

    fn callsite_enabled(&self, meta: &'static Metadata<'static>) -> Interest {
        let interest = self.0.callsite_enabled(meta);
        if interest.is_never() { interest } else { Interest::sometimes() }
    }

    fn event_enabled(&self, event: &tracing::Event<'_>, cx: &Context<'_, S>) -> bool {
        self.0.event_enabled(event, cx)
    }

    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        self.0.max_level_hint()
    }

    // Span-aware filters (EnvFilter's `[span]` directives) track spans through these.
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, cx: Context<'_, S>) {
        self.0.on_new_span(attrs, id, cx);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, cx: Context<'_, S>) {
        self.0.on_record(id, values, cx);
    }

    fn on_enter(&self, id: &Id, cx: Context<'_, S>) {
        self.0.on_enter(id, cx);
    }

    fn on_exit(&self, id: &Id, cx: Context<'_, S>) {
        self.0.on_exit(id, cx);
    }

    fn on_close(&self, id: Id, cx: Context<'_, S>) {
        self.0.on_close(id, cx);
    }
}
