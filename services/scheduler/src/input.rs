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
    pub name: String,
    pub cron: String,
    /// IANA name; UTC when absent.
    #[serde(default)]
    pub timezone: Option<String>,
    pub url: String,
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
    /// `PUT` only: the version the client read; a stale one is refused (409 `conflict`).
    #[serde(default)]
    pub version: Option<i64>,
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
