//! Client side: two awc clients with CLIENT spans.
//!
//! * [`InternalClient`] calls another Skein service: it injects `traceparent` + `baggage` and the
//!   correlation id, and names the callee in `peer.service`, so the callee's SERVER span pairs
//!   with this CLIENT span into a service-graph edge.
//! * [`ExternalClient`] calls the outside world: it injects nothing (trace context is never
//!   leaked to third parties) and names the site in `peer.service`, so Tempo draws it as a
//!   virtual node: hosts on a configured list by their name, every other host as
//!   [`EXTERNAL_SITE`] (whoever submits URLs must not be able to mint service-graph nodes).
//!
//! Both set `service.peer.name` (current semantic conventions) next to `peer.service` (the
//! deprecated key that Tempo's default `peer_attributes` still read).
//!
//! awc clients are not `Send`: build one per actix worker (in the `HttpServer::new` factory)
//! and share it through app data, never one per request.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use crate::SpanExt as _;
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode, Uri};
use actix_web::web::Bytes;
use awc::error::{ConnectError, PayloadError, SendRequestError};
use opentelemetry::baggage::BaggageExt as _;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::Instrument;
use tracing::field::Empty;

use crate::metrics::{ClientLabels, EXTERNAL_PEER, HttpClientMetrics, TraceExemplar};
use crate::middleware::{CORRELATION_ID_HEADER, CORRELATION_ID_KEY};
use crate::propagation;

/// Limits for one client; every outgoing call has a timeout.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    pub connect_timeout: Duration,
    /// From sending the request to the last byte of the body.
    pub timeout: Duration,
    /// The largest response body read; larger is [`ClientError::TooLarge`].
    pub max_body: usize,
}

impl Default for ClientSettings {
    fn default() -> Self {
        Self { connect_timeout: Duration::from_secs(2), timeout: Duration::from_secs(30), max_body: 8 << 20 }
    }
}

/// A whole response: status, headers and the body read up to the limit.
#[derive(Debug, Clone)]
pub struct HttpReply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl HttpReply {
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }
}

/// Why a call produced no response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    #[error("could not connect to {target}: {message}")]
    Connect { target: String, message: String },
    #[error("{target} did not answer within {timeout_ms} ms")]
    Timeout { target: String, timeout_ms: u64 },
    #[error("the response from {target} is larger than {limit} bytes")]
    TooLarge { target: String, limit: usize },
    #[error("the call to {target} failed: {message}")]
    Failed { target: String, message: String },
}

impl ClientError {
    /// A short, stable name for `error.type` on spans and `code` in error bodies.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Connect { .. } => "connect_error",
            Self::Timeout { .. } => "timeout",
            Self::TooLarge { .. } => "response_too_large",
            Self::Failed { .. } => "request_failed",
        }
    }
}

/// Calls one other Skein service at `base_url`, propagating the trace.
pub struct InternalClient {
    client: awc::Client,
    base_url: String,
    peer_service: String,
    settings: ClientSettings,
    metrics: Option<HttpClientMetrics>,
}

impl InternalClient {
    /// `peer_service` is the callee's `service.name`, e.g. `scraper`.
    pub fn new(peer_service: &str, base_url: &str, settings: &ClientSettings) -> Self {
        Self {
            client: build_client(settings),
            base_url: base_url.trim_end_matches('/').to_owned(),
            peer_service: peer_service.to_owned(),
            settings: settings.clone(),
            metrics: None,
        }
    }

    /// Records every call in `http_client_request_duration_seconds` (peer = the callee).
    pub fn with_metrics(mut self, metrics: HttpClientMetrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    pub fn peer_service(&self) -> &str {
        &self.peer_service
    }

    /// `POST {base_url}{route}` with a JSON body. `route` is a fixed path (it names the span).
    pub async fn post_json<T: Serialize>(
        &self,
        route: &'static str,
        body: &T,
    ) -> Result<HttpReply, ClientError> {
        let body = serde_json::to_vec(body).map_err(|e| ClientError::Failed {
            target: self.peer_service.clone(),
            message: format!("could not encode the request body: {e}"),
        })?;
        self.send(Method::POST, route, route, Some(Bytes::from(body))).await
    }

    /// `POST {base_url}{route}` with a JSON body and extra request headers (such as
    /// `Idempotency-Key`). Headers that are not valid HTTP are not sent.
    pub async fn post_json_with_headers<T: Serialize>(
        &self,
        route: &'static str,
        body: &T,
        headers: &[(&'static str, String)],
    ) -> Result<HttpReply, ClientError> {
        let body = serde_json::to_vec(body).map_err(|e| ClientError::Failed {
            target: self.peer_service.clone(),
            message: format!("could not encode the request body: {e}"),
        })?;
        let url = format!("{}{}", self.base_url, route);
        let call = Call {
            span_name: format!("{} {route}", Method::POST),
            peer_service: &self.peer_service,
            propagate: true,
            settings: &self.settings,
            connect_to: None,
            headers,
            metrics: self.metrics.as_ref(),
            metric_peer: &self.peer_service,
        };
        call.run(&self.client, Method::POST, &url, Some(Bytes::from(body))).await
    }

    /// `GET {base_url}{route}`.
    pub async fn get(&self, route: &'static str) -> Result<HttpReply, ClientError> {
        self.send(Method::GET, route, route, None).await
    }

    /// `GET {base_url}{route}` without a span or trace headers: for readiness probes, which
    /// would otherwise fill the service graph with probe traffic.
    pub async fn probe(&self, route: &'static str) -> Result<StatusCode, ClientError> {
        let url = format!("{}{}", self.base_url, route);
        let sent = self.client.get(&url).send();
        match actix_web::rt::time::timeout(self.settings.connect_timeout.max(Duration::from_secs(1)), sent)
            .await
        {
            Ok(Ok(response)) => Ok(response.status()),
            Ok(Err(e)) => Err(send_error(&self.peer_service, &self.settings, e)),
            Err(_) => Err(ClientError::Timeout {
                target: self.peer_service.clone(),
                timeout_ms: self.settings.connect_timeout.as_millis() as u64,
            }),
        }
    }

    /// Any call: `route` is the low-cardinality template for the span name, `path` the real path.
    pub async fn send(
        &self,
        method: Method,
        route: &str,
        path: &str,
        json_body: Option<Bytes>,
    ) -> Result<HttpReply, ClientError> {
        let url = format!("{}{}", self.base_url, path);
        let call = Call {
            span_name: format!("{method} {route}"),
            peer_service: &self.peer_service,
            propagate: true,
            settings: &self.settings,
            connect_to: None,
            headers: &[],
            metrics: self.metrics.as_ref(),
            metric_peer: &self.peer_service,
        };
        call.run(&self.client, method, &url, json_body).await
    }
}

/// The peer name of every external host that is not on the client's list of named hosts.
pub const EXTERNAL_SITE: &str = "external-site";

/// Calls third-party hosts: a CLIENT span naming the site, and no trace headers.
pub struct ExternalClient {
    client: awc::Client,
    settings: ClientSettings,
    /// Lower-case host names that keep their own name as the peer; every other host is
    /// [`EXTERNAL_SITE`].
    named_hosts: Vec<String>,
    metrics: Option<HttpClientMetrics>,
}

impl ExternalClient {
    /// A client that names every host [`EXTERNAL_SITE`]; add names with [`Self::with_peer_hosts`].
    pub fn new(settings: &ClientSettings) -> Self {
        Self {
            client: build_client(settings),
            settings: settings.clone(),
            named_hosts: Vec::new(),
            metrics: None,
        }
    }

    /// Records every call in `http_client_request_duration_seconds` with peer
    /// [`EXTERNAL_PEER`], whatever the host: hosts come from submitted URLs.
    pub fn with_metrics(mut self, metrics: HttpClientMetrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Hosts that keep their own name in `peer.service` (one service-graph node each), e.g. the
    /// scraper's `SCRAPER_ALLOW_HOSTS` names plus `SCRAPER_PEER_HOSTS`. Matching ignores case
    /// and a trailing dot; a single-address CIDR (`10.0.0.5/32`, `::1/128`) names that address;
    /// other CIDRs name nothing.
    pub fn with_peer_hosts<I, S>(mut self, hosts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.named_hosts.extend(hosts.into_iter().filter_map(|h| normalize_peer_host(h.as_ref())));
        self
    }

    pub fn settings(&self) -> &ClientSettings {
        &self.settings
    }

    /// The peer name a call to `host` carries.
    pub fn peer_name(&self, host: &str) -> String {
        let host = normalize_host(host);
        if self.named_hosts.contains(&host) { host } else { EXTERNAL_SITE.to_owned() }
    }

    /// `GET url`. Redirects are returned, not followed, so the caller can vet every hop.
    /// `connect_to`, when given, is the address to connect to instead of resolving the host
    /// again (the caller has resolved and vetted it: no DNS-rebinding gap between check and use).
    pub async fn get(&self, url: &str, connect_to: Option<SocketAddr>) -> Result<HttpReply, ClientError> {
        let peer = url.parse::<Uri>().ok().and_then(|u| u.host().map(|h| self.peer_name(h)));
        let call = Call {
            span_name: "GET".to_owned(),
            peer_service: peer.as_deref().unwrap_or(EXTERNAL_SITE),
            propagate: false,
            settings: &self.settings,
            connect_to,
            headers: &[],
            metrics: self.metrics.as_ref(),
            metric_peer: EXTERNAL_PEER,
        };
        call.run(&self.client, Method::GET, url, None).await
    }
}

/// Lower case, no trailing dot, no IPv6 brackets: the form hosts are compared in.
fn normalize_host(host: &str) -> String {
    host.trim().trim_end_matches('.').trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase()
}

/// A configured entry as a host name, if it names exactly one host.
fn normalize_peer_host(entry: &str) -> Option<String> {
    let entry = entry.trim();
    let host = match entry.split_once('/') {
        None => entry,
        Some((addr, "32")) if addr.parse::<std::net::Ipv4Addr>().is_ok() => addr,
        Some((addr, "128")) if addr.parse::<std::net::Ipv6Addr>().is_ok() => addr,
        Some(_) => return None,
    };
    let host = normalize_host(host);
    (!host.is_empty()).then_some(host)
}

fn build_client(settings: &ClientSettings) -> awc::Client {
    awc::Client::builder()
        .connector(awc::Connector::new().rustls_0_23(tls_config()).timeout(settings.connect_timeout))
        .timeout(settings.timeout)
        .disable_redirects()
        .finish()
}

/// TLS for https targets: rustls with the ring provider and Mozilla's roots compiled in, so a
/// minimal container image needs no CA bundle. Built once per process.
fn tls_config() -> Arc<rustls::ClientConfig> {
    static CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    Arc::clone(CONFIG.get_or_init(|| {
        let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
        let mut config =
            rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .expect("ring supports TLS 1.2 and 1.3")
                .with_root_certificates(roots)
                .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Arc::new(config)
    }))
}

struct Call<'a> {
    span_name: String,
    /// The callee's service name, or the external site's peer name.
    peer_service: &'a str,
    propagate: bool,
    settings: &'a ClientSettings,
    connect_to: Option<SocketAddr>,
    /// Extra request headers, internal calls only.
    headers: &'a [(&'static str, String)],
    metrics: Option<&'a HttpClientMetrics>,
    /// The `peer` label: the callee's service name, or [`EXTERNAL_PEER`].
    metric_peer: &'a str,
}

impl Call<'_> {
    async fn run(
        self,
        client: &awc::Client,
        method: Method,
        url: &str,
        json_body: Option<Bytes>,
    ) -> Result<HttpReply, ClientError> {
        let uri: Uri = url.parse().map_err(|e| ClientError::Failed {
            target: redact_url_str(url),
            message: format!("invalid URL: {e}"),
        })?;
        let host = uri.host().unwrap_or_default().to_owned();
        let peer = self.peer_service.to_owned();
        let started = Instant::now();
        let metric_method = metric_method(&method);
        let span = tracing::info_span!(
            "HTTP client",
            otel.name = self.span_name.as_str(),
            otel.kind = "client",
            otel.status_code = Empty,
            http.request.method = method.as_str(),
            server.address = host.as_str(),
            server.port = i64::from(uri.port_u16().unwrap_or(if uri.scheme_str() == Some("https") { 443 } else { 80 })),
            url.full = redact_url(&uri).as_str(),
            peer.service = peer.as_str(),
            service.peer.name = peer.as_str(),
            http.response.status_code = Empty,
            error.type = Empty,
        );

        let mut request = client.request(method, url);
        if let Some(addr) = self.connect_to {
            request = request.address(addr);
        }
        for (name, value) in self.headers {
            if let (Ok(name), Ok(value)) =
                (HeaderName::try_from(*name), HeaderValue::try_from(value.as_str()))
            {
                request.headers_mut().insert(name, value);
            }
        }
        if self.propagate {
            let cx = span.context();
            propagation::inject(&cx, request.headers_mut());
            if let Some(id) = cx.baggage().get(CORRELATION_ID_KEY)
                && let Ok(value) = HeaderValue::try_from(id.as_str())
            {
                request.headers_mut().insert(HeaderName::from_static(CORRELATION_ID_HEADER), value);
            }
        }
        let settings = self.settings;
        let target = peer.clone();
        let exchange = async move {
            let sent = match json_body {
                Some(body) => request.content_type("application/json").send_body(body).await,
                None => request.send().await,
            };
            let mut response = sent.map_err(|e| send_error(&target, settings, e))?;
            let body = response
                .body()
                .limit(settings.max_body)
                .await
                .map_err(|e| payload_error(&target, settings, e))?;
            Ok(HttpReply { status: response.status(), headers: response.headers().clone(), body })
        };
        let timeout_ms = settings.timeout.as_millis() as u64;
        let result =
            match actix_web::rt::time::timeout(settings.timeout, exchange.instrument(span.clone())).await {
                Ok(result) => result,
                Err(_) => Err(ClientError::Timeout { target: peer, timeout_ms }),
            };
        match &result {
            Ok(reply) => {
                span.record("http.response.status_code", i64::from(reply.status.as_u16()));
                // For a client every 4xx and 5xx is an error (HTTP semantic conventions).
                if reply.status.is_client_error() || reply.status.is_server_error() {
                    span.record("error.type", reply.status.as_str());
                    span.record("otel.status_code", "ERROR");
                }
            }
            Err(error) => crate::record_error(&span, error.kind(), error),
        }
        if let Some(metrics) = self.metrics {
            let status_code = match &result {
                Ok(reply) => reply.status.as_u16().to_string(),
                Err(error) => error.kind().to_owned(),
            };
            let labels =
                ClientLabels { peer: self.metric_peer.to_owned(), method: metric_method, status_code };
            metrics.record(&labels, started.elapsed(), TraceExemplar::of_span(&span));
        }
        result
    }
}

/// The `method` label: our clients send only these.
fn metric_method(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::PATCH => "PATCH",
        _ => "_OTHER",
    }
}

fn send_error(target: &str, settings: &ClientSettings, error: SendRequestError) -> ClientError {
    let target = target.to_owned();
    match error {
        SendRequestError::Timeout | SendRequestError::Connect(ConnectError::Timeout) => {
            ClientError::Timeout { target, timeout_ms: settings.timeout.as_millis() as u64 }
        }
        SendRequestError::Connect(e) => ClientError::Connect { target, message: e.to_string() },
        other => ClientError::Failed { target, message: other.to_string() },
    }
}

fn payload_error(target: &str, settings: &ClientSettings, error: PayloadError) -> ClientError {
    let target = target.to_owned();
    match error {
        PayloadError::Overflow => ClientError::TooLarge { target, limit: settings.max_body },
        other => ClientError::Failed { target, message: format!("reading the body failed: {other}") },
    }
}

/// Query keys whose values stay visible in `url.full` and logs (`URL_QUERY_ALLOWLIST`, set by
/// `init`); every other value is replaced.
static QUERY_ALLOWLIST: OnceLock<Vec<String>> = OnceLock::new();

pub(crate) fn set_query_allowlist(keys: Vec<String>) {
    let _ = QUERY_ALLOWLIST.set(keys);
}

/// A URL as text, redacted like [`redact_url`]. Text that does not parse as a URL loses its
/// credentials and query values all the same: a malformed URL may still carry a token.
pub fn redact_url_str(url: &str) -> String {
    match url.parse::<Uri>() {
        Ok(uri) if uri.scheme().is_some() => redact_url(&uri),
        _ => redact_unparsed(url),
    }
}

/// Every URL inside a free-text message (an error from a callee, a failed job's reason)
/// redacted like [`redact_url_str`]; the rest of the text is kept as it is. A URL starts at its
/// scheme (`https://`) and ends at white space, a quote or an angle bracket.
pub fn redact_urls_in(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(found) = rest.find("://") {
        // Back up over the scheme: ASCII letters, digits, `+`, `-`, `.` (one byte each, so
        // the subtraction stays on a character boundary whatever precedes the scheme).
        let scheme_len = rest[..found]
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
            .count();
        let start = found - scheme_len;
        // A quoted URL (as `{url:?}` writes it) may hold spaces: it ends at its closing quote.
        let quoted = rest[..start].ends_with('"');
        let end = if quoted {
            closing_quote(&rest[found..]).map_or(rest.len(), |i| found + i)
        } else {
            rest[found..].find(ends_url).map_or(rest.len(), |i| found + i)
        };
        out.push_str(&rest[..start]);
        if start == found {
            // `://` without a scheme in front: not a URL, but a query may follow all the same.
            out.push_str(&redact_unparsed(&rest[start..end]));
        } else {
            out.push_str(&redact_url_str(&rest[start..end]));
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// The byte offset of the first `"` not escaped by a backslash.
fn closing_quote(text: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        match c {
            '"' if !escaped => return Some(i),
            '\\' => escaped = !escaped,
            _ => escaped = false,
        }
    }
    None
}

fn ends_url(c: char) -> bool {
    c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | '`')
}

/// Best effort for text that is no valid URL: drop a `user:password@` and every query value.
fn redact_unparsed(url: &str) -> String {
    let (before_query, query) = match url.split_once('?') {
        Some((head, query)) => (head, Some(query)),
        None => (url, None),
    };
    let mut out = match before_query.split_once("://") {
        Some((scheme, rest)) => {
            let authority_end = rest.find('/').unwrap_or(rest.len());
            let (authority, path) = rest.split_at(authority_end);
            let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
            format!("{scheme}://{host}{path}")
        }
        None => before_query.to_owned(),
    };
    if let Some(query) = query {
        out.push('?');
        out.push_str(&redact_query(query, QUERY_ALLOWLIST.get().map(Vec::as_slice).unwrap_or_default()));
    }
    out
}

fn redact_query(query: &str, keep: &[String]) -> String {
    // A fragment is not sent, but it may follow the query in text: keep it out too.
    let query = query.split('#').next().unwrap_or_default();
    let redacted: Vec<String> = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if !keep.iter().any(|k| k == key) => format!("{key}=REDACTED"),
            _ => pair.to_owned(),
        })
        .collect();
    redacted.join("&")
}

/// `url.full` without credentials, and with query values hidden unless their key is in
/// `URL_QUERY_ALLOWLIST`: values often carry tokens, and spans and logs outlive requests.
pub fn redact_url(uri: &Uri) -> String {
    redact_url_keeping(uri, QUERY_ALLOWLIST.get().map(Vec::as_slice).unwrap_or_default())
}

fn redact_url_keeping(uri: &Uri, keep: &[String]) -> String {
    let scheme = uri.scheme_str().unwrap_or("http");
    let host = uri.host().unwrap_or_default();
    // Pushed piece by piece: every outgoing call's span carries this, and `format!` with its
    // four arguments cost more than the rest of the span's attributes.
    let mut out = String::with_capacity(scheme.len() + host.len() + uri.path().len() + 16);
    out.push_str(scheme);
    out.push_str("://");
    out.push_str(host);
    if let Some(port) = uri.port_u16() {
        out.push(':');
        push_decimal(&mut out, port);
    }
    out.push_str(uri.path());
    if let Some(query) = uri.query() {
        out.push('?');
        out.push_str(&redact_query(query, keep));
    }
    out
}

fn push_decimal(out: &mut String, mut n: u16) {
    let mut digits = [0_u8; 5];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend(digits[start..].iter().map(|&d| char::from(d)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_written_in_decimal_as_the_formatter_writes_them() {
        for port in [0_u16, 7, 10, 80, 443, 8081, 10000, u16::MAX] {
            let mut out = String::new();
            push_decimal(&mut out, port);
            assert_eq!(out, port.to_string());
        }
        let uri: Uri = "http://127.0.0.1:08081/v1/scrape".parse().unwrap();
        assert_eq!(redact_url(&uri), "http://127.0.0.1:8081/v1/scrape", "a port as its number");
    }

    #[test]
    fn redaction_drops_credentials_and_query_values() {
        let uri: Uri = "https://user:secret@example.com:8443/a/b?token=abc&page=2&flag".parse().unwrap();
        assert_eq!(redact_url(&uri), "https://example.com:8443/a/b?token=REDACTED&page=REDACTED&flag");
        let keep = vec!["page".to_owned()];
        assert_eq!(
            redact_url_keeping(&uri, &keep),
            "https://example.com:8443/a/b?token=REDACTED&page=2&flag"
        );
        assert_eq!(redact_url_str("not a url at all"), "not a url at all");
    }

    #[test]
    fn unparseable_urls_leak_neither_credentials_nor_query_values() {
        let bad = "http://user:pw@exa mple.com/p a?token=secret&x";
        let redacted = redact_url_str(bad);
        assert_eq!(redacted, "http://exa mple.com/p a?token=REDACTED&x");
        assert_eq!(redact_url_str("/relative?token=secret"), "/relative?token=REDACTED");
    }

    #[test]
    fn urls_inside_messages_are_redacted_and_the_rest_is_kept() {
        let message = r#"The scraper says: "https://a.example/x?token=secret&page=2" answered 404 Not Found; see http://b.example/?sig=abc#frag and ftp://u:pw@c.example/f?k=v."#;
        let redacted = redact_urls_in(message);
        for leaked in ["secret", "abc", "pw@", "=2", "k=v"] {
            assert!(!redacted.contains(leaked), "{leaked} leaked: {redacted}");
        }
        assert!(
            redacted.contains(r#""https://a.example/x?token=REDACTED&page=REDACTED" answered 404"#),
            "{redacted}"
        );
        assert!(redacted.contains("http://b.example/?sig=REDACTED"), "{redacted}");
        assert!(redacted.contains("ftp://c.example/f?k=REDACTED"), "{redacted}");
        assert!(redacted.starts_with("The scraper says: "));
        assert_eq!(redact_urls_in("héllo wörld"), "héllo wörld");
        assert_eq!(redact_urls_in("é://x?t=s €"), "é://x?t=REDACTED €");
        assert_eq!(
            redact_urls_in(r#""http://x/ a b?sig=secret" is not an absolute URL"#),
            r#""http://x/ a b?sig=REDACTED" is not an absolute URL"#,
            "a quoted URL ends at its quote, spaces and all"
        );
    }

    #[test]
    fn only_listed_hosts_name_their_own_peer() {
        let client = ExternalClient::new(&ClientSettings::default()).with_peer_hosts([
            "Demo-Site",
            "127.0.0.1/32",
            "10.0.0.0/8",
            "::1/128",
            " ",
        ]);
        assert_eq!(client.peer_name("demo-site"), "demo-site");
        assert_eq!(client.peer_name("DEMO-SITE."), "demo-site");
        assert_eq!(client.peer_name("127.0.0.1"), "127.0.0.1");
        assert_eq!(client.peer_name("[::1]"), "::1");
        assert_eq!(client.peer_name("10.0.0.1"), EXTERNAL_SITE, "a wider CIDR names no host");
        assert_eq!(client.peer_name("attacker-chosen.example"), EXTERNAL_SITE);
        assert_eq!(ExternalClient::new(&ClientSettings::default()).peer_name("demo-site"), EXTERNAL_SITE);
    }
}
