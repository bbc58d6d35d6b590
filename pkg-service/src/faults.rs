//! Fault injection for demos: make a service slow or failing on purpose, at start-up
//! (`FAULT_ERROR_RATE`, `FAULT_LATENCY_MS`) or at runtime (`PUT /admin/faults`, guarded by
//! `ADMIN_TOKEN`; without a token the admin API does not exist).
//!
//! An injected failure is a real `503 fault_injected` answer whose SERVER span is marked
//! `fault.injected = true` with status Error, so it shows in Tempo and turns the caller's
//! service-graph edge red. Probes (`/health`, `/ready`), the `/metrics` scrape, `/admin/*` and
//! `/openapi.json` are never faulted.

use std::fmt;
use std::future::{Ready, ready};
use std::rc::Rc;
use std::str::FromStr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use actix_web::body::EitherBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::{Error, HttpRequest, HttpResponse, ResponseError, web};
use futures_util::future::LocalBoxFuture;
use pkg_api::{ApiError, ErrorCode};
use serde::{Deserialize, Serialize};

use crate::env::Env;

/// Extra latency: none, fixed, or uniformly random within a range.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Latency {
    pub min_ms: u64,
    pub max_ms: u64,
}

impl FromStr for Latency {
    type Err = String;

    /// `150` or `50-200` (milliseconds).
    fn from_str(s: &str) -> Result<Self, String> {
        let parse =
            |v: &str| v.trim().parse::<u64>().map_err(|_| format!("{s:?} is not N or MIN-MAX milliseconds"));
        let (min_ms, max_ms) = match s.split_once('-') {
            Some((a, b)) => (parse(a)?, parse(b)?),
            None => {
                let v = parse(s)?;
                (v, v)
            }
        };
        if min_ms > max_ms || max_ms > 60_000 {
            return Err(format!("{s:?}: need MIN ≤ MAX ≤ 60000"));
        }
        Ok(Latency { min_ms, max_ms })
    }
}

impl fmt::Display for Latency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.min_ms == self.max_ms {
            write!(f, "{}", self.min_ms)
        } else {
            write!(f, "{}-{}", self.min_ms, self.max_ms)
        }
    }
}

/// A probability from 0 to 1.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Rate(pub f64);

impl FromStr for Rate {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().parse::<f64>() {
            Ok(r) if (0.0..=1.0).contains(&r) => Ok(Rate(r)),
            _ => Err(format!("{s:?} is not a number from 0 to 1")),
        }
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The faults in force.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FaultConfig {
    pub error_rate: Rate,
    pub latency: Latency,
}

/// The fault settings of a service, read with its other settings.
#[derive(Debug, Clone, Default)]
pub struct FaultSettings {
    pub initial: FaultConfig,
    pub admin_token: Option<String>,
}

impl FaultSettings {
    pub fn from_env(env: &mut Env) -> Self {
        FaultSettings {
            initial: FaultConfig {
                error_rate: env.get(
                    "FAULT_ERROR_RATE",
                    Rate(0.0),
                    "share of requests answered 503 fault_injected (0..1)",
                ),
                latency: env.get(
                    "FAULT_LATENCY_MS",
                    Latency::default(),
                    "added latency, N or MIN-MAX milliseconds",
                ),
            },
            admin_token: env
                .optional("ADMIN_TOKEN", "bearer token for PUT /admin/faults (unset: no admin API)"),
        }
    }
}

/// Shared by every worker of a service.
#[derive(Debug, Clone)]
pub struct Faults {
    config: Arc<RwLock<FaultConfig>>,
    admin_token: Option<Arc<str>>,
}

impl Faults {
    pub fn new(settings: &FaultSettings) -> Self {
        if settings.initial != FaultConfig::default() {
            tracing::warn!(error_rate = settings.initial.error_rate.0, latency_ms = %settings.initial.latency, "fault injection is on");
        }
        Faults {
            config: Arc::new(RwLock::new(settings.initial)),
            admin_token: settings.admin_token.as_deref().map(Arc::from),
        }
    }

    pub fn current(&self) -> FaultConfig {
        *self.config.read().unwrap_or_else(|p| p.into_inner())
    }

    fn set(&self, config: FaultConfig) {
        *self.config.write().unwrap_or_else(|p| p.into_inner()) = config;
    }

    /// The middleware: `App::new().wrap(faults.middleware()).wrap(RequestTracing)`, so the
    /// injected outcome happens inside the request's span.
    pub fn middleware(&self) -> InjectFaults {
        InjectFaults(self.clone())
    }

    /// Registers `GET` and `PUT /admin/faults`.
    pub fn configure(&self) -> impl FnOnce(&mut web::ServiceConfig) + use<> {
        let faults = web::Data::new(self.clone());
        move |cfg| {
            cfg.app_data(faults)
                .route("/admin/faults", web::get().to(get_faults))
                .route("/admin/faults", web::put().to(put_faults));
        }
    }
}

/// The `PUT /admin/faults` body and the `GET` answer.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultView {
    pub error_rate: f64,
    /// `"150"` or `"50-200"`; a bare number is accepted too.
    #[serde(deserialize_with = "latency_from_number_or_text", default)]
    pub latency_ms: String,
}

fn latency_from_number_or_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum NumberOrText {
        Number(u64),
        Text(String),
    }
    Ok(match NumberOrText::deserialize(d)? {
        NumberOrText::Number(n) => n.to_string(),
        NumberOrText::Text(t) => t,
    })
}

fn view(config: FaultConfig) -> FaultView {
    FaultView { error_rate: config.error_rate.0, latency_ms: config.latency.to_string() }
}

fn authorize(req: &HttpRequest, faults: &Faults) -> Result<(), ApiError> {
    let Some(token) = &faults.admin_token else {
        return Err(ApiError::new(
            ErrorCode::AdminDisabled,
            "The admin API is off: set ADMIN_TOKEN to turn it on.",
        ));
    };
    let given = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    // Compare every byte, so the time taken does not tell how much of a guess was right.
    let matches = given.is_some_and(|g| {
        g.len() == token.len() && g.bytes().zip(token.bytes()).fold(0, |acc, (a, b)| acc | (a ^ b)) == 0
    });
    if matches {
        Ok(())
    } else {
        Err(ApiError::new(ErrorCode::Unauthorized, "Send Authorization: Bearer <ADMIN_TOKEN>."))
    }
}

async fn get_faults(req: HttpRequest, faults: web::Data<Faults>) -> Result<HttpResponse, ApiError> {
    authorize(&req, &faults)?;
    Ok(HttpResponse::Ok().json(view(faults.current())))
}

async fn put_faults(
    req: HttpRequest,
    body: web::Json<FaultView>,
    faults: web::Data<Faults>,
) -> Result<HttpResponse, ApiError> {
    authorize(&req, &faults)?;
    let error_rate = Rate::from_str(&body.error_rate.to_string())
        .map_err(|e| ApiError::new(ErrorCode::InvalidFault, format!("error_rate: {e}.")))?;
    let latency = if body.latency_ms.is_empty() {
        Latency::default()
    } else {
        body.latency_ms
            .parse()
            .map_err(|e| ApiError::new(ErrorCode::InvalidFault, format!("latency_ms: {e}.")))?
    };
    let config = FaultConfig { error_rate, latency };
    faults.set(config);
    tracing::warn!(error_rate = error_rate.0, latency_ms = %latency, "fault injection changed");
    Ok(HttpResponse::Ok().json(view(config)))
}

pub struct InjectFaults(Faults);

impl<S, B> Transform<S, ServiceRequest> for InjectFaults
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = InjectFaultsMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(InjectFaultsMiddleware { service: Rc::new(service), faults: self.0.clone() }))
    }
}

pub struct InjectFaultsMiddleware<S> {
    service: Rc<S>,
    faults: Faults,
}

impl<S, B> Service<ServiceRequest> for InjectFaultsMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let service = Rc::clone(&self.service);
        let config = self.faults.current();
        let exempt = req.path().starts_with("/admin/")
            || req.path() == pkg_api::openapi::DOCUMENT_PATH
            || req.match_pattern().as_deref().is_some_and(pkg_tracing::is_probe);
        Box::pin(async move {
            if !exempt && config != FaultConfig::default() {
                let latency = config.latency;
                if latency.max_ms > 0 {
                    let ms = if latency.min_ms == latency.max_ms {
                        latency.min_ms
                    } else {
                        fastrand::u64(latency.min_ms..=latency.max_ms)
                    };
                    actix_web::rt::time::sleep(Duration::from_millis(ms)).await;
                }
                if config.error_rate.0 > 0.0 && fastrand::f64() < config.error_rate.0 {
                    pkg_tracing::mark_current_span("fault.injected", true);
                    let error = ApiError::new(
                        ErrorCode::FaultInjected,
                        format!("Injected fault (error rate {}).", config.error_rate),
                    );
                    return Ok(req.into_response(error.error_response()).map_into_right_body());
                }
            }
            service.call(req).await.map(ServiceResponse::map_into_left_body)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_and_rate_parse_with_their_bounds() {
        assert_eq!("150".parse::<Latency>().unwrap(), Latency { min_ms: 150, max_ms: 150 });
        assert_eq!("50-200".parse::<Latency>().unwrap(), Latency { min_ms: 50, max_ms: 200 });
        for bad in ["", "fast", "200-50", "0-70000", "-5"] {
            assert!(bad.parse::<Latency>().is_err(), "{bad:?}");
        }
        assert_eq!("0.3".parse::<Rate>().unwrap(), Rate(0.3));
        for bad in ["-0.1", "1.5", "lots", "NaN"] {
            assert!(bad.parse::<Rate>().is_err(), "{bad:?}");
        }
    }
}
