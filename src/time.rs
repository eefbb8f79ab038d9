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
    utc_seconds(text).or_else(|| by_parser(text))
}

/// [`normalize`] by the general parser alone.
fn by_parser(text: &str) -> Option<String> {
    parse(text)
        .filter(|ts| (0..=9999).contains(&ts.to_zoned_datetime(TimeZone::UTC).year()))
        .map(format)
}

/// Whether `text` is in the normal form already: a date-time
/// [`normalize`] gives back unchanged.
pub fn is_normal(text: &str) -> bool {
    text.len() == 28 && utc_seconds(text).is_some_and(|normal| normal == text)
}

/// The normal form of the form most logs write, `YYYY-MM-DDTHH:MM:SSZ` with
/// 0 to 7 fractional digits, read without the general parser: the digits
/// are padded, once the date is known to exist and the time to be in
/// range. `None` for any other text (the general parser decides it).
fn utc_seconds(text: &str) -> Option<String> {
    let b = text.as_bytes();
    let digits = |from: usize, to: usize| -> Option<u32> {
        b.get(from..to)?.iter().try_fold(0u32, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let punctuated = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')]
        .iter()
        .all(|&(i, c)| b.get(i) == Some(&c));
    if !punctuated || b.last() != Some(&b'Z') {
        return None;
    }
    let (year, month, day) = (digits(0, 4)?, digits(5, 7)?, digits(8, 10)?);
    let (hour, minute, second) = (digits(11, 13)?, digits(14, 16)?, digits(17, 19)?);
    // Years before 1900 and leap seconds are left to the general parser.
    if year < 1900 || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    Date::new(
        i16::try_from(year).ok()?,
        i8::try_from(month).ok()?,
        i8::try_from(day).ok()?,
    )
    .ok()?;
    let fraction = match b.get(19..b.len() - 1)? {
        [] => &[][..],
        [b'.', rest @ ..]
            if (1..=7).contains(&rest.len()) && rest.iter().all(u8::is_ascii_digit) =>
        {
            rest
        }
        _ => return None,
    };
    let mut out = String::with_capacity(28);
    out.push_str(text.get(..19)?);
    out.push('.');
    for i in 0..7 {
        out.push(fraction.get(i).map_or('0', |&c| char::from(c)));
    }
    out.push('Z');
    Some(out)
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
    fn the_short_way_reads_as_the_general_parser() {
        let general = super::by_parser;
        let mut seed = 7u64;
        let mut next = |n: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % n
        };
        let mut checked = 0;
        for _ in 0..20_000 {
            let fraction = match next(4) {
                0 => String::new(),
                1 => format!(
                    ".{}",
                    "1234567890".get(..1 + next(9) as usize).unwrap_or("")
                ),
                2 => ".".to_string(),
                _ => format!(".{:07}", next(10_000_000)),
            };
            let text = format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{fraction}{}",
                1890 + next(150),
                next(14),
                next(33),
                next(26),
                next(62),
                next(62),
                ["Z", "z", "+00:00", ""][next(4) as usize],
            );
            assert_eq!(normalize(&text), general(&text), "{text}");
            if super::utc_seconds(&text).is_some() {
                checked += 1;
                assert_eq!(super::is_normal(&text), text.len() == 28, "{text}");
            }
        }
        assert!(checked > 2_000, "{checked}");
        for text in [
            "2024-02-29T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2025-12-31T23:59:60Z",
            " 2025-01-01T00:00:00Z",
        ] {
            assert_eq!(normalize(text), general(text), "{text}");
        }
    }

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
