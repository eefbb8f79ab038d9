//! Date-times in one form: every timestamp format the exports use, read into
//! one instant and written back as `YYYY-MM-DDTHH:MM:SS.fffffffZ` (UTC, 100 ns
//! ticks, Entra's own precision), so that comparing two such strings compares
//! the instants.

use jiff::Timestamp;
use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;

/// Reads a date-time in any supported form and writes it in the normal form;
/// `None` when the text is not a date-time, or its year is outside
/// 0000–9999 (where the normal form would no longer sort like the instants).
///
/// Accepted: RFC 3339 / ISO 8601 with `Z` or an offset and 0 to 9 fractional
/// digits; the same without a zone (read as UTC, as Log Analytics means it);
/// a bare date (midnight UTC); and the portal's US-locale export form
/// `4/28/2021, 2:08:45.221 PM` (UTC).
pub fn normalize(text: &str) -> Option<String> {
    parse(text)
        .filter(|ts| (0..=9999).contains(&ts.to_zoned_datetime(TimeZone::UTC).year()))
        .map(format)
}

/// Reads a date-time in any supported form (see [`normalize`]).
pub fn parse(text: &str) -> Option<Timestamp> {
    let text = text.trim();
    if text.is_empty() || text.len() > 64 {
        return None;
    }
    if let Ok(ts) = text.parse::<Timestamp>() {
        return Some(ts);
    }
    let utc = |dt: DateTime| TimeZone::UTC.to_timestamp(dt).ok();
    if let Ok(dt) = text.parse::<DateTime>() {
        return utc(dt);
    }
    if let Ok(date) = text.parse::<Date>() {
        return utc(date.to_datetime(jiff::civil::Time::midnight()));
    }
    for pattern in [
        "%m/%d/%Y, %I:%M:%S%.f %p",
        "%m/%d/%Y %I:%M:%S%.f %p",
        "%m/%d/%Y, %H:%M:%S%.f",
        "%m/%d/%Y %H:%M:%S%.f",
    ] {
        if let Ok(dt) = DateTime::strptime(pattern, text) {
            return utc(dt);
        }
    }
    None
}

/// Writes an instant in the normal form.
pub fn format(ts: Timestamp) -> String {
    let z = ts.to_zoned_datetime(TimeZone::UTC);
    format!(
        "{}.{:07}Z",
        z.strftime("%Y-%m-%dT%H:%M:%S"),
        z.subsec_nanosecond() / 100
    )
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn every_export_form_reads_to_one_instant() {
        let want = Some("2021-04-28T14:08:45.2210000Z".to_string());
        assert_eq!(normalize("2021-04-28T14:08:45.221Z"), want);
        assert_eq!(normalize("2021-04-28T14:08:45.221+00:00"), want);
        assert_eq!(normalize("2021-04-28T16:08:45.221+02:00"), want);
        assert_eq!(normalize("2021-04-28T14:08:45.221"), want);
        assert_eq!(normalize("4/28/2021, 2:08:45.221 PM"), want);
        assert_eq!(normalize("04/28/2021 2:08:45.221 PM"), want);
        assert_eq!(
            normalize("2025-02-01T16:26:24.6955459+00:00").as_deref(),
            Some("2025-02-01T16:26:24.6955459Z")
        );
        assert_eq!(
            normalize("2025-01-31").as_deref(),
            Some("2025-01-31T00:00:00.0000000Z")
        );
        assert_eq!(
            normalize("4/28/2021, 2:08:45 AM").as_deref(),
            Some("2021-04-28T02:08:45.0000000Z")
        );
    }

    #[test]
    fn other_text_is_not_a_date_time() {
        assert_eq!(normalize("yesterday"), None);
        assert_eq!(normalize(""), None);
        assert_eq!(normalize("50126"), None);
    }
}
