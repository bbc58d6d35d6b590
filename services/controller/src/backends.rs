//! The controller's calls to the telemetry stores behind the web page: Tempo (a trace by id),
//! Prometheus (the service graph's counters) and trace-view (both, without Docker). Traced
//! CLIENT spans like every other call, so the page's own requests show on the map too.

use actix_web::http::{Method, StatusCode};
use pkg_api::ApiError;
use pkg_tracing::{ClientError, ClientSettings, HttpReply, InternalClient};

use crate::settings::TelemetryBackends;

/// One per actix worker (awc clients are not `Send`).
pub struct Backends {
    pub tempo: Option<Backend>,
    pub prometheus: Option<Backend>,
    pub trace_view: Option<Backend>,
}

/// One store: its client, and the variable that named it (for error messages).
pub struct Backend {
    client: InternalClient,
    variable: &'static str,
}

impl Backends {
    pub fn new(settings: &TelemetryBackends) -> Self {
        // The page waits on these: fail fast rather than hang a browser tab.
        let client =
            ClientSettings { timeout: std::time::Duration::from_secs(10), ..ClientSettings::default() };
        let make = |peer: &str, variable: &'static str, url: &Option<String>| {
            url.as_deref().map(|url| Backend { client: InternalClient::new(peer, url, &client), variable })
        };
        Self {
            tempo: make("tempo", "TEMPO_URL", &settings.tempo_url),
            prometheus: make("prometheus", "PROMETHEUS_URL", &settings.prometheus_url),
            trace_view: make("trace-view", "TRACE_VIEW_URL", &settings.trace_view_url),
        }
    }
}

impl Backend {
    /// `GET {base}{path}`; `route` names the span. A reply that is not 2xx is returned as is;
    /// no reply at all becomes the 503/504/502 the page shows, naming the store and the cause.
    pub async fn get(&self, route: &str, path: &str) -> Result<HttpReply, ApiError> {
        let peer = self.client.peer_service();
        self.client.send(Method::GET, route, path, None).await.map_err(|e| {
            let (status, kind) = match e {
                ClientError::Connect { .. } => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
                ClientError::Timeout { .. } => (StatusCode::GATEWAY_TIMEOUT, "timeout"),
                _ => (StatusCode::BAD_GATEWAY, "error"),
            };
            ApiError::new(
                status,
                format!("{}_{kind}", peer.replace('-', "_")),
                format!("{peer} ({}) did not answer: {e}.", self.variable),
            )
        })
    }

    /// A reply that is neither success nor an expected status, as a 502 naming the store.
    pub fn unexpected(&self, reply: &HttpReply) -> ApiError {
        let peer = self.client.peer_service();
        let text = String::from_utf8_lossy(&reply.body);
        let text: String = text.trim().chars().take(200).collect();
        ApiError::new(
            StatusCode::BAD_GATEWAY,
            format!("{}_error", peer.replace('-', "_")),
            format!("{peer} ({}) answered {}: {text}", self.variable, reply.status),
        )
    }

    /// A 2xx body that is not what the store should send.
    pub fn unreadable(&self, what: impl std::fmt::Display) -> ApiError {
        let peer = self.client.peer_service();
        ApiError::new(
            StatusCode::BAD_GATEWAY,
            format!("{}_error", peer.replace('-', "_")),
            format!("{peer} ({}) sent an unreadable answer: {what}.", self.variable),
        )
    }
}

/// The 503 of an endpoint whose store is not configured.
pub fn not_configured(what: &str, variables: &str) -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "backend_not_configured",
        format!("{what} needs {variables} to be set on the controller; it is not."),
    )
}
