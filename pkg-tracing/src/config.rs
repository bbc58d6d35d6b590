//! Telemetry settings read from the standard `OTEL_*` variables (and `RUST_LOG`, `LOG_FORMAT`).
//!
//! Everything is parsed once, up front, so a typo is a startup error naming the variable rather
//! than a silent fallback deep inside the SDK. Code never overrides a variable that is set: the
//! values here only fill in what the environment leaves open.

use std::time::Duration;

/// Where the OTLP/gRPC exporter sends spans when neither endpoint variable is set.
pub const DEFAULT_OTLP_ENDPOINT: &str = "http://localhost:4317";

/// A variable with a value Skein cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}={value:?} is invalid: {problem}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub value: String,
    pub problem: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExporterKind {
    /// OTLP over gRPC to [`TelemetryConfig::otlp_endpoint`].
    Otlp,
    /// One line per finished span on standard error; for a quick look without a collector.
    Console,
    /// Spans are created (so context still propagates) but sent nowhere.
    None,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SamplerConfig {
    AlwaysOn,
    AlwaysOff,
    TraceIdRatio(f64),
    ParentBasedAlwaysOn,
    ParentBasedAlwaysOff,
    ParentBasedTraceIdRatio(f64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Pretty,
}

/// Everything `init` needs, resolved from the environment.
#[derive(Debug, Clone, PartialEq)]
pub struct TelemetryConfig {
    /// `OTEL_SERVICE_NAME`, else the name the service passes in.
    pub service_name: String,
    pub service_version: String,
    /// `OTEL_SDK_DISABLED=true`: no SDK, nothing exported; incoming context is still forwarded.
    pub sdk_disabled: bool,
    pub exporter: ExporterKind,
    pub otlp_endpoint: String,
    /// `OTEL_EXPORTER_OTLP_(TRACES_)HEADERS`: sent with every export (say, a tenant id).
    pub otlp_headers: Vec<(String, String)>,
    /// `OTEL_EXPORTER_OTLP_(TRACES_)TIMEOUT`: the longest one export may take.
    pub otlp_timeout: Duration,
    pub sampler: SamplerConfig,
    pub log_format: LogFormat,
    pub log_filter: String,
    /// `URL_QUERY_ALLOWLIST`: query keys whose values are kept in `url.full` and logs.
    pub url_query_allowlist: Vec<String>,
    /// `OTEL_BSP_SCHEDULE_DELAY`: how long spans wait to be exported in a batch.
    pub bsp_schedule_delay: Duration,
    /// `OTEL_BSP_MAX_QUEUE_SIZE`: spans waiting for export at most; more are dropped, counted.
    pub bsp_max_queue_size: usize,
    /// `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`: spans per export request at most (≤ the queue size).
    pub bsp_max_export_batch_size: usize,
    /// `OTEL_BSP_EXPORT_TIMEOUT`: the longest one export may take, however the exporter's own
    /// timeout is set.
    pub bsp_export_timeout: Duration,
    /// `OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT`, `OTEL_SPAN_EVENT_COUNT_LIMIT`,
    /// `OTEL_SPAN_LINK_COUNT_LIMIT`: what one span keeps at most.
    pub span_limits: SpanLimits,
}

/// What one span keeps at most; more is dropped and counted in the span's `dropped_*` fields.
/// The defaults are the SDK's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpanLimits {
    pub attributes: u32,
    pub events: u32,
    pub links: u32,
}

impl Default for SpanLimits {
    fn default() -> Self {
        Self { attributes: 128, events: 128, links: 128 }
    }
}

const INTEGER_VARIABLES: [&str; 8] = [
    "OTEL_BSP_SCHEDULE_DELAY",
    "OTEL_BSP_EXPORT_TIMEOUT",
    "OTEL_BSP_MAX_QUEUE_SIZE",
    "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
    "OTEL_BSP_MAX_CONCURRENT_EXPORTS",
    "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT",
    "OTEL_SPAN_EVENT_COUNT_LIMIT",
    "OTEL_SPAN_LINK_COUNT_LIMIT",
];

impl TelemetryConfig {
    /// Reads the process environment. `is_terminal` picks pretty logs when `LOG_FORMAT` is unset.
    pub fn from_env(service_name: &str, service_version: &str) -> Result<Self, ConfigError> {
        use std::io::IsTerminal;
        let on_terminal = std::io::stdout().is_terminal();
        Self::from_lookup(service_name, service_version, on_terminal, |name| std::env::var(name).ok())
    }

    /// Same as [`Self::from_env`] with the variables supplied by `lookup`, so the rules can be
    /// tested without touching the process environment.
    pub fn from_lookup(
        service_name: &str,
        service_version: &str,
        on_terminal: bool,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        // An empty variable counts as unset, as the OpenTelemetry specification asks.
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());

        let sdk_disabled = match get("OTEL_SDK_DISABLED") {
            None => false,
            Some(v) => parse_bool("OTEL_SDK_DISABLED", &v)?,
        };
        let exporter = match get("OTEL_TRACES_EXPORTER").as_deref().map(str::trim) {
            None | Some("otlp") => ExporterKind::Otlp,
            Some("console") => ExporterKind::Console,
            Some("none") => ExporterKind::None,
            Some(other) => {
                return Err(invalid("OTEL_TRACES_EXPORTER", other, "expected otlp, console or none"));
            }
        };
        if let Some(protocol) = get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
            .map(|v| ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", v))
            .or_else(|| get("OTEL_EXPORTER_OTLP_PROTOCOL").map(|v| ("OTEL_EXPORTER_OTLP_PROTOCOL", v)))
            && protocol.1.trim() != "grpc"
        {
            return Err(invalid(protocol.0, &protocol.1, "Skein exports OTLP over gRPC only; use grpc"));
        }
        let otlp_endpoint = match get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            .map(|v| ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", v))
            .or_else(|| get("OTEL_EXPORTER_OTLP_ENDPOINT").map(|v| ("OTEL_EXPORTER_OTLP_ENDPOINT", v)))
        {
            None => DEFAULT_OTLP_ENDPOINT.to_owned(),
            Some((variable, value)) => parse_endpoint(variable, &value)?,
        };
        let otlp_headers = crate::otlp::settings::headers(&get)?;
        let otlp_timeout = crate::otlp::settings::timeout(&get)?;
        crate::otlp::settings::check_compression(&get)?;
        let sampler = parse_sampler(get("OTEL_TRACES_SAMPLER"), get("OTEL_TRACES_SAMPLER_ARG"))?;
        for variable in INTEGER_VARIABLES {
            if let Some(value) = get(variable) {
                value
                    .trim()
                    .parse::<u64>()
                    .map_err(|_| invalid(variable, &value, "expected a whole number"))?;
            }
        }
        // Checked above: each is a whole number when set. Defaults are the SDK's; a zero queue
        // or batch would export nothing, so they are at least one span.
        let whole = |variable: &str, default: u64| {
            get(variable).and_then(|v| v.trim().parse::<u64>().ok()).unwrap_or(default)
        };
        let bsp_schedule_delay = Duration::from_millis(whole("OTEL_BSP_SCHEDULE_DELAY", 5_000));
        let bsp_max_queue_size = whole("OTEL_BSP_MAX_QUEUE_SIZE", 2_048).max(1) as usize;
        let bsp_max_export_batch_size =
            (whole("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 512).max(1) as usize).min(bsp_max_queue_size);
        let bsp_export_timeout = Duration::from_millis(whole("OTEL_BSP_EXPORT_TIMEOUT", 30_000));
        let defaults = SpanLimits::default();
        let limit =
            |variable: &str, default: u32| whole(variable, default.into()).min(u32::MAX.into()) as u32;
        let span_limits = SpanLimits {
            attributes: limit("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", defaults.attributes),
            events: limit("OTEL_SPAN_EVENT_COUNT_LIMIT", defaults.events),
            links: limit("OTEL_SPAN_LINK_COUNT_LIMIT", defaults.links),
        };
        if let Some(attributes) = get("OTEL_RESOURCE_ATTRIBUTES")
            && let Some(bad) =
                attributes.split(',').find(|pair| !pair.trim().is_empty() && !pair.contains('='))
        {
            return Err(invalid(
                "OTEL_RESOURCE_ATTRIBUTES",
                &attributes,
                &format!("{bad:?} is not key=value"),
            ));
        }
        let log_format = match get("LOG_FORMAT").as_deref().map(str::trim) {
            None if on_terminal => LogFormat::Pretty,
            None | Some("json") => LogFormat::Json,
            Some("pretty") => LogFormat::Pretty,
            Some(other) => return Err(invalid("LOG_FORMAT", other, "expected json or pretty")),
        };
        let log_filter = get("RUST_LOG").unwrap_or_else(|| "info".to_owned());
        tracing_subscriber::EnvFilter::try_new(&log_filter)
            .map_err(|e| invalid("RUST_LOG", &log_filter, &e.to_string()))?;

        Ok(Self {
            // Precedence per the specification: OTEL_SERVICE_NAME, then a service.name inside
            // OTEL_RESOURCE_ATTRIBUTES, then the name the service gives itself.
            service_name: get("OTEL_SERVICE_NAME")
                .or_else(|| get("OTEL_RESOURCE_ATTRIBUTES").and_then(|a| resource_service_name(&a)))
                .unwrap_or_else(|| service_name.to_owned()),
            service_version: service_version.to_owned(),
            sdk_disabled,
            exporter,
            otlp_endpoint,
            otlp_headers,
            otlp_timeout,
            sampler,
            log_format,
            log_filter,
            url_query_allowlist: get("URL_QUERY_ALLOWLIST")
                .map(|v| v.split(',').map(|k| k.trim().to_owned()).filter(|k| !k.is_empty()).collect())
                .unwrap_or_default(),
            bsp_schedule_delay,
            bsp_max_queue_size,
            bsp_max_export_batch_size,
            bsp_export_timeout,
            span_limits,
        })
    }
}

fn resource_service_name(attributes: &str) -> Option<String> {
    attributes.split(',').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key.trim() == "service.name" && !value.trim().is_empty()).then(|| value.trim().to_owned())
    })
}

fn invalid(variable: &'static str, value: &str, problem: &str) -> ConfigError {
    ConfigError { variable, value: value.to_owned(), problem: problem.to_owned() }
}

fn parse_bool(variable: &'static str, value: &str) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(invalid(variable, value, "expected true or false")),
    }
}

fn parse_endpoint(variable: &'static str, value: &str) -> Result<String, ConfigError> {
    let value = value.trim();
    let uri: actix_http::Uri =
        value.parse().map_err(|e| invalid(variable, value, &format!("not a URL: {e}")))?;
    match (uri.scheme_str(), uri.host()) {
        (Some("http" | "https"), Some(_)) => Ok(value.to_owned()),
        _ => Err(invalid(variable, value, "expected an http:// or https:// URL with a host")),
    }
}

fn parse_sampler(name: Option<String>, arg: Option<String>) -> Result<SamplerConfig, ConfigError> {
    // The ratio samplers default to 1.0 when the argument is absent (OpenTelemetry spec).
    let ratio = || -> Result<f64, ConfigError> {
        match &arg {
            None => Ok(1.0),
            Some(raw) => match raw.trim().parse::<f64>() {
                Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
                _ => Err(invalid("OTEL_TRACES_SAMPLER_ARG", raw, "expected a number from 0 to 1")),
            },
        }
    };
    Ok(match name.as_deref().map(str::trim) {
        None | Some("parentbased_always_on") => SamplerConfig::ParentBasedAlwaysOn,
        Some("always_on") => SamplerConfig::AlwaysOn,
        Some("always_off") => SamplerConfig::AlwaysOff,
        Some("traceidratio") => SamplerConfig::TraceIdRatio(ratio()?),
        Some("parentbased_always_off") => SamplerConfig::ParentBasedAlwaysOff,
        Some("parentbased_traceidratio") => SamplerConfig::ParentBasedTraceIdRatio(ratio()?),
        Some(other) => {
            return Err(invalid(
                "OTEL_TRACES_SAMPLER",
                other,
                "expected always_on, always_off, traceidratio, parentbased_always_on, \
                 parentbased_always_off or parentbased_traceidratio",
            ));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<TelemetryConfig, ConfigError> {
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        TelemetryConfig::from_lookup("svc", "1.2.3", false, move |name| {
            vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn defaults_follow_the_specification() {
        let c = config(&[]).unwrap();
        assert_eq!(c.service_name, "svc");
        assert_eq!(c.otlp_endpoint, DEFAULT_OTLP_ENDPOINT);
        assert_eq!(c.sampler, SamplerConfig::ParentBasedAlwaysOn);
        assert_eq!(c.exporter, ExporterKind::Otlp);
        assert_eq!(c.log_format, LogFormat::Json);
        assert_eq!(c.log_filter, "info");
        assert!(!c.sdk_disabled);
    }

    #[test]
    fn set_variables_win_over_code_defaults() {
        let c = config(&[
            ("OTEL_SERVICE_NAME", "renamed"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317"),
            ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "0.25"),
            ("OTEL_TRACES_EXPORTER", "console"),
            ("OTEL_SDK_DISABLED", "TRUE"),
            ("LOG_FORMAT", "pretty"),
        ])
        .unwrap();
        assert_eq!(c.service_name, "renamed");
        assert_eq!(c.otlp_endpoint, "http://collector:4317");
        assert_eq!(c.sampler, SamplerConfig::ParentBasedTraceIdRatio(0.25));
        assert_eq!(c.exporter, ExporterKind::Console);
        assert!(c.sdk_disabled);
        assert_eq!(c.log_format, LogFormat::Pretty);
    }

    #[test]
    fn batching_variables_are_read_with_the_sdks_defaults_and_a_batch_never_exceeds_the_queue() {
        let c = config(&[]).unwrap();
        assert_eq!(
            (c.bsp_schedule_delay, c.bsp_max_queue_size, c.bsp_max_export_batch_size, c.bsp_export_timeout),
            (Duration::from_secs(5), 2048, 512, Duration::from_secs(30))
        );
        let c = config(&[
            ("OTEL_BSP_SCHEDULE_DELAY", "250"),
            ("OTEL_BSP_MAX_QUEUE_SIZE", "100"),
            ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "400"),
            ("OTEL_BSP_EXPORT_TIMEOUT", " 1500 "),
        ])
        .unwrap();
        assert_eq!(c.bsp_schedule_delay, Duration::from_millis(250));
        assert_eq!(c.bsp_max_queue_size, 100);
        assert_eq!(c.bsp_max_export_batch_size, 100, "capped at the queue size");
        assert_eq!(c.bsp_export_timeout, Duration::from_millis(1500));
        let c = config(&[("OTEL_BSP_MAX_QUEUE_SIZE", "0"), ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "0")]).unwrap();
        assert_eq!((c.bsp_max_queue_size, c.bsp_max_export_batch_size), (1, 1), "never zero");
    }

    #[test]
    fn span_limits_are_read_with_the_sdks_defaults_and_a_bad_one_names_its_variable() {
        let limits = |env: &[(&str, &str)]| config(env).map(|c| c.span_limits);
        assert_eq!(limits(&[]).unwrap(), SpanLimits { attributes: 128, events: 128, links: 128 });
        let set = limits(&[
            ("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "10"),
            ("OTEL_SPAN_EVENT_COUNT_LIMIT", "0"),
            ("OTEL_SPAN_LINK_COUNT_LIMIT", " 3 "),
        ]);
        assert_eq!(set.unwrap(), SpanLimits { attributes: 10, events: 0, links: 3 });
        let error = limits(&[("OTEL_SPAN_EVENT_COUNT_LIMIT", "many")]).unwrap_err();
        assert_eq!(error.variable, "OTEL_SPAN_EVENT_COUNT_LIMIT");
    }

    #[test]
    fn service_name_precedence_follows_the_specification() {
        let from_attributes = config(&[("OTEL_RESOURCE_ATTRIBUTES", "team=core,service.name=attr")]).unwrap();
        assert_eq!(from_attributes.service_name, "attr");
        let both =
            config(&[("OTEL_RESOURCE_ATTRIBUTES", "service.name=attr"), ("OTEL_SERVICE_NAME", "explicit")])
                .unwrap();
        assert_eq!(both.service_name, "explicit");
    }

    #[test]
    fn the_signal_specific_endpoint_takes_precedence() {
        let c = config(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://generic:4317"),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://traces:4317"),
        ])
        .unwrap();
        assert_eq!(c.otlp_endpoint, "http://traces:4317");
    }

    #[test]
    fn bad_values_name_their_variable() {
        let cases = [
            ("OTEL_TRACES_SAMPLER", "sometimes"),
            ("OTEL_SDK_DISABLED", "yes"),
            ("OTEL_TRACES_EXPORTER", "zipkin"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "localhost:4317"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
            ("OTEL_BSP_MAX_QUEUE_SIZE", "lots"),
            ("OTEL_RESOURCE_ATTRIBUTES", "team=core,oops"),
            ("LOG_FORMAT", "xml"),
            ("RUST_LOG", "info,[[["),
        ];
        for (variable, value) in cases {
            let err = config(&[(variable, value)]).unwrap_err();
            assert_eq!(err.variable, variable, "{err}");
            assert!(err.to_string().starts_with(variable), "{err}");
        }
    }

    #[test]
    fn a_ratio_outside_zero_to_one_is_rejected() {
        let err = config(&[("OTEL_TRACES_SAMPLER", "traceidratio"), ("OTEL_TRACES_SAMPLER_ARG", "1.5")])
            .unwrap_err();
        assert_eq!(err.variable, "OTEL_TRACES_SAMPLER_ARG");
    }

    #[test]
    fn empty_variables_count_as_unset() {
        let c = config(&[("OTEL_TRACES_SAMPLER", ""), ("OTEL_SERVICE_NAME", " ")]).unwrap();
        assert_eq!(c.sampler, SamplerConfig::ParentBasedAlwaysOn);
        assert_eq!(c.service_name, "svc");
    }
}
