//! The exporter's own variables: `OTEL_EXPORTER_OTLP_HEADERS`, `_TIMEOUT` and `_COMPRESSION`,
//! each with its `OTEL_EXPORTER_OTLP_TRACES_*` form taking precedence, as the specification
//! asks. Checked at start-up like every other variable (a header the gRPC client would refuse
//! is an error naming the variable, not a header silently left out).

use std::time::Duration;

use crate::config::ConfigError;

/// The specification's default for `OTEL_EXPORTER_OTLP_TIMEOUT`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The traces-specific variable if set, else the generic one, with the name that was used.
fn either(
    get: &dyn Fn(&str) -> Option<String>,
    traces: &'static str,
    generic: &'static str,
) -> Option<(&'static str, String)> {
    get(traces).map(|v| (traces, v)).or_else(|| get(generic).map(|v| (generic, v)))
}

fn invalid(variable: &'static str, value: &str, problem: impl Into<String>) -> ConfigError {
    ConfigError { variable, value: value.to_owned(), problem: problem.into() }
}

/// `key1=value1,key2=value2`, values percent-encoded (W3C Baggage's format, as the
/// specification says). Keys become lower-case gRPC metadata names.
pub(crate) fn headers(get: &dyn Fn(&str) -> Option<String>) -> Result<Vec<(String, String)>, ConfigError> {
    let Some((variable, raw)) =
        either(get, "OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS")
    else {
        return Ok(Vec::new());
    };
    let mut headers = Vec::new();
    for pair in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((name, value)) = pair.split_once('=') else {
            return Err(invalid(variable, &raw, format!("{pair:?} is not key=value")));
        };
        let name = name.trim().to_ascii_lowercase();
        let valid_name =
            |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.');
        if name.is_empty() || !name.chars().all(valid_name) || name.ends_with("-bin") {
            return Err(invalid(variable, &raw, format!("{name:?} is not a header name gRPC can send")));
        }
        let value = percent_decode(value.trim())
            .ok_or_else(|| invalid(variable, &raw, format!("the value of {name:?} has a broken %-escape")))?;
        if !value.chars().all(|c| c == ' ' || c.is_ascii_graphic()) {
            return Err(invalid(variable, &raw, format!("the value of {name:?} is not printable ASCII")));
        }
        headers.push((name, value));
    }
    Ok(headers)
}

/// Milliseconds for one export, connection included.
pub(crate) fn timeout(get: &dyn Fn(&str) -> Option<String>) -> Result<Duration, ConfigError> {
    match either(get, "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT") {
        None => Ok(DEFAULT_TIMEOUT),
        Some((variable, raw)) => match raw.trim().parse::<u64>() {
            Ok(ms) if ms > 0 => Ok(Duration::from_millis(ms)),
            _ => Err(invalid(variable, &raw, "expected a whole number of milliseconds above 0")),
        },
    }
}

/// Only `none`: compression costs CPU on every export to save bytes on what is usually a
/// local network, and no compressor is built in.
pub(crate) fn check_compression(get: &dyn Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
    match either(get, "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "OTEL_EXPORTER_OTLP_COMPRESSION") {
        Some((variable, raw)) if raw.trim() != "none" => Err(invalid(
            variable,
            &raw,
            "Skein's exporter sends spans uncompressed; use none or leave it unset",
        )),
        _ => Ok(()),
    }
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
    }

    #[test]
    fn headers_are_decoded_and_the_traces_variable_wins() {
        let get = vars(&[
            ("OTEL_EXPORTER_OTLP_HEADERS", "ignored=1"),
            (
                "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
                " X-Scope-OrgID = tenant%201 ,authorization=Basic%20YTpi%3D,",
            ),
        ]);
        assert_eq!(
            headers(&get).unwrap(),
            [
                ("x-scope-orgid".to_owned(), "tenant 1".to_owned()),
                ("authorization".to_owned(), "Basic YTpi=".to_owned())
            ]
        );
        assert_eq!(headers(&vars(&[])).unwrap(), []);
    }

    #[test]
    fn bad_headers_name_their_variable_and_the_problem() {
        for (raw, problem) in [
            ("novalue", "is not key=value"),
            ("bad name=1", "not a header name"),
            ("key-bin=AAAA", "not a header name"),
            ("k=%zz", "broken %-escape"),
            ("k=%0a", "not printable ASCII"),
        ] {
            let get = move |name: &str| (name == "OTEL_EXPORTER_OTLP_HEADERS").then(|| raw.to_owned());
            let err = headers(&get).unwrap_err();
            assert_eq!(err.variable, "OTEL_EXPORTER_OTLP_HEADERS");
            assert!(err.problem.contains(problem), "{raw}: {err}");
        }
    }

    #[test]
    fn the_timeout_is_milliseconds_and_compression_only_none() {
        assert_eq!(timeout(&vars(&[])).unwrap(), DEFAULT_TIMEOUT);
        assert_eq!(
            timeout(&vars(&[("OTEL_EXPORTER_OTLP_TIMEOUT", "2500")])).unwrap(),
            Duration::from_millis(2500)
        );
        let err = timeout(&vars(&[("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "10s")])).unwrap_err();
        assert_eq!(err.variable, "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT");
        assert!(check_compression(&vars(&[("OTEL_EXPORTER_OTLP_COMPRESSION", "none")])).is_ok());
        let err = check_compression(&vars(&[("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")])).unwrap_err();
        assert_eq!(err.variable, "OTEL_EXPORTER_OTLP_COMPRESSION");
    }
}
