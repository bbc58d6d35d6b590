//! `trace-hop`: the smallest service built the Skein way, used by pkg-tracing's tests and handy
//! for trying the library by hand. Chain two with `HOP_NEXT_URL` to get a two-service trace.
//! Test support (built with the `harness` feature), and on pkg-tracing alone: the lowest crate
//! depends on no other crate of ours, so its errors spell out the one shape themselves.
//!
//! Routes: `GET /hop` (calls the next hop, if any, and reports the trace headers it received),
//! `GET /items/{id}` (a templated route), `GET /fetch?url=` (an external call), `GET /fail`
//! (a 500), `GET /panic` (a handler that panics), `GET /log` (a record of the `log` crate),
//! `GET /resume` (continues the trace in its `carried-traceparent` header, as a job worker
//! continues the trace stored with its job), `GET /health`.

use std::process::ExitCode;

use actix_web::http::StatusCode;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use pkg_tracing::{ClientSettings, ExternalClient, InternalClient, RequestTracing};
use serde::Deserialize;
use serde_json::{Value, json};

const HELP: &str = "\
trace-hop: a tiny traced service for pkg-tracing's tests.

Environment:
  HOST              listen address            (default 127.0.0.1)
  PORT              listen port, 0 = any      (default 0)
  HOP_NEXT_URL      base URL of the next hop  (default: none, this is the last hop)
  HOP_NEXT_SERVICE  its service name          (default hop-b)
  HOP_PEER_HOSTS    external hosts named in peer.service, comma-separated (default: none,
                    every site is external-site)
  plus the OTEL_* variables, RUST_LOG and LOG_FORMAT read by pkg-tracing.";

struct Settings {
    host: String,
    port: u16,
    next: Option<(String, String)>,
    peer_hosts: Vec<String>,
}

impl Settings {
    fn from_env() -> Result<Self, String> {
        let port = std::env::var("PORT").unwrap_or_else(|_| "0".into());
        Ok(Self {
            host: std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".into()),
            port: port.parse().map_err(|_| format!("PORT={port:?} is not a port number"))?,
            next: std::env::var("HOP_NEXT_URL")
                .ok()
                .map(|url| (std::env::var("HOP_NEXT_SERVICE").unwrap_or_else(|_| "hop-b".into()), url)),
            peer_hosts: std::env::var("HOP_PEER_HOSTS")
                .map(|v| v.split(',').map(str::to_owned).collect())
                .unwrap_or_default(),
        })
    }
}

struct Clients {
    next: Option<InternalClient>,
    external: ExternalClient,
}

fn main() -> ExitCode {
    if std::env::args().any(|a| a == "--help" || a == "-h") {
        println!("{HELP}");
        return ExitCode::SUCCESS;
    }
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("trace-hop: {e}");
            return ExitCode::from(2);
        }
    };
    let telemetry = match pkg_tracing::init("trace-hop", env!("CARGO_PKG_VERSION")) {
        Ok(guard) => guard,
        Err(e) => {
            eprintln!("trace-hop: {e}");
            return ExitCode::from(2);
        }
    };
    let result = actix_web::rt::System::new().block_on(serve(settings));
    if let Err(error) = &result {
        tracing::error!(%error, "trace-hop stopped with an error");
    }
    // Every exit path flushes: spans of the last requests are exported before the process ends.
    telemetry.shutdown();
    if result.is_ok() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

async fn serve(settings: Settings) -> std::io::Result<()> {
    let next = settings.next.clone();
    let peer_hosts = settings.peer_hosts.clone();
    let server = HttpServer::new(move || {
        let client_settings = ClientSettings::default();
        let clients = Clients {
            next: next.as_ref().map(|(service, url)| InternalClient::new(service, url, &client_settings)),
            external: ExternalClient::new(&client_settings).with_peer_hosts(&peer_hosts),
        };
        App::new()
            .wrap(RequestTracing)
            .app_data(web::PathConfig::default().error_handler(|e, _| bad_request("invalid_path", e)))
            .app_data(web::QueryConfig::default().error_handler(|e, _| bad_request("invalid_query", e)))
            .app_data(web::Data::new(clients))
            .route("/health", web::get().to(|| async { HttpResponse::Ok().json(json!({"status": "ok"})) }))
            .route("/hop", web::get().to(hop))
            .route("/items/{id}", web::get().to(item))
            .route("/fetch", web::get().to(fetch))
            .route("/fail", web::get().to(fail))
            .route("/panic", web::get().to(panic))
            .route("/log", web::get().to(log_record))
            .route("/resume", web::get().to(resume))
            .default_service(web::to(not_found))
    })
    .workers(2)
    .bind((settings.host.as_str(), settings.port))?;
    let port = server.addrs().first().map(|a| a.port()).unwrap_or_default();
    tracing::info!(port, "listening");
    server.run().await
}

/// An error in Skein's one shape: `{"error": {"code", "message"}}`.
fn error(status: StatusCode, code: &str, message: impl std::fmt::Display) -> HttpResponse {
    HttpResponse::build(status).json(json!({ "error": { "code": code, "message": message.to_string() } }))
}

fn bad_request(code: &str, cause: impl std::fmt::Display) -> actix_web::Error {
    actix_web::error::InternalError::from_response(
        cause.to_string(),
        error(StatusCode::BAD_REQUEST, code, format!("The request is malformed: {cause}.")),
    )
    .into()
}

async fn not_found(req: HttpRequest) -> HttpResponse {
    error(StatusCode::NOT_FOUND, "route_not_found", format!("No route for {} {}", req.method(), req.path()))
}

async fn hop(req: HttpRequest, clients: web::Data<Clients>) -> HttpResponse {
    tracing::info!("handling hop");
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let downstream = match &clients.next {
        None => Value::Null,
        Some(next) => match next.get("/hop").await {
            Ok(reply) => reply.json::<Value>().unwrap_or(Value::Null),
            Err(e) => return error(StatusCode::BAD_GATEWAY, "upstream_error", e),
        },
    };
    HttpResponse::Ok().json(json!({
        "trace_id": pkg_tracing::current_trace_id(),
        "correlation_id": pkg_tracing::current_correlation_id(),
        "received": {
            "traceparent": header("traceparent"),
            "baggage": header("baggage"),
            "x-correlation-id": header("x-correlation-id"),
        },
        "downstream": downstream,
    }))
}

async fn item(id: web::Path<u32>) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "id": id.into_inner() }))
}

#[derive(Deserialize)]
struct FetchQuery {
    url: String,
}

async fn fetch(query: web::Query<FetchQuery>, clients: web::Data<Clients>) -> HttpResponse {
    match clients.external.get(&query.url, None).await {
        Ok(reply) => {
            HttpResponse::Ok().json(json!({ "status": reply.status.as_u16(), "bytes": reply.body.len() }))
        }
        Err(e) => error(StatusCode::BAD_GATEWAY, "upstream_error", e),
    }
}

async fn fail() -> HttpResponse {
    error(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "Failing on purpose.")
}

/// A bug in a handler: the middleware must turn it into a JSON 500 and an Error span.
async fn panic() -> HttpResponse {
    let ids: Vec<u32> = Vec::new();
    HttpResponse::Ok().json(json!({ "first": ids[0] }))
}

/// What actix-web, awc and sqlx do: write through the `log` crate, not `tracing`.
async fn log_record() -> HttpResponse {
    log::warn!(target: "trace_hop::legacy", "a record from the log crate");
    HttpResponse::Ok().json(json!({ "logged": true }))
}

/// Work handed over with its trace context (a job row, a message): the span continues it.
async fn resume(req: HttpRequest) -> HttpResponse {
    let carried: std::collections::HashMap<String, String> = req
        .headers()
        .get("carried-traceparent")
        .and_then(|v| v.to_str().ok())
        .map(|v| ("traceparent".to_owned(), v.to_owned()))
        .into_iter()
        .collect();
    let span = tracing::info_span!("hop.resume");
    let continued = pkg_tracing::continue_trace(&span, &carried);
    let trace_id = span.in_scope(pkg_tracing::current_trace_id);
    HttpResponse::Ok().json(json!({ "continued": continued, "trace_id": trace_id }))
}
