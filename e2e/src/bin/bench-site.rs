//! `bench-site DIR PORT`: serves the files of DIR from memory, so the benchmark's stand-in web
//! site is never the bottleneck (Python's http.server would be).

use std::collections::HashMap;
use std::sync::Arc;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().unwrap_or_else(|| "config/demo-site".into());
    let port: u16 = args.next().and_then(|p| p.parse().ok()).unwrap_or(8090);
    let mut pages = HashMap::new();
    for entry in std::fs::read_dir(&dir)? {
        let path = entry?.path();
        if let Some(name) = path.file_name().and_then(|n| n.to_str()) {
            pages.insert(format!("/{name}"), std::fs::read(&path)?);
        }
    }
    let pages = web::Data::new(Arc::new(pages));
    HttpServer::new(move || {
        App::new().app_data(pages.clone()).default_service(web::to(
            |req: HttpRequest, pages: web::Data<Arc<HashMap<String, Vec<u8>>>>| async move {
                match pages.get(req.path()) {
                    Some(body) => {
                        HttpResponse::Ok().content_type("text/html; charset=utf-8").body(body.clone())
                    }
                    None => HttpResponse::NotFound().finish(),
                }
            },
        ))
    })
    .bind(("127.0.0.1", port))?
    .run()
    .await
}
