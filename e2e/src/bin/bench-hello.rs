//! `bench-hello PORT`: an actix-web hello world, untraced — the floor for one HTTP hop that
//! `scripts/bench.sh` compares the pipeline against.

use actix_web::{App, HttpResponse, HttpServer, web};

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args().nth(1).and_then(|p| p.parse().ok()).unwrap_or(8099);
    HttpServer::new(|| App::new().route("/", web::get().to(|| async { HttpResponse::Ok().body("hello") })))
        .bind(("127.0.0.1", port))?
        .run()
        .await
}
