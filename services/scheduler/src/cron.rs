//! When a schedule fires: standard crontab semantics in an IANA time zone.
//!
//! Five fields (minute hour day-of-month month day-of-week) as in crontab(5), or six with
//! seconds first. Day-of-week follows POSIX: 0 and 7 are Sunday, names (SUN-SAT) work too;
//! when both day fields are restricted a day matching either fires (Vixie cron). Nicknames
//! such as `@daily` are accepted.

use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use pkg_api::{ApiError, ErrorCode};

/// A validated cron expression in a time zone.
#[derive(Debug, Clone)]
pub struct CronSpec {
    cron: Cron,
    tz: TimeZone,
}

impl CronSpec {
    pub fn parse(expression: &str, timezone: &str) -> Result<Self, ApiError> {
        let fields = expression.split_whitespace().count();
        if !expression.trim_start().starts_with('@') && !(5..=6).contains(&fields) {
            return Err(ApiError::new(
                ErrorCode::InvalidCron,
                format!(
                    "{expression:?} has {fields} fields; a cron expression has 5 (or 6 with seconds first)."
                ),
            ));
        }
        let parser = CronParser::builder().seconds(Seconds::Optional).year(Year::Disallowed).build();
        let cron = parser.parse(expression).map_err(|e| {
            ApiError::new(
                ErrorCode::InvalidCron,
                format!("{expression:?} is not a valid cron expression: {e}."),
            )
        })?;
        let tz = parse_timezone(timezone)?;
        Ok(Self { cron, tz })
    }

    /// The first fire time strictly after `after`; `None` if the expression never fires again.
    pub fn next_after(&self, after: Timestamp) -> Option<Timestamp> {
        self.cron.find_next_occurrence(&after.to_zoned(self.tz.clone()), false).ok().map(|z| z.timestamp())
    }

    /// In words, e.g. "At 09:00 on Sunday".
    pub fn describe(&self) -> String {
        self.cron.describe()
    }
}

pub fn parse_timezone(name: &str) -> Result<TimeZone, ApiError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(ApiError::new(
            ErrorCode::InvalidTimezone,
            "The time zone is empty; use an IANA name such as UTC or Europe/Paris.",
        ));
    }
    TimeZone::get(name).map_err(|_| {
        ApiError::new(
            ErrorCode::InvalidTimezone,
            format!("{name:?} is not an IANA time zone (such as UTC or Europe/Paris)."),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn next(expr: &str, tz: &str, after: &str) -> String {
        let spec = CronSpec::parse(expr, tz).unwrap();
        spec.next_after(after.parse().unwrap()).unwrap().to_string()
    }

    // 2026-11-22 is a Sunday.
    const SATURDAY_NOON: &str = "2026-11-21T12:00:00Z";

    #[test]
    fn sunday_is_both_zero_and_seven_as_in_posix() {
        for expr in ["0 9 * * 0", "0 9 * * 7", "0 9 * * SUN"] {
            assert_eq!(next(expr, "UTC", SATURDAY_NOON), "2026-11-22T09:00:00Z", "{expr}");
        }
        assert_eq!(next("0 9 * * 1", "UTC", SATURDAY_NOON), "2026-11-23T09:00:00Z", "1 is Monday");
    }

    #[test]
    fn five_fields_are_minutes_and_six_add_seconds() {
        assert_eq!(next("*/15 * * * *", "UTC", "2026-11-21T12:07:30Z"), "2026-11-21T12:15:00Z");
        assert_eq!(next("30 */15 * * * *", "UTC", "2026-11-21T12:07:30Z"), "2026-11-21T12:15:30Z");
        assert_eq!(next("@daily", "UTC", SATURDAY_NOON), "2026-11-22T00:00:00Z");
    }

    #[test]
    fn times_are_wall_clock_in_the_schedules_zone() {
        // Paris is UTC+1 in November, New York UTC-5.
        assert_eq!(next("0 9 * * *", "Europe/Paris", SATURDAY_NOON), "2026-11-22T08:00:00Z");
        assert_eq!(next("0 9 * * *", "America/New_York", SATURDAY_NOON), "2026-11-21T14:00:00Z");
    }

    #[test]
    fn either_day_field_matches_when_both_are_restricted() {
        // The 1st of the month or a Monday, whichever comes first (Vixie cron).
        assert_eq!(next("0 0 1 * 1", "UTC", SATURDAY_NOON), "2026-11-23T00:00:00Z");
    }

    #[test]
    fn invalid_expressions_and_zones_are_named() {
        for expr in [
            "",
            "* * * *",
            "* * * * * * *",
            "61 * * * *",
            "* 25 * * *",
            "* * 32 * *",
            "* * * 13 *",
            "* * * * 8",
            "a b c d e",
        ] {
            let err = CronSpec::parse(expr, "UTC").unwrap_err();
            assert_eq!(err.code(), "invalid_cron", "{expr:?}: {err}");
        }
        for tz in ["", "Mars/Olympus", "UTC+25"] {
            assert_eq!(CronSpec::parse("* * * * *", tz).unwrap_err().code(), "invalid_timezone", "{tz:?}");
        }
    }
}
