//! The controller's calls to the telemetry stores behind the web page: Tempo (a trace by id),
//! Prometheus (the service graph's counters) and trace-view (both, without Docker). Traced
//! CLIENT spans like every other call, so the page's own requests show on the map too.

use actix_web::http::Method;
use pkg_api::{ApiError, ErrorCode};
use pkg_service::downstream::Callee;
use pkg_tracing::{ClientError, ClientSettings, HttpReply, InternalClient};

use crate::settings::TelemetryBackends;

/// One per actix worker (awc clients are not `Send`).
pub struct Backends {
    pub tempo: Option<Backend>,
    pub prometheus: Option<Backend>,
    pub trace_view: Option<Backend>,
}

/// One store: its client, the variable that named it (for error messages), and its codes.
pub struct Backend {
    client: InternalClient,
    variable: &'static str,
    callee: Callee,
}

const TEMPO: Callee = Callee {
    name: "tempo",
    unavailable: ErrorCode::TempoUnavailable,
    timeout: ErrorCode::TempoTimeout,
    error: ErrorCode::TempoError,
};
const PROMETHEUS: Callee = Callee {
    name: "prometheus",
    unavailable: ErrorCode::PrometheusUnavailable,
    timeout: ErrorCode::PrometheusTimeout,
    error: ErrorCode::PrometheusError,
};
const TRACE_VIEW: Callee = Callee {
    name: "trace-view",
    unavailable: ErrorCode::TraceViewUnavailable,
    timeout: ErrorCode::TraceViewTimeout,
    error: ErrorCode::TraceViewError,
};

impl Backends {
    pub fn new(settings: &TelemetryBackends) -> Self {
        // The page waits on these: fail fast rather than hang a browser tab.
        let client =
            ClientSettings { timeout: std::time::Duration::from_secs(10), ..ClientSettings::default() };
        let make = |callee: Callee, variable: &'static str, url: &Option<String>| {
            url.as_deref().map(|url| Backend {
                client: InternalClient::new(callee.name, url, &client),
                variable,
                callee,
            })
        };
        Self {
            tempo: make(TEMPO, "TEMPO_URL", &settings.tempo_url),
            prometheus: make(PROMETHEUS, "PROMETHEUS_URL", &settings.prometheus_url),
            trace_view: make(TRACE_VIEW, "TRACE_VIEW_URL", &settings.trace_view_url),
        }
    }
}

impl Backend {
    /// `GET {base}{path}`; `route` names the span. A reply that is not 2xx is returned as is;
    /// no reply at all becomes the 503/504/502 the page shows, naming the store and the cause.
    pub async fn get(&self, route: &str, path: &str) -> Result<HttpReply, ApiError> {
        let peer = self.client.peer_service();
        self.client.send(Method::GET, route, path, None).await.map_err(|e| {
            let code = match e {
                ClientError::Connect { .. } => self.callee.unavailable,
                ClientError::Timeout { .. } => self.callee.timeout,
                _ => self.callee.error,
            };
            ApiError::new(code, format!("{peer} ({}) did not answer: {e}.", self.variable))
        })
    }

    /// A reply that is neither success nor an expected status, as a 502 naming the store.
    pub fn unexpected(&self, reply: &HttpReply) -> ApiError {
        let peer = self.client.peer_service();
        let text = String::from_utf8_lossy(&reply.body);
        let text: String = text.trim().chars().take(200).collect();
        ApiError::new(
            self.callee.error,
            format!("{peer} ({}) answered {}: {text}", self.variable, reply.status),
        )
    }

    /// A 2xx body that is not what the store should send.
    pub fn unreadable(&self, what: impl std::fmt::Display) -> ApiError {
        let peer = self.client.peer_service();
        ApiError::new(
            self.callee.error,
            format!("{peer} ({}) sent an unreadable answer: {what}.", self.variable),
        )
    }
}

/// The 503 of an endpoint whose store is not configured.
pub fn not_configured(what: &str, variables: &str) -> ApiError {
    ApiError::new(
        ErrorCode::BackendNotConfigured,
        format!("{what} needs {variables} to be set on the controller; it is not."),
    )
}
