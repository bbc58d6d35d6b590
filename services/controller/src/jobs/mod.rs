//! Queued scrape jobs: submission, the worker pool, and the event stream of their progress.

mod events;
mod worker;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{Notify, broadcast};

pub use events::JobEvent;
pub use worker::{WorkerPool, WorkerSettings};

use crate::store::{Job, NewJob, Store};

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

    /// Stores a queued job that remembers the current span, so the worker that runs it later
    /// continues this trace rather than starting a new one.
    pub async fn submit(&self, url: &str, force: bool, max_attempts: u32) -> Result<Job, sqlx::Error> {
        let context = pkg_tracing::current_context_headers();
        let job = self
            .store
            .insert_job(NewJob {
                url,
                force,
                max_attempts,
                traceparent: context.get("traceparent").cloned(),
                baggage: context.get("baggage").cloned(),
            })
            .await?;
        self.publish(JobEvent::status(&job));
        // One waiting worker is enough: it takes the job.
        self.wake.notify_one();
        Ok(job)
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
