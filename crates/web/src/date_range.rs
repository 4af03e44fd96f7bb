//! `?from=&to=` of statistics and exports: dates in the user's time zone (`to` inclusive) or
//! RFC 3339 instants, into a half-open UTC [`TimeRange`].

use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use jt_store::exports::TimeRange;

/// The range `from`..=`to` (empty or absent sides are open). The message of an error says
/// what was wrong and what to send instead.
pub(crate) fn parse_range(
    from: Option<&str>,
    to: Option<&str>,
    zone: Tz,
) -> Result<TimeRange, String> {
    let from = from.map(str::trim).filter(|raw| !raw.is_empty());
    let to = to.map(str::trim).filter(|raw| !raw.is_empty());
    let range = TimeRange {
        from: from.map(|raw| bound(raw, zone, "from", 0)).transpose()?,
        // A date `to` includes that whole day: the range ends where the next day starts.
        to: to.map(|raw| bound(raw, zone, "to", 1)).transpose()?,
    };
    if let (Some(start), Some(end)) = (range.from, range.to)
        && start >= end
    {
        return Err("\"from\" must be before \"to\"".to_owned());
    }
    Ok(range)
}

fn bound(raw: &str, zone: Tz, name: &str, days_after: u64) -> Result<DateTime<Utc>, String> {
    if let Ok(at) = DateTime::parse_from_rfc3339(raw) {
        return Ok(at.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .ok()
        .and_then(|day| day.checked_add_days(Days::new(days_after)))
        .map(|day| start_of_day(day, zone))
        .ok_or_else(|| {
            format!(
                "\"{name}\" must be a date like 2026-11-01 (in your time zone) or an RFC 3339 time like 2026-11-01T14:30:00Z"
            )
        })
}

/// Midnight of `day` in `zone` (or the first moment of the day where midnight does not exist).
pub(crate) fn start_of_day(day: NaiveDate, zone: Tz) -> DateTime<Utc> {
    let midnight = day.and_time(chrono::NaiveTime::MIN);
    (0..=3)
        .find_map(|hour| {
            zone.from_local_datetime(&(midnight + chrono::Duration::hours(hour)))
                .earliest()
        })
        .map_or_else(|| midnight.and_utc(), |at| at.with_timezone(&Utc))
}

/// The start of the user's today.
pub(crate) fn start_of_today(zone: Tz, now: DateTime<Utc>) -> DateTime<Utc> {
    start_of_day(now.with_timezone(&zone).date_naive(), zone)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(raw: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(raw)
            .expect("time")
            .with_timezone(&Utc)
    }

    #[test]
    fn dates_are_whole_days_in_the_users_zone() {
        let range = parse_range(
            Some("2026-11-01"),
            Some("2026-11-02"),
            Tz::America__New_York,
        )
        .expect("range");
        assert_eq!(range.from, Some(utc("2026-11-01T04:00:00Z")));
        // New York leaves daylight saving time on Nov 1, 2026: the next midnight is UTC−5.
        assert_eq!(range.to, Some(utc("2026-11-03T05:00:00Z")));
    }

    #[test]
    fn instants_and_open_sides() {
        let range =
            parse_range(Some("2026-11-01T14:30:00+01:00"), Some(""), Tz::UTC).expect("range");
        assert_eq!(range.from, Some(utc("2026-11-01T13:30:00Z")));
        assert_eq!(range.to, None);
        assert_eq!(parse_range(None, None, Tz::UTC), Ok(TimeRange::default()));
    }

    #[test]
    fn mistakes_say_what_to_send() {
        let error = parse_range(Some("yesterday"), None, Tz::UTC).expect_err("bad");
        assert!(error.contains("2026-11-01"), "{error}");
        let error = parse_range(Some("2026-11-02"), Some("2026-11-01"), Tz::UTC).expect_err("bad");
        assert!(error.contains("before"), "{error}");
    }

    #[test]
    fn today_starts_at_local_midnight() {
        let now = utc("2026-11-25T03:00:00Z");
        assert_eq!(
            start_of_today(Tz::America__New_York, now),
            utc("2026-11-24T05:00:00Z")
        );
        assert_eq!(start_of_today(Tz::UTC, now), utc("2026-11-25T00:00:00Z"));
    }
}
