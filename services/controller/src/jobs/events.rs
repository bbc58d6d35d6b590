//! Job progress as events: what `GET /api/v1/jobs/{id}/events` streams.

use serde::Serialize;

use crate::store::Job;

#[derive(Debug, Clone, Serialize)]
pub struct JobEvent {
    pub job_id: String,
    /// `queued`, `running`, `scraping`, `analyzing`, `storing`, `retry_scheduled`,
    /// `succeeded`, `failed` or `cancelled`.
    pub stage: String,
    pub attempt: i64,
    pub at: String,
    /// The error of a failed attempt, the document of a success.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<serde_json::Value>,
    /// True for the last event of a job.
    #[serde(rename = "final")]
    pub is_final: bool,
}

impl JobEvent {
    /// The job's current status as an event.
    pub fn status(job: &Job) -> Self {
        let detail = match (&job.error_code, &job.error_message, &job.document_id) {
            (_, _, Some(document)) => Some(serde_json::json!({ "document_id": document })),
            (Some(code), Some(message), None) => {
                Some(serde_json::json!({ "code": code, "message": message }))
            }
            _ => None,
        };
        let stage =
            if job.status == "queued" && job.attempts > 0 { "retry_scheduled" } else { job.status.as_str() };
        JobEvent {
            job_id: job.id.clone(),
            stage: stage.to_owned(),
            attempt: job.attempts,
            at: job.updated_at.clone(),
            detail,
            is_final: job.status().is_final(),
        }
    }

    /// A pipeline stage of a running attempt.
    pub fn stage(job: &Job, stage: &str) -> Self {
        JobEvent {
            job_id: job.id.clone(),
            stage: stage.to_owned(),
            attempt: job.attempts,
            at: pkg_service::time::now(),
            detail: None,
            is_final: false,
        }
    }
}
