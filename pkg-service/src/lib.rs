//! The start-up every Skein service shares, so the four read alike:
//!
//! * [`Env`] / [`FromEnv`] — typed settings parsed once from the environment; the same code
//!   that parses them documents them for `--help`, so the two never drift apart.
//! * [`run`] — the whole `main`: `--help`, settings, telemetry, the actix runtime, and a
//!   telemetry shutdown (flush) on every exit path.
//! * [`cpu_limit`] — a semaphore on CPU-bound work in flight; 503 `overloaded` with
//!   `Retry-After` past a deadline, instead of an endless queue.
//! * [`downstream`] — turning a call to another Skein service into a typed answer or the
//!   right error.
//! * [`faults`] — fault injection for demos (`FAULT_ERROR_RATE`, `FAULT_LATENCY_MS`,
//!   `PUT /admin/faults`).
//! * [`time`] — timestamps as Skein stores and serves them.
//! * [`wait`] — the idle wait of a background loop: a deadline, a wake-up or a stop.
//! * [`health`] — the liveness endpoint; [`readiness`] — the one shape of `/ready`'s answer.
//! * [`store_failure`] — a store error as a logged, bare 500.
//! * `sqlite` (feature) — opening a SQLite store with migrations, and the CLIENT spans that put
//!   the database on the service map.
//! * `postgres` (feature) — [`db`]: a store on SQLite or PostgreSQL, chosen by `DATABASE_URL`.

pub mod cpu_limit;
#[cfg(feature = "postgres")]
pub mod db;
#[cfg(feature = "sqlite")]
pub mod db_spans;
pub mod downstream;
mod env;
pub mod faults;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod readiness;
mod run;
#[cfg(feature = "sqlite")]
pub mod sqlite;
mod store_failure;
#[cfg(feature = "test-postgres")]
pub mod test_postgres;
pub mod time;
pub mod wait;

pub use env::{Env, FromEnv, SettingsError, VarDoc, help_text, load};
pub use run::run;
pub use store_failure::store_failure;

/// `GET /health`: the process is up and serving. Readiness (`/ready`) is each service's own.
pub async fn health() -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}
