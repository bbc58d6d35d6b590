//! Typed settings from environment variables, every one documented where it is read.

use std::collections::HashMap;
use std::fmt::{Display, Write as _};
use std::str::FromStr;

/// One documented variable, as `--help` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VarDoc {
    pub name: &'static str,
    pub default: String,
    pub help: &'static str,
}

/// Every problem found in the environment, reported together so one start-up shows them all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsError(pub Vec<String>);

impl Display for SettingsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid settings: {}", self.0.join("; "))
    }
}

impl std::error::Error for SettingsError {}

/// Reads variables, recording their documentation and any parse errors as it goes.
pub struct Env {
    vars: HashMap<String, String>,
    docs: Vec<VarDoc>,
    errors: Vec<String>,
}

/// A service's settings type: reads all of its variables from an [`Env`].
pub trait FromEnv: Sized {
    fn from_env(env: &mut Env) -> Self;
}

impl Env {
    /// The process environment.
    pub fn from_process() -> Self {
        Self::from_vars(std::env::vars())
    }

    /// Explicit variables: how tests build settings without touching the process environment.
    pub fn from_vars<K: Into<String>, V: Into<String>>(vars: impl IntoIterator<Item = (K, V)>) -> Self {
        Self {
            vars: vars.into_iter().map(|(k, v)| (k.into(), v.into())).collect(),
            docs: Vec::new(),
            errors: Vec::new(),
        }
    }

    /// `name` parsed as `T`, or `default` when unset or empty. A value that does not parse is
    /// recorded as an error naming the variable (and `default` is returned meanwhile).
    pub fn get<T>(&mut self, name: &'static str, default: T, help: &'static str) -> T
    where
        T: FromStr + Display,
        T::Err: Display,
    {
        self.docs.push(VarDoc { name, default: default.to_string(), help });
        self.parse(name).unwrap_or(default)
    }

    /// `name` parsed as `T`, or `None` when unset or empty.
    pub fn optional<T>(&mut self, name: &'static str, help: &'static str) -> Option<T>
    where
        T: FromStr,
        T::Err: Display,
    {
        self.docs.push(VarDoc { name, default: "(unset)".into(), help });
        self.parse(name)
    }

    /// Records a problem that only shows when values are combined (say, a minimum above a maximum).
    pub fn invalid(&mut self, message: impl Into<String>) {
        self.errors.push(message.into());
    }

    fn parse<T>(&mut self, name: &'static str) -> Option<T>
    where
        T: FromStr,
        T::Err: Display,
    {
        let raw = self.vars.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())?;
        match raw.parse() {
            Ok(value) => Some(value),
            Err(e) => {
                self.errors.push(format!("{name}={raw:?}: {e}"));
                None
            }
        }
    }
}

/// Parses `S` from `env`, failing with every invalid variable named.
pub fn load<S: FromEnv>(mut env: Env) -> Result<S, SettingsError> {
    let settings = S::from_env(&mut env);
    if env.errors.is_empty() { Ok(settings) } else { Err(SettingsError(env.errors)) }
}

/// The `--help` text: `about`, then every variable `S` reads with its default, then the
/// telemetry variables every service shares.
pub fn help_text<S: FromEnv>(about: &str) -> String {
    let mut env = Env::from_vars(Vec::<(String, String)>::new());
    let _ = S::from_env(&mut env);
    let width = env.docs.iter().map(|d| d.name.len()).max().unwrap_or(0);
    let mut out = format!("{about}\n\nEnvironment:\n");
    for doc in &env.docs {
        let _ = writeln!(out, "  {:width$}  {} (default: {})", doc.name, doc.help, doc.default);
    }
    out.push_str("\nTelemetry (OpenTelemetry standard variables):\n");
    out.push_str(pkg_tracing::ENV_HELP);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Demo {
        port: u16,
        name: String,
        limit: Option<u32>,
    }

    impl FromEnv for Demo {
        fn from_env(env: &mut Env) -> Self {
            Demo {
                port: env.get("PORT", 8080, "listen port"),
                name: env.get("NAME", "demo".to_string(), "a name"),
                limit: env.optional("LIMIT", "an optional limit"),
            }
        }
    }

    #[test]
    fn unset_and_empty_variables_take_the_default() {
        let demo: Demo = load(Env::from_vars([("NAME", " ")])).unwrap();
        assert_eq!((demo.port, demo.name.as_str(), demo.limit), (8080, "demo", None));
    }

    #[test]
    fn set_variables_are_parsed() {
        let demo: Demo = load(Env::from_vars([("PORT", "9000"), ("LIMIT", "5")])).unwrap();
        assert_eq!((demo.port, demo.limit), (9000, Some(5)));
    }

    #[test]
    fn every_bad_variable_is_reported_by_name() {
        let err = load::<Demo>(Env::from_vars([("PORT", "eighty"), ("LIMIT", "-1")])).err().unwrap();
        assert_eq!(err.0.len(), 2, "{err}");
        assert!(err.0[0].starts_with("PORT=\"eighty\""), "{err}");
        assert!(err.0[1].starts_with("LIMIT=\"-1\""), "{err}");
    }

    #[test]
    fn help_lists_every_variable_with_its_default() {
        let help = help_text::<Demo>("demo: does things");
        assert!(help.starts_with("demo: does things"));
        for needle in ["PORT", "8080", "NAME", "demo", "LIMIT", "(unset)", "OTEL_EXPORTER_OTLP_ENDPOINT"] {
            assert!(help.contains(needle), "{needle} missing from\n{help}");
        }
    }
}
