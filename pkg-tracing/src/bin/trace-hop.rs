//! `trace-hop`: the smallest service built the Skein way, used by pkg-tracing's tests and handy
//! for trying the library by hand. Chain two with `HOP_NEXT_URL` to get a two-service trace.
//!
//! Routes: `GET /hop` (calls the next hop, if any, and reports the trace headers it received),
//! `GET /items/{id}` (a templated route), `GET /fetch?url=` (an external call), `GET /fail`
//! (a 500), `GET /health`.

use std::process::ExitCode;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use pkg_api::ApiError;
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
  plus the OTEL_* variables, RUST_LOG and LOG_FORMAT read by pkg-tracing.";

struct Settings {
    host: String,
    port: u16,
    next: Option<(String, String)>,
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
    let server = HttpServer::new(move || {
        let client_settings = ClientSettings::default();
        let clients = Clients {
            next: next.as_ref().map(|(service, url)| InternalClient::new(service, url, &client_settings)),
            external: ExternalClient::new(&client_settings),
        };
        App::new()
            .wrap(RequestTracing)
            .configure(pkg_api::extractor_configs(64 * 1024))
            .app_data(web::Data::new(clients))
            .route("/health", web::get().to(|| async { HttpResponse::Ok().json(json!({"status": "ok"})) }))
            .route("/hop", web::get().to(hop))
            .route("/items/{id}", web::get().to(item))
            .route("/fetch", web::get().to(fetch))
            .route("/fail", web::get().to(fail))
            .default_service(web::to(pkg_api::not_found_handler))
    })
    .workers(2)
    .bind((settings.host.as_str(), settings.port))?;
    let port = server.addrs().first().map(|a| a.port()).unwrap_or_default();
    tracing::info!(port, "listening");
    server.run().await
}

async fn hop(req: HttpRequest, clients: web::Data<Clients>) -> Result<HttpResponse, ApiError> {
    tracing::info!("handling hop");
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let downstream = match &clients.next {
        None => Value::Null,
        Some(next) => {
            let reply = next.get("/hop").await.map_err(|e| {
                ApiError::new(actix_web::http::StatusCode::BAD_GATEWAY, "upstream_error", e.to_string())
            })?;
            reply.json::<Value>().unwrap_or(Value::Null)
        }
    };
    Ok(HttpResponse::Ok().json(json!({
        "trace_id": pkg_tracing::current_trace_id(),
        "correlation_id": pkg_tracing::current_correlation_id(),
        "received": {
            "traceparent": header("traceparent"),
            "baggage": header("baggage"),
            "x-correlation-id": header("x-correlation-id"),
        },
        "downstream": downstream,
    })))
}

async fn item(id: web::Path<u32>) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "id": id.into_inner() }))
}

#[derive(Deserialize)]
struct FetchQuery {
    url: String,
}

async fn fetch(query: web::Query<FetchQuery>, clients: web::Data<Clients>) -> Result<HttpResponse, ApiError> {
    let reply = clients.external.get(&query.url, None).await.map_err(|e| {
        ApiError::new(actix_web::http::StatusCode::BAD_GATEWAY, "upstream_error", e.to_string())
    })?;
    Ok(HttpResponse::Ok().json(json!({ "status": reply.status.as_u16(), "bytes": reply.body.len() })))
}

async fn fail() -> Result<HttpResponse, ApiError> {
    Err(ApiError::internal())
}
