//! Fetching a page hop by hop: every hop is vetted by the guard and fetched at the vetted
//! address with the external client (a CLIENT span per hop, no trace headers sent).

use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_TYPE, LOCATION};
use actix_web::web::Bytes;
use pkg_tracing::{ClientError, ExternalClient};

use crate::guard::{DestinationGuard, GuardError, TargetUrl};

/// The final response of a fetch, after redirects.
#[derive(Debug)]
pub struct Fetched {
    pub final_url: TargetUrl,
    pub status: StatusCode,
    pub content_type: Option<String>,
    pub body: Bytes,
    pub fetch_ms: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error(transparent)]
    Guard(#[from] GuardError),
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("{url} redirected more than {max} times")]
    TooManyRedirects { url: String, max: usize },
    #[error("{url} answered {status} without a Location header")]
    RedirectWithoutLocation { url: String, status: u16 },
    #[error("did not finish within its {deadline_ms} ms deadline ({hops} requests made)")]
    Deadline { deadline_ms: u64, hops: usize },
}

/// Fetches through the guard. Built once per worker: the awc client inside is not `Send`.
pub struct Fetcher {
    client: ExternalClient,
    guard: DestinationGuard,
    max_redirects: usize,
    /// For all hops together (each hop also has the client's own timeout).
    deadline: Duration,
}

impl Fetcher {
    pub fn new(
        client: ExternalClient,
        guard: DestinationGuard,
        max_redirects: usize,
        deadline: Duration,
    ) -> Self {
        Self { client, guard, max_redirects, deadline }
    }

    /// Fetches `target`, following redirects, within the deadline: past it, the hop in flight
    /// is dropped (its connection closed) and the scrape fails as a timeout.
    pub async fn fetch(&self, target: TargetUrl) -> Result<Fetched, FetchError> {
        let hops = std::cell::Cell::new(0);
        actix_web::rt::time::timeout(self.deadline, self.follow(target, &hops)).await.unwrap_or_else(|_| {
            Err(FetchError::Deadline { deadline_ms: self.deadline.as_millis() as u64, hops: hops.get() })
        })
    }

    async fn follow(&self, target: TargetUrl, hops: &std::cell::Cell<usize>) -> Result<Fetched, FetchError> {
        let started = Instant::now();
        let mut current = target;
        let mut redirects = 0;
        loop {
            hops.set(hops.get() + 1);
            let address = self.guard.vet(&current).await?;
            let reply = self.client.get(current.as_str(), Some(address)).await?;
            if reply.status.is_redirection() && reply.status != StatusCode::NOT_MODIFIED {
                let location =
                    reply.headers.get(LOCATION).and_then(|v| v.to_str().ok()).ok_or_else(|| {
                        FetchError::RedirectWithoutLocation {
                            url: current.to_string(),
                            status: reply.status.as_u16(),
                        }
                    })?;
                if redirects == self.max_redirects {
                    return Err(FetchError::TooManyRedirects {
                        url: current.to_string(),
                        max: self.max_redirects,
                    });
                }
                redirects += 1;
                tracing::info!(
                    from = %pkg_tracing::redact_url_str(current.as_str()),
                    to = %pkg_tracing::redact_url_str(location),
                    "following redirect"
                );
                current = current.join(location)?;
                continue;
            }
            let fetched = Fetched {
                final_url: current,
                status: reply.status,
                content_type: reply
                    .headers
                    .get(CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned),
                body: reply.body,
                fetch_ms: started.elapsed().as_millis() as u64,
            };
            // A milestone on the request's span: the media type without its parameters, and
            // no URL (the scraped host is `url.domain` on the span already).
            tracing::event!(
                name: "page.fetched", tracing::Level::INFO,
                http.response.status_code = i64::from(fetched.status.as_u16()),
                http.response.body.size = fetched.body.len() as i64,
                page.content_type = fetched.content_type.as_deref().map_or("", media_type),
                page.redirects = redirects as i64,
            );
            return Ok(fetched);
        }
    }
}

/// `text/html` of `text/html; charset=utf-8`.
fn media_type(content_type: &str) -> &str {
    content_type.split(';').next().unwrap_or_default().trim()
}
