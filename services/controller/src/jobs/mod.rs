//! Queued scrape jobs: submission, the worker pool, and the event stream of their progress.

mod events;
mod worker;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{Notify, broadcast};

pub use events::JobEvent;
pub use worker::{WorkerPool, WorkerSettings};

use crate::store::{Job, NewJob, Store, Submitted};

/// Hands new jobs to the workers and job events to listeners. Cheap to clone.
#[derive(Clone)]
pub struct JobQueue {
    store: Store,
    wake: Arc<Notify>,
    events: broadcast::Sender<JobEvent>,
    /// The latest event of each unfinished job: the row knows `running`, this knows the stage,
    /// so a listener who joins late starts from where the job really is.
    latest: Arc<Mutex<HashMap<String, JobEvent>>>,
}

impl JobQueue {
    pub fn new(store: Store) -> Self {
        Self {
            store,
            wake: Arc::new(Notify::new()),
            events: broadcast::channel(1024).0,
            latest: Arc::default(),
        }
    }

    /// Stores a queued job that remembers the current span (`traceparent`, `tracestate`,
    /// `baggage`), so the worker that runs it later, in this process or another, continues
    /// this trace rather than starting a new one. With an idempotency key already used, the
    /// job stored then is returned instead.
    pub async fn submit(
        &self,
        url: &str,
        force: bool,
        max_attempts: u32,
        idempotency_key: Option<&str>,
    ) -> Result<Submitted, sqlx::Error> {
        let mut context = pkg_tracing::current_context_headers();
        let submitted = self
            .store
            .insert_job(NewJob {
                url,
                force,
                max_attempts,
                traceparent: context.remove("traceparent"),
                tracestate: context.remove("tracestate").filter(|s| !s.is_empty()),
                baggage: context.remove("baggage"),
                idempotency_key,
            })
            .await?;
        if let Submitted::Created(job) = &submitted {
            self.publish(JobEvent::status(job));
            // One waiting worker is enough: it takes the job.
            self.wake.notify_one();
        }
        Ok(submitted)
    }

    pub fn subscribe(&self) -> broadcast::Receiver<JobEvent> {
        self.events.subscribe()
    }

    pub fn publish(&self, event: JobEvent) {
        {
            let mut latest = self.latest.lock().unwrap_or_else(|p| p.into_inner());
            if event.is_final {
                latest.remove(&event.job_id);
            } else {
                latest.insert(event.job_id.clone(), event.clone());
            }
        }
        // No listener is fine: events are a view, the job row is the record.
        let _ = self.events.send(event);
    }

    /// Where the job is now: its latest event if it is in progress, else its row's status.
    pub fn current(&self, job: &Job) -> JobEvent {
        let latest = self.latest.lock().unwrap_or_else(|p| p.into_inner());
        match latest.get(&job.id) {
            Some(event) if !job.status().is_final() => event.clone(),
            _ => JobEvent::status(job),
        }
    }
}
