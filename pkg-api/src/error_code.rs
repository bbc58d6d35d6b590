//! Every error code a Skein service can answer with, its HTTP status and what it means: the one
//! table clients, the OpenAPI documents and the README read. A service names a code only through
//! [`ErrorCode`], so a code outside this table cannot be sent.

use std::fmt;

use actix_web::http::StatusCode;

macro_rules! error_codes {
    ($($variant:ident = $code:literal, $status:literal, $meaning:literal;)+) => {
        /// A stable, machine-readable error code with its status (see the module docs).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ErrorCode {
            $(#[doc = $meaning] $variant,)+
        }

        impl ErrorCode {
            /// The whole table, in the order written.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)+];

            /// The snake_case code sent in `{"error": {"code": …}}`.
            pub const fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $code,)+ }
            }

            /// The HTTP status every response with this code has.
            pub fn status(self) -> StatusCode {
                let status = match self { $(ErrorCode::$variant => $status,)+ };
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }

            /// One line for people: when a service answers with this code.
            pub const fn meaning(self) -> &'static str {
                match self { $(ErrorCode::$variant => $meaning,)+ }
            }

            /// The Rust name (`InvalidUrl`), which the reachability test looks for in sources.
            pub const fn variant_name(self) -> &'static str {
                match self { $(ErrorCode::$variant => stringify!($variant),)+ }
            }
        }
    };
}

error_codes! {
    // Any service, any request.
    InvalidJson = "invalid_json", 400, "The body is not valid JSON.";
    InvalidRequest = "invalid_request", 400, "The JSON body does not fit the operation's schema (a field missing, unknown or of the wrong type).";
    InvalidBody = "invalid_body", 400, "The body could not be read.";
    InvalidPath = "invalid_path", 400, "A path segment is malformed.";
    InvalidQuery = "invalid_query", 400, "The query string is malformed, has an unknown parameter, or combines parameters the operation does not take.";
    InvalidId = "invalid_id", 400, "A path id is not a UUID.";
    PayloadTooLarge = "payload_too_large", 413, "The request body exceeds the service's limit.";
    UnsupportedMediaType = "unsupported_media_type", 415, "The body must be JSON with Content-Type: application/json.";
    RouteNotFound = "route_not_found", 404, "No operation has this path.";
    MethodNotAllowed = "method_not_allowed", 405, "The path has operations, but not for this method; the Allow header lists them.";
    InternalError = "internal_error", 500, "The service hit an unexpected error; the trace id in the traceresponse header locates it.";
    NotReady = "not_ready", 503, "A dependency of the service (its store, a callee) is not reachable yet.";
    Overloaded = "overloaded", 503, "Too much CPU-bound work is in flight; retry after the Retry-After header's seconds.";
    FaultInjected = "fault_injected", 503, "A failure injected on purpose (FAULT_ERROR_RATE or PUT /admin/faults).";
    AdminDisabled = "admin_disabled", 404, "The admin API is off: ADMIN_TOKEN is not set.";
    Unauthorized = "unauthorized", 401, "The admin API needs the header Authorization: Bearer followed by ADMIN_TOKEN.";
    InvalidFault = "invalid_fault", 400, "A fault setting is out of range.";
    // The controller.
    InvalidUrl = "invalid_url", 400, "The URL is not an absolute http(s) URL with a host.";
    InvalidCursor = "invalid_cursor", 400, "The cursor is not one this API gave out.";
    InvalidLimit = "invalid_limit", 400, "limit is outside 1..100.";
    InvalidStatus = "invalid_status", 400, "status is not a job status.";
    InvalidIdempotencyKey = "invalid_idempotency_key", 400, "The Idempotency-Key header is not 1 to 200 visible ASCII characters.";
    IdempotencyKeyReused = "idempotency_key_reused", 409, "The Idempotency-Key was used before with a different order.";
    JobNotFound = "job_not_found", 404, "There is no job with this id.";
    JobNotCancellable = "job_not_cancellable", 409, "Only a queued job can be cancelled; this one has started.";
    DocumentNotFound = "document_not_found", 404, "There is no document with this id.";
    ScraperUnavailable = "scraper_unavailable", 503, "The scraper is unreachable.";
    ScraperTimeout = "scraper_timeout", 504, "The scraper did not answer in time.";
    ScraperError = "scraper_error", 502, "The scraper failed on its own (a 5xx, an unreadable or unknown answer).";
    AnalyzerUnavailable = "analyzer_unavailable", 503, "The analyzer is unreachable.";
    AnalyzerTimeout = "analyzer_timeout", 504, "The analyzer did not answer in time.";
    AnalyzerError = "analyzer_error", 502, "The analyzer failed on its own (a 5xx, an unreadable or unknown answer).";
    // The scraper (the controller passes these through).
    DestinationBlocked = "destination_blocked", 403, "The URL's destination is a private, loopback or otherwise blocked address.";
    PageTooLarge = "page_too_large", 413, "The page is larger than the scraper reads.";
    NotHtml = "not_html", 415, "The URL is not an HTML page.";
    PageTooComplex = "page_too_complex", 422, "The page nests elements too deeply to be processed.";
    UpstreamError = "upstream_error", 502, "The site could not be fetched or answered with an error status.";
    UpstreamTimeout = "upstream_timeout", 504, "The site did not answer in time.";
    // The analyzer.
    TextTooLarge = "text_too_large", 413, "The text exceeds the analyzer's limit.";
    WarmingUp = "warming_up", 503, "The analyzer is still loading its lexicons.";
    // The scheduler.
    InvalidName = "invalid_name", 400, "A schedule name is 1 to 100 printable characters.";
    InvalidCron = "invalid_cron", 400, "The cron expression is invalid or never fires.";
    InvalidTimezone = "invalid_timezone", 400, "The time zone is not an IANA name.";
    InvalidVersion = "invalid_version", 400, "version is only sent with PUT.";
    ScheduleNotFound = "schedule_not_found", 404, "There is no schedule with this id.";
    ScheduleNameTaken = "schedule_name_taken", 409, "Another schedule has this name.";
    Conflict = "conflict", 409, "The schedule changed since the version sent was read.";
    ControllerUnavailable = "controller_unavailable", 503, "The controller is unreachable.";
    ControllerTimeout = "controller_timeout", 504, "The controller did not answer in time.";
    ControllerError = "controller_error", 502, "The controller failed on its own (a 5xx, an unreadable or unknown answer).";
    // The controller's web page: traces and the service map from the telemetry stores.
    InvalidTraceId = "invalid_trace_id", 400, "A trace id is 32 hexadecimal digits, not all zero.";
    TraceNotFound = "trace_not_found", 404, "The trace store has no trace with this id (yet: spans arrive seconds after a request ends).";
    InvalidWindow = "invalid_window", 400, "minutes is outside 1..60.";
    BackendNotConfigured = "backend_not_configured", 503, "The controller has no TEMPO_URL (traces) or PROMETHEUS_URL / TRACE_VIEW_URL (the service map) to read from.";
    TempoUnavailable = "tempo_unavailable", 503, "Tempo (TEMPO_URL) is unreachable.";
    TempoTimeout = "tempo_timeout", 504, "Tempo (TEMPO_URL) did not answer in time.";
    TempoError = "tempo_error", 502, "Tempo (TEMPO_URL) failed or sent an unreadable answer.";
    PrometheusUnavailable = "prometheus_unavailable", 503, "Prometheus (PROMETHEUS_URL) is unreachable.";
    PrometheusTimeout = "prometheus_timeout", 504, "Prometheus (PROMETHEUS_URL) did not answer in time.";
    PrometheusError = "prometheus_error", 502, "Prometheus (PROMETHEUS_URL) failed or sent an unreadable answer.";
    TraceViewUnavailable = "trace_view_unavailable", 503, "trace-view (TRACE_VIEW_URL) is unreachable.";
    TraceViewTimeout = "trace_view_timeout", 504, "trace-view (TRACE_VIEW_URL) did not answer in time.";
    TraceViewError = "trace_view_error", 502, "trace-view (TRACE_VIEW_URL) failed or sent an unreadable answer.";
}

impl ErrorCode {
    /// The code named `code` on the wire, if the table has it.
    pub fn from_code(code: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.iter().copied().find(|c| c.as_str() == code)
    }

    /// The table as Markdown (code, status, meaning), as the README shows it.
    pub fn markdown_table() -> String {
        let mut table = String::from("| code | status | meaning |\n| --- | --- | --- |\n");
        for code in ErrorCode::ALL {
            table.push_str(&format!(
                "| `{}` | {} | {} |\n",
                code.as_str(),
                code.status().as_u16(),
                code.meaning()
            ));
        }
        table
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Lets tests compare a code with its wire name: `assert_eq!(error.error_code(), "invalid_url")`.
impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::ErrorCode;

    #[test]
    fn codes_are_unique_snake_case_with_an_error_status_and_a_meaning() {
        let mut seen = HashSet::new();
        for code in ErrorCode::ALL {
            let s = code.as_str();
            assert!(seen.insert(s), "{s} twice");
            assert!(
                !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{s} is not snake_case"
            );
            assert!(code.status().is_client_error() || code.status().is_server_error(), "{s}");
            assert!(code.meaning().ends_with('.'), "{s}: a sentence");
            assert_eq!(ErrorCode::from_code(s), Some(*code));
        }
        assert_eq!(ErrorCode::from_code("made_up"), None);
    }
}
