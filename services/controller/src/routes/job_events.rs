//! `GET /api/v1/jobs/{id}/events`: a job's progress as server-sent events, from its current
//! state to its final one.

use std::time::Duration;

use actix_web::web::Bytes;
use actix_web::{HttpResponse, web};
use pkg_api::ApiError;
use pkg_service::store_failure;
use tokio::sync::broadcast::{Receiver, error::RecvError};

use super::AppState;
use super::jobs::not_found;
use crate::jobs::JobEvent;
use crate::store::Store;
use pkg_api::parse_id;

/// One server-sent event, as documented: the stage as `event`, the job event as JSON `data`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct EventFrame {
    /// `queued`, `running`, `scraping`, `analyzing`, `storing`, `retry_scheduled`, `succeeded`,
    /// `failed` or `cancelled`.
    event: String,
    /// `{"job_id", "stage", "attempt", "at", "detail"?, "final"}`.
    data: String,
}

/// A comment line this often keeps proxies from closing a quiet stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

struct Feed {
    id: String,
    events: Receiver<JobEvent>,
    store: Store,
    next: Option<JobEvent>,
    finished: bool,
}

#[utoipa::path(
    get,
    path = "/api/v1/jobs/{id}/events",
    operation_id = "job_events",
    tag = "jobs",
    summary = "A job's progress as server-sent events, until its final state",
    params(("id" = uuid::Uuid, Path, description = "The job's id")),
    responses((status = 200, description = "`event: <stage>` frames whose `data` is a JSON job event; the stream ends after the final one",
        content_type = "text/event-stream", body = EventFrame))
)]
pub async fn stream(id: web::Path<String>, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id, "job")?;
    pkg_tracing::mark_current_span("job.id", id.clone());
    // Subscribe before reading the row, so no event falls between the two.
    let events = state.queue.subscribe();
    let job = state.store.job(&id).await.map_err(store_failure)?.ok_or_else(|| not_found(&id))?;
    let feed = Feed {
        id,
        events,
        store: state.store.clone(),
        next: Some(state.queue.current(&job)),
        finished: false,
    };
    let body = futures_util::stream::unfold(feed, |mut feed| async move {
        if feed.finished {
            return None;
        }
        let event = match feed.next.take() {
            Some(event) => event,
            None => match next_event(&mut feed).await? {
                Some(event) => event,
                None => {
                    return Some((Ok::<_, actix_web::Error>(Bytes::from_static(b": keep-alive\n\n")), feed));
                }
            },
        };
        feed.finished = event.is_final;
        Some((Ok(frame(&event)), feed))
    });
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("cache-control", "no-cache"))
        .streaming(body))
}

/// The next event of this job; `Some(None)` for a keep-alive, `None` when the queue is gone.
async fn next_event(feed: &mut Feed) -> Option<Option<JobEvent>> {
    loop {
        tokio::select! {
            received = feed.events.recv() => match received {
                Ok(event) if event.job_id == feed.id => return Some(Some(event)),
                Ok(_) => continue,
                // Too slow a reader missed events: the row has the truth.
                Err(RecvError::Lagged(_)) => match feed.store.job(&feed.id).await {
                    Ok(Some(job)) => return Some(Some(JobEvent::status(&job))),
                    _ => return None,
                },
                Err(RecvError::Closed) => return None,
            },
            _ = actix_web::rt::time::sleep(KEEP_ALIVE) => return Some(None),
        }
    }
}

fn frame(event: &JobEvent) -> Bytes {
    let data = serde_json::to_string(event).unwrap_or_else(|_| "{}".into());
    Bytes::from(format!("event: {}\ndata: {data}\n\n", event.stage))
}
