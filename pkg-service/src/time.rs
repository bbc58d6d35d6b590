//! Timestamps as stored and served: RFC 3339, UTC, milliseconds. Fixed width, so they sort
//! as text in SQLite.

use std::time::Duration;

use jiff::Timestamp;

pub fn now() -> String {
    format_ts(Timestamp::now())
}

pub fn after(delay: Duration) -> String {
    let later = Timestamp::now().checked_add(jiff::SignedDuration::try_from(delay).unwrap_or_default());
    format_ts(later.unwrap_or_else(|_| Timestamp::now()))
}

pub fn format_ts(ts: Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// Milliseconds from `earlier` (as stored) to now; 0 if it does not parse or is in the future.
pub fn millis_since(earlier: &str) -> u64 {
    earlier
        .parse::<Timestamp>()
        .ok()
        .and_then(|t| Timestamp::now().duration_since(t).try_into().ok())
        .map(|d: Duration| d.as_millis() as u64)
        .unwrap_or(0)
}

/// How long from now until `at` (as stored); zero if past or unparsable.
pub fn until(at: &str) -> Duration {
    at.parse::<Timestamp>()
        .ok()
        .and_then(|t| t.duration_since(Timestamp::now()).try_into().ok())
        .unwrap_or(Duration::ZERO)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_fixed_width_utc_and_sortable() {
        let ts: Timestamp = "2026-01-02T03:04:05.6Z".parse().unwrap();
        assert_eq!(format_ts(ts), "2026-01-02T03:04:05.600Z");
        assert!(now() < after(Duration::from_secs(1)));
        assert_eq!(until("2000-01-01T00:00:00.000Z"), Duration::ZERO);
        assert!(millis_since("2000-01-01T00:00:00.000Z") > 0);
    }
}
