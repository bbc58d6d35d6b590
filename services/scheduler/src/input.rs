//! A schedule as clients write it, turned into a validated [`Definition`].

use jiff::Timestamp;
use pkg_api::{ApiError, ErrorCode};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::cron::CronSpec;
use crate::store::Definition;

const MAX_NAME: usize = 100;

/// The body of `POST /api/v1/schedules` and `PUT /api/v1/schedules/{id}`, and an entry of
/// `SCHEDULES_FILE`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleInput {
    /// 1 to 100 printable characters (trimmed), unique.
    #[schema(
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: String,
    /// Standard 5-field crontab (POSIX weekdays, 0 and 7 = Sunday), or 6 fields with seconds
    /// first. The pattern is the portable subset that always fires; lists, ranges, steps on
    /// values, names, days 29 to 31 and `@daily`-style macros are accepted as well.
    #[schema(
        pattern = r"^(([1-5]?[0-9]|\*(/[1-9])?) )?([1-5]?[0-9]|\*(/[1-9])?) (1?[0-9]|2[0-3]|\*(/[1-9])?) ([1-9]|1[0-9]|2[0-8]|\*) ([1-9]|1[0-2]|\*) ([0-7]|\*)$"
    )]
    pub cron: String,
    /// IANA name; UTC when absent.
    #[serde(default)]
    #[schema(schema_with = timezone_schema)]
    pub timezone: Option<String>,
    /// An absolute http(s) URL.
    pub url: String,
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
    /// `PUT` only: the version the client read; a stale one is refused (409 `conflict`).
    #[serde(default, deserialize_with = "integral")]
    pub version: Option<i64>,
}

/// `POST /api/v1/schedules`'s body as documented: a [`ScheduleInput`] without `version`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct NewSchedule {
    #[schema(
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    name: String,
    #[schema(
        pattern = r"^(([1-5]?[0-9]|\*(/[1-9])?) )?([1-5]?[0-9]|\*(/[1-9])?) (1?[0-9]|2[0-3]|\*(/[1-9])?) ([1-9]|1[0-9]|2[0-8]|\*) ([1-9]|1[0-2]|\*) ([0-7]|\*)$"
    )]
    cron: String,
    #[schema(schema_with = timezone_schema)]
    timezone: Option<String>,
    url: String,
    #[serde(default = "enabled_by_default")]
    enabled: bool,
}

/// JSON Schema's `integer` includes `3.0`; serde's `i64` alone would refuse it.
fn integral<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let Some(number) = Option::<serde_json::Number>::deserialize(d)? else { return Ok(None) };
    let whole = number
        .as_i64()
        .or_else(|| number.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15).map(|f| f as i64));
    whole
        .map(Some)
        .ok_or_else(|| serde::de::Error::custom(format!("version must be an integer, not {number}")))
}

/// The time zones the scheduler knows (its bundled IANA database), or `null` for UTC.
fn timezone_schema() -> utoipa::openapi::Object {
    use utoipa::openapi::schema::{SchemaType, Type};
    let mut names: Vec<serde_json::Value> =
        jiff::tz::db().available().map(|name| serde_json::Value::from(name.as_str())).collect();
    names.push(serde_json::Value::Null);
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .description(Some("IANA time zone; UTC when absent."))
        .enum_values(Some(names))
        .build()
}

fn enabled_by_default() -> bool {
    true
}

impl ScheduleInput {
    /// Checks every field and computes the first run after `now`.
    pub fn validate(self, now: Timestamp) -> Result<Definition, ApiError> {
        let name = self.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
            return Err(ApiError::new(
                ErrorCode::InvalidName,
                format!("A schedule name is 1 to {MAX_NAME} printable characters."),
            ));
        }
        let timezone = self.timezone.unwrap_or_else(|| "UTC".into()).trim().to_owned();
        let cron = self.cron.trim().to_owned();
        let spec = CronSpec::parse(&cron, &timezone)?;
        let url = url::Url::parse(self.url.trim())
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::InvalidUrl,
                    format!("{:?} is not an absolute http(s) URL.", self.url),
                )
            })?;
        let next_run_at = if self.enabled {
            let next = spec.next_after(now).ok_or_else(|| {
                ApiError::new(ErrorCode::InvalidCron, format!("{cron:?} never fires after now."))
            })?;
            Some(pkg_service::time::format_ts(next))
        } else {
            None
        };
        Ok(Definition { name, cron, timezone, url: url.to_string(), enabled: self.enabled, next_run_at })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(name: &str, cron: &str, tz: Option<&str>, url: &str) -> ScheduleInput {
        ScheduleInput {
            name: name.into(),
            cron: cron.into(),
            timezone: tz.map(Into::into),
            url: url.into(),
            enabled: true,
            version: None,
        }
    }

    #[test]
    fn a_valid_schedule_gets_its_first_run() {
        let now: Timestamp = "2026-11-21T12:00:00Z".parse().unwrap();
        let d = input(" nightly ", "0 3 * * *", None, "https://example.com/news").validate(now).unwrap();
        assert_eq!((d.name.as_str(), d.timezone.as_str()), ("nightly", "UTC"));
        assert_eq!(d.next_run_at.as_deref(), Some("2026-11-22T03:00:00.000Z"));
        let mut off = input("off", "0 3 * * *", None, "https://example.com/");
        off.enabled = false;
        assert_eq!(off.validate(now).unwrap().next_run_at, None, "disabled schedules have no next run");
    }

    #[test]
    fn a_version_is_any_whole_json_number() {
        let parse = |v: &str| {
            serde_json::from_str::<ScheduleInput>(&format!(
                r#"{{"name": "a", "cron": "* * * * *", "url": "https://e.x/", "version": {v}}}"#
            ))
            .map(|i| i.version)
        };
        assert_eq!(parse("3").unwrap(), Some(3));
        assert_eq!(parse("3.0").unwrap(), Some(3), "JSON Schema's integer includes 3.0");
        assert_eq!(parse("null").unwrap(), None);
        assert!(parse("3.5").is_err() && parse("\"3\"").is_err());
    }

    #[test]
    fn each_bad_field_has_its_code() {
        let now = Timestamp::now();
        let cases = [
            (input("", "* * * * *", None, "https://e.x/"), "invalid_name"),
            (input(&"n".repeat(101), "* * * * *", None, "https://e.x/"), "invalid_name"),
            (input("a", "* * *", None, "https://e.x/"), "invalid_cron"),
            (input("a", "* * * * *", Some("Nowhere/City"), "https://e.x/"), "invalid_timezone"),
            (input("a", "* * * * *", None, "ftp://e.x/"), "invalid_url"),
            (input("a", "* * * * *", None, "/relative"), "invalid_url"),
        ];
        for (case, code) in cases {
            assert_eq!(case.clone().validate(now).unwrap_err().code(), code, "{case:?}");
        }
    }
}
