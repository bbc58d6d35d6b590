//! The README's "pkg-tracing in one screen", compiled by `cargo test` so it stays true (a test
//! checks the README shows this file as it is).

use std::process::ExitCode;

use actix_web::{App, HttpResponse, HttpServer, web};
use pkg_tracing::{ClientSettings, ExternalClient, RequestTracing};

fn main() -> ExitCode {
    // Reads OTEL_*, RUST_LOG and LOG_FORMAT; a bad value is an error naming the variable.
    let telemetry = match pkg_tracing::init("scraper", env!("CARGO_PKG_VERSION")) {
        Ok(guard) => guard,
        Err(error) => {
            eprintln!("scraper: {error}");
            return ExitCode::from(2);
        }
    };
    let served = actix_web::rt::System::new().block_on(serve());
    if let Err(error) = &served {
        tracing::error!(%error, "scraper failed");
    }
    telemetry.shutdown(); // flushes queued spans; dropping the guard does too, on every way out
    if served.is_ok() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

async fn serve() -> std::io::Result<()> {
    HttpServer::new(|| {
        // One client per worker, never one per request; listed hosts keep their name as peer.
        let sites = ExternalClient::new(&ClientSettings::default()).with_peer_hosts(["demo-site"]);
        App::new()
            .wrap(RequestTracing) // outermost: SERVER spans, correlation id, traceresponse, panic → 500
            .app_data(web::Data::new(sites))
            .route("/health", web::get().to(|| async { HttpResponse::Ok().finish() })) // untraced probe
    })
    .bind(("127.0.0.1", 8081))?
    .run()
    .await
}
