use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde_json::json;

use super::AppState;
use crate::downstream::Downstream;

/// `GET /ready`: the store answers and the scraper and analyzer are up.
pub async fn ready(state: web::Data<AppState>, downstream: web::Data<Downstream>) -> HttpResponse {
    let store = state.store.ping().await.map_err(|e| e.to_string());
    let callees = downstream.ready().await;
    let problems: Vec<String> = [store.err(), callees.err()].into_iter().flatten().collect();
    if problems.is_empty() {
        HttpResponse::Ok().json(json!({ "status": "ready" }))
    } else {
        let message = format!("Not ready: {}.", problems.join("; "));
        HttpResponse::build(StatusCode::SERVICE_UNAVAILABLE)
            .json(json!({ "error": { "code": "not_ready", "message": message } }))
    }
}
