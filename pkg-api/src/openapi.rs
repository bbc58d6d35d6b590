//! Each service's OpenAPI 3.1 document, served at `GET /openapi.json`.
//!
//! utoipa generates the operations and schemas from the handlers' `#[utoipa::path]`
//! annotations and the wire types' `ToSchema` derives. What utoipa cannot know comes from the
//! service's [`RouteTable`], the one list both the router and the document are built from: the
//! error codes each operation can answer with (rendered per status, with the code enum
//! narrowed to them), the probes, and the check that every route has an operation and every
//! operation a route.

use std::collections::BTreeMap;

use actix_web::http::Method;
use actix_web::web::{self, Bytes, ServiceConfig};
use actix_web::{FromRequest, Handler, HttpResponse, Responder};
use serde_json::{Map, Value, json};
use utoipa::{PartialSchema as _, ToSchema as _};

use crate::{ErrorBody, ErrorCode, ErrorDetail};

/// Where every service serves its document.
pub const DOCUMENT_PATH: &str = "/openapi.json";

/// Paths a service may route without documenting them: they are not part of the API (metrics
/// for Prometheus, the web page and its assets). Add a path here, then route it with
/// [`RouteTable::not_api`].
pub const NOT_PART_OF_THE_API: &[&str] = &["/metrics", "/", "/assets/page.css", "/assets/page.js"];

/// What actix's JSON extractor (configured by `extractor_configs`) answers to a bad body.
pub const JSON_BODY: &[ErrorCode] = &[
    ErrorCode::InvalidJson,
    ErrorCode::InvalidRequest,
    ErrorCode::InvalidBody,
    ErrorCode::PayloadTooLarge,
    ErrorCode::UnsupportedMediaType,
];

/// What the query extractor answers to a malformed or unknown parameter.
pub const QUERY: &[ErrorCode] = &[ErrorCode::InvalidQuery];

/// What a `{id}` path segment can fail with.
pub const PATH_ID: &[ErrorCode] = &[ErrorCode::InvalidPath, ErrorCode::InvalidId];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteKind {
    /// Part of the API: documented by a `#[utoipa::path]` of its handler.
    Operation,
    /// `/health` or `/ready`: documented here, the same way for every service.
    Probe,
    /// Routed but not documented; the path must be in [`NOT_PART_OF_THE_API`].
    NotApi,
}

/// One route: method, path template, and the error codes its handler can answer with (beyond
/// `internal_error`, and `fault_injected` on operations, which every route may answer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub method: Method,
    pub path: &'static str,
    pub errors: Vec<ErrorCode>,
    pub kind: RouteKind,
}

impl Route {
    /// Every code the route can answer with.
    pub fn all_errors(&self) -> Vec<ErrorCode> {
        let mut codes = self.errors.clone();
        codes.push(ErrorCode::InternalError);
        if self.kind == RouteKind::Operation && self.path != DOCUMENT_PATH {
            codes.push(ErrorCode::FaultInjected);
        }
        codes.sort();
        codes.dedup();
        codes
    }
}

/// Registers routes on an actix `ServiceConfig` and remembers them for the document. A service
/// routes everything through it (never `cfg.route` directly), so no route escapes the document.
pub struct RouteTable<'a> {
    cfg: Option<&'a mut ServiceConfig>,
    routes: Vec<Route>,
}

impl<'a> RouteTable<'a> {
    pub fn new(cfg: &'a mut ServiceConfig) -> Self {
        Self { cfg: Some(cfg), routes: Vec::new() }
    }

    /// A table that only records (for tests and for building the document alone).
    pub fn recording() -> RouteTable<'static> {
        RouteTable { cfg: None, routes: Vec::new() }
    }

    fn add<F, Args>(&mut self, route: Route, handler: F) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        if let Some(cfg) = self.cfg.as_deref_mut() {
            cfg.route(route.path, web::method(route.method.clone()).to(handler));
        }
        self.routes.push(route);
        self
    }

    /// An API operation; its handler carries the `#[utoipa::path]`.
    pub fn operation<F, Args>(
        &mut self,
        method: Method,
        path: &'static str,
        errors: &[&[ErrorCode]],
        handler: F,
    ) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        let errors = errors.concat();
        self.add(Route { method, path, errors, kind: RouteKind::Operation }, handler)
    }

    /// `GET /health` or `GET /ready`.
    pub fn probe<F, Args>(&mut self, path: &'static str, errors: &[ErrorCode], handler: F) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.add(
            Route { method: Method::GET, path, errors: errors.to_vec(), kind: RouteKind::Probe },
            handler,
        )
    }

    /// A route outside the API (its path must be in [`NOT_PART_OF_THE_API`]).
    pub fn not_api<F, Args>(&mut self, method: Method, path: &'static str, handler: F) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.add(Route { method, path, errors: Vec::new(), kind: RouteKind::NotApi }, handler)
    }

    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// Serves the document built from utoipa's (`generate`) and this table at
    /// `GET /openapi.json`. It is built when asked for, not here: this runs once per worker at
    /// start-up, and a document nobody fetches should cost neither start-up time nor resident
    /// memory. Disagreements between the two are logged when it is built and fail each
    /// service's route test.
    pub fn serve_document(mut self, generate: fn() -> utoipa::openapi::OpenApi) {
        if let Some(cfg) = self.cfg.take() {
            let routes = self.routes.clone();
            cfg.route(
                DOCUMENT_PATH,
                web::get().to(move || {
                    let documented = document(generate(), &routes);
                    for problem in &documented.problems {
                        tracing::error!(problem = %problem, "the OpenAPI document and the routes disagree");
                    }
                    let body = Bytes::from(serde_json::to_vec(&documented.document).unwrap_or_default());
                    async move { HttpResponse::Ok().content_type("application/json").body(body) }
                }),
            );
            // After every route: other methods on a known path are 405 with `Allow`.
            let mut paths: Vec<&'static str> = self.routes.iter().map(|r| r.path).collect();
            paths.push(DOCUMENT_PATH);
            paths.dedup();
            let mut seen = Vec::new();
            for path in paths {
                if seen.contains(&path) {
                    continue;
                }
                seen.push(path);
                let mut allowed: Vec<Method> =
                    self.routes.iter().filter(|r| r.path == path).map(|r| r.method.clone()).collect();
                if path == DOCUMENT_PATH {
                    allowed.push(Method::GET);
                }
                cfg.route(path, crate::extractors::method_not_allowed(allowed));
            }
        }
    }

    /// The served document and every disagreement between utoipa's operations and the routes.
    pub fn document(&self, generated: utoipa::openapi::OpenApi) -> Documented {
        document(generated, &self.routes)
    }
}

/// A service's document, and what is wrong with it (empty when routes and operations agree).
#[derive(Debug, Clone)]
pub struct Documented {
    pub document: Value,
    pub problems: Vec<String>,
}

impl Documented {
    /// `(METHOD, path)` of every operation in the document.
    pub fn operations(&self) -> Vec<(String, String)> {
        operations(&self.document)
    }
}

const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

fn operations(document: &Value) -> Vec<(String, String)> {
    let mut found = Vec::new();
    if let Some(paths) = document.get("paths").and_then(Value::as_object) {
        for (path, item) in paths {
            for method in METHODS {
                if item.get(method).is_some() {
                    found.push((method.to_ascii_uppercase(), path.clone()));
                }
            }
        }
    }
    found
}

fn document(generated: utoipa::openapi::OpenApi, routes: &[Route]) -> Documented {
    let mut document = serde_json::to_value(&generated).unwrap_or_else(|_| json!({}));
    let mut problems = Vec::new();
    let generated_ops = operations(&document);
    for route in routes {
        let key = (route.method.as_str().to_owned(), route.path.to_owned());
        let documented = generated_ops.contains(&key);
        match route.kind {
            RouteKind::Operation if !documented => {
                problems.push(format!("{} {} is routed but has no documented operation", key.0, key.1));
            }
            RouteKind::Probe | RouteKind::NotApi if documented => {
                problems.push(format!(
                    "{} {} is documented by a handler but routed as {:?}",
                    key.0, key.1, route.kind
                ));
            }
            RouteKind::NotApi if !NOT_PART_OF_THE_API.contains(&route.path) => {
                problems.push(format!(
                    "{} {} is routed outside the API but not listed in NOT_PART_OF_THE_API",
                    key.0, key.1
                ));
            }
            _ => {}
        }
    }
    for (method, path) in &generated_ops {
        let routed = routes.iter().any(|r| r.method.as_str() == method && r.path == path);
        if !routed {
            problems.push(format!("{method} {path} is documented but not routed"));
        }
    }

    let paths = object_at(&mut document, "paths");
    for route in routes {
        if route.kind == RouteKind::NotApi {
            continue;
        }
        let item = object_at_map(paths, route.path);
        let method = route.method.as_str().to_ascii_lowercase();
        if route.kind == RouteKind::Probe {
            item.insert(method.clone(), probe_operation(route.path));
        }
        let Some(Value::Object(operation)) = item.get_mut(&method) else { continue };
        let responses = object_at_map(operation, "responses");
        for (status, codes) in by_status(&route.all_errors()) {
            responses.insert(status.to_string(), error_response(&codes));
        }
    }
    let document_route =
        Route { method: Method::GET, path: DOCUMENT_PATH, errors: Vec::new(), kind: RouteKind::Operation };
    let mut operation = json!({
        "tags": ["meta"],
        "summary": "This document",
        "operationId": "openapi_document",
        "responses": { "200": { "description": "The OpenAPI 3.1 document of this service.",
            "content": { "application/json": { "schema": { "type": "object" } } } } }
    });
    for (status, codes) in by_status(&document_route.all_errors()) {
        operation["responses"][status.to_string()] = error_response(&codes);
    }
    object_at_map(paths, DOCUMENT_PATH).insert("get".into(), operation);

    let components = object_at(&mut document, "components");
    let schemas = object_at_map(components, "schemas");
    for (name, schema) in [
        (ErrorBody::name(), serde_json::to_value(ErrorBody::schema())),
        (ErrorDetail::name(), serde_json::to_value(ErrorDetail::schema())),
    ] {
        schemas.insert(name.into_owned(), schema.unwrap_or(Value::Null));
    }
    let all: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
    schemas.insert(
        "ErrorCode".into(),
        json!({ "type": "string", "enum": all, "description": "Every error code; see the README's table for each one's status and meaning." }),
    );
    if let Some(detail) = schemas.get_mut("ErrorDetail") {
        detail["properties"]["code"] = json!({ "$ref": "#/components/schemas/ErrorCode" });
    }
    Documented { document, problems }
}

fn object_at<'v>(value: &'v mut Value, key: &str) -> &'v mut Map<String, Value> {
    let Value::Object(map) = value else { unreachable!("a document is an object") };
    object_at_map(map, key)
}

fn object_at_map<'v>(map: &'v mut Map<String, Value>, key: &str) -> &'v mut Map<String, Value> {
    let entry = map.entry(key.to_owned()).or_insert_with(|| json!({}));
    if !entry.is_object() {
        *entry = json!({});
    }
    entry.as_object_mut().expect("just made an object")
}

fn by_status(codes: &[ErrorCode]) -> BTreeMap<u16, Vec<ErrorCode>> {
    let mut grouped: BTreeMap<u16, Vec<ErrorCode>> = BTreeMap::new();
    for code in codes {
        grouped.entry(code.status().as_u16()).or_default().push(*code);
    }
    grouped
}

/// The error body, with `code` narrowed to the codes this status can carry here.
fn error_response(codes: &[ErrorCode]) -> Value {
    let description: Vec<String> =
        codes.iter().map(|c| format!("`{}`: {}", c.as_str(), c.meaning())).collect();
    let names: Vec<&str> = codes.iter().map(|c| c.as_str()).collect();
    let mut response = json!({
        "description": description.join("\n"),
        "content": { "application/json": { "schema": { "allOf": [
            { "$ref": "#/components/schemas/ErrorBody" },
            { "type": "object", "properties": { "error": { "type": "object",
                "properties": { "code": { "type": "string", "enum": names } } } } }
        ] } } }
    });
    if codes.contains(&ErrorCode::Overloaded) {
        response["headers"] = json!({ "Retry-After": {
            "description": "Seconds to wait before retrying (with `overloaded`).",
            "schema": { "type": "integer", "minimum": 1 } } });
    }
    response
}

fn probe_operation(path: &str) -> Value {
    let (summary, status) = if path == "/health" {
        ("Liveness: the process is up and serving", "ok")
    } else {
        ("Readiness: the service's dependencies are reachable", "ready")
    };
    json!({
        "tags": ["probes"],
        "summary": summary,
        "operationId": path.trim_start_matches('/'),
        "responses": { "200": { "description": summary, "content": { "application/json": { "schema": {
            "type": "object", "required": ["status"],
            "properties": { "status": { "type": "string", "enum": [status] } } } } } } }
    })
}

#[cfg(test)]
mod tests {
    use actix_web::HttpResponse;
    use actix_web::http::Method;
    use utoipa::OpenApi;

    use super::*;

    #[utoipa::path(get, path = "/things/{id}", params(("id" = String, Path)), responses((status = 200, description = "A thing")))]
    #[allow(dead_code)]
    async fn thing() -> HttpResponse {
        HttpResponse::Ok().finish()
    }

    #[derive(OpenApi)]
    #[openapi(paths(thing))]
    struct Doc;

    async fn ok() -> HttpResponse {
        HttpResponse::Ok().finish()
    }

    #[test]
    fn each_status_of_an_operation_lists_exactly_its_codes() {
        let mut table = RouteTable::recording();
        table.operation(Method::GET, "/things/{id}", &[PATH_ID, &[ErrorCode::JobNotFound]], ok);
        let documented = table.document(Doc::openapi());
        assert_eq!(documented.problems, Vec::<String>::new());
        let responses = &documented.document["paths"]["/things/{id}"]["get"]["responses"];
        let codes = |status: &str| {
            responses[status]["content"]["application/json"]["schema"]["allOf"][1]
            ["properties"]["error"]["properties"]["code"]["enum"]
            .clone()
        };
        assert_eq!(codes("400"), json!(["invalid_path", "invalid_id"]));
        assert_eq!(codes("404"), json!(["job_not_found"]));
        assert_eq!(codes("500"), json!(["internal_error"]));
        assert_eq!(codes("503"), json!(["fault_injected"]));
        assert!(responses["200"].is_object(), "utoipa's own response is kept");
        assert_eq!(documented.document["openapi"], "3.1.0");
        assert!(documented.document["paths"][DOCUMENT_PATH]["get"].is_object());
        let all = &documented.document["components"]["schemas"]["ErrorCode"]["enum"];
        assert_eq!(all.as_array().unwrap().len(), ErrorCode::ALL.len());
    }

    #[test]
    fn a_route_without_an_operation_and_an_operation_without_a_route_are_both_problems() {
        let mut table = RouteTable::recording();
        table.operation(Method::POST, "/things", &[JSON_BODY], ok).probe("/health", &[], ok);
        let problems = table.document(Doc::openapi()).problems;
        assert_eq!(
            problems,
            vec![
                "POST /things is routed but has no documented operation".to_owned(),
                "GET /things/{id} is documented but not routed".to_owned(),
            ]
        );
    }

    #[actix_web::test]
    async fn a_served_table_answers_its_document_and_405_with_allow_for_other_methods() {
        use actix_web::{App, test};
        let app = test::init_service(
            App::new()
                .configure(|cfg| {
                    let mut table = RouteTable::new(cfg);
                    table.operation(Method::GET, "/things/{id}", &[PATH_ID], ok);
                    table.serve_document(Doc::openapi);
                })
                .default_service(crate::default_service()),
        )
        .await;
        let res = test::call_service(&app, test::TestRequest::get().uri("/things/1").to_request()).await;
        assert_eq!(res.status().as_u16(), 200);
        let req = test::TestRequest::default().method(Method::TRACE).uri("/things/1").to_request();
        let res = test::call_service(&app, req).await;
        assert_eq!(res.status().as_u16(), 405);
        assert_eq!(res.headers().get("allow").unwrap(), "GET");
        let body: crate::ErrorBody = test::read_body_json(res).await;
        assert_eq!(body.error.code, "method_not_allowed");
        let res = test::call_service(&app, test::TestRequest::get().uri(DOCUMENT_PATH).to_request()).await;
        assert_eq!(res.status().as_u16(), 200);
        let served: Value = test::read_body_json(res).await;
        assert_eq!(served, table_document());
        let res = test::call_service(&app, test::TestRequest::get().uri("/elsewhere").to_request()).await;
        assert_eq!(res.status().as_u16(), 404, "unknown paths stay 404 route_not_found");
    }

    fn table_document() -> Value {
        let mut table = RouteTable::recording();
        table.operation(Method::GET, "/things/{id}", &[PATH_ID], ok);
        table.document(Doc::openapi()).document
    }

    #[test]
    fn routes_outside_the_api_must_be_listed_as_such() {
        let mut table = RouteTable::recording();
        table.operation(Method::GET, "/things/{id}", &[], ok).not_api(Method::GET, "/metrics", ok).not_api(
            Method::GET,
            "/secret",
            ok,
        );
        let documented = table.document(Doc::openapi());
        assert_eq!(
            documented.problems,
            vec!["GET /secret is routed outside the API but not listed in NOT_PART_OF_THE_API".to_owned()]
        );
        assert!(documented.document["paths"].get("/metrics").is_none());
    }
}
