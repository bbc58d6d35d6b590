use actix_web::{HttpResponse, web};

use super::AppState;
use crate::downstream::Downstream;

/// `GET /ready`: the store answers and the scraper and analyzer are up.
pub async fn ready(state: web::Data<AppState>, downstream: web::Data<Downstream>) -> HttpResponse {
    let store = state.store.ping().await.map_err(|e| e.to_string());
    let callees = downstream.ready().await;
    pkg_service::readiness::from_checks([store, callees])
}
