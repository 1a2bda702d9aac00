//! Times are stored as unix milliseconds and shown as RFC 3339 in UTC with milliseconds.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime};

pub fn now_ms() -> i64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// `2026-02-24T10:30:00.000Z`.
pub fn format_ms(ms: i64) -> String {
    let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    at.format(format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z")).unwrap_or_default()
}

/// Today as `(year, month)`, for the card expiry check.
pub fn year_month() -> (u32, u32) {
    let now = OffsetDateTime::now_utc();
    (now.year() as u32, u32::from(u8::from(now.month())))
}

/// Which end of a date range a `YYYY-MM-DD` filter stands for.
#[derive(Clone, Copy)]
pub enum RangeEnd {
    /// The start of that day.
    From,
    /// The end of that day (the start of the next, exclusive).
    To,
}

/// Parses `YYYY-MM-DD` (a whole UTC day) or an RFC 3339 instant into unix milliseconds.
pub fn parse_filter_date(text: &str, end: RangeEnd) -> Option<i64> {
    if let Ok(at) = OffsetDateTime::parse(text, &Rfc3339) {
        return Some((at.unix_timestamp_nanos() / 1_000_000) as i64);
    }
    let day = Date::parse(text, format_description!("[year]-[month]-[day]")).ok()?;
    let day = match end {
        RangeEnd::From => day,
        RangeEnd::To => day.next_day()?,
    };
    Some(day.midnight().assume_utc().unix_timestamp() * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses() {
        assert_eq!(format_ms(1_771_929_000_500), "2026-02-24T10:30:00.500Z");
        assert_eq!(parse_filter_date("2026-02-24", RangeEnd::From), Some(1_771_891_200_000));
        assert_eq!(parse_filter_date("2026-02-24", RangeEnd::To), Some(1_771_977_600_000));
        assert_eq!(parse_filter_date("2026-02-24T10:30:00.500Z", RangeEnd::From), Some(1_771_929_000_500));
        assert_eq!(parse_filter_date("24/02/2026", RangeEnd::From), None);
    }
}
