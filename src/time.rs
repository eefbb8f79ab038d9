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
/// [`normalize`] gives back unchanged (of the years 1900 on; for an
/// earlier one `false`, and normalizing gives it back).
pub fn is_normal(text: &str) -> bool {
    // 28 bytes of the short form can only be 19, a point, 7 digits and
    // `Z`: the normal form itself.
    text.len() == 28 && utc_fraction(text).is_some()
}

/// The normal form of the form most logs write, `YYYY-MM-DDTHH:MM:SSZ` with
/// 0 to 7 fractional digits, read without the general parser: the digits
/// are padded, once the date is known to exist and the time to be in
/// range. `None` for any other text (the general parser decides it).
fn utc_seconds(text: &str) -> Option<String> {
    let fraction = utc_fraction(text)?;
    let mut out = String::with_capacity(28);
    out.push_str(text.get(..19)?);
    out.push('.');
    for i in 0..7 {
        out.push(fraction.get(i).map_or('0', |&c| char::from(c)));
    }
    out.push('Z');
    Some(out)
}

/// The fraction digits (0 to 7) of a text in the form [`utc_seconds`]
/// reads, once the whole text is known to be of that form.
fn utc_fraction(text: &str) -> Option<&[u8]> {
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
    Some(fraction)
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

/// Writes an instant in the normal form: digit by digit for the years
/// 0000 to 9999 (the ones normal forms are made of; a run writes one for
/// every record a rule over many records keeps), by jiff's `strftime`
/// for the others.
pub fn format(ts: Timestamp) -> String {
    let nanos = ts.as_nanosecond();
    let (Ok(seconds), Ok(subsec)) = (
        i64::try_from(nanos.div_euclid(1_000_000_000)),
        u32::try_from(nanos.rem_euclid(1_000_000_000)),
    ) else {
        return by_strftime(ts);
    };
    let (year, month, day) = civil_from_days(seconds.div_euclid(86_400));
    let Ok(year) = u32::try_from(year) else {
        return by_strftime(ts);
    };
    if year > 9999 {
        return by_strftime(ts);
    }
    // In 0..86,400, so the casts are exact.
    let of_day = seconds.rem_euclid(86_400) as u32;
    let mut out = String::with_capacity(28);
    let mut put = |n: u32, width: u32, then: Option<char>| {
        for place in (0..width).rev() {
            let digit = n / 10u32.pow(place) % 10;
            out.push(char::from(b'0' + digit as u8));
        }
        out.extend(then);
    };
    put(year, 4, Some('-'));
    put(month, 2, Some('-'));
    put(day, 2, Some('T'));
    put(of_day / 3600, 2, Some(':'));
    put(of_day / 60 % 60, 2, Some(':'));
    put(of_day % 60, 2, Some('.'));
    put(subsec / 100, 7, Some('Z'));
    out
}

/// [`format()`] by jiff, for any instant.
fn by_strftime(ts: Timestamp) -> String {
    let z = ts.to_zoned_datetime(TimeZone::UTC);
    format!(
        "{}.{:07}Z",
        z.strftime("%Y-%m-%dT%H:%M:%S"),
        z.subsec_nanosecond() / 100
    )
}

/// The proleptic Gregorian (year, month, day) of a day counted from
/// 1970-01-01, by eras of 400 years (146,097 days each).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let of_era = z.rem_euclid(146_097);
    let year_of_era = (of_era - of_era / 1460 + of_era / 36_524 - of_era / 146_096) / 365;
    let of_year = of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    // March-based month, 0..12.
    let m = (5 * of_year + 2) / 153;
    let day = (of_year - (153 * m + 2) / 5 + 1) as u32;
    let month = if m < 10 { m + 3 } else { m - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::normalize;
    use jiff::civil::DateTime;
    use jiff::tz::TimeZone;

    #[test]
    fn instants_are_written_as_jiff_writes_them() {
        let mut seed = 11u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            seed >> 11
        };
        let at = |y: i16, m: i8, d: i8, h: i8, nanos: i32| {
            let dt = DateTime::new(y, m, d, h, 59, 59, nanos).unwrap();
            TimeZone::UTC.to_timestamp(dt).unwrap()
        };
        let mut instants = vec![
            at(1970, 1, 1, 0, 0),
            at(1969, 12, 31, 23, 999_999_999),
            at(0, 1, 1, 0, 0),
            at(0, 2, 29, 12, 0),
            at(-1, 12, 31, 23, 999_999_900),
            at(1900, 2, 28, 23, 0),
            at(1900, 3, 1, 0, 0),
            at(2000, 2, 29, 0, 100),
            at(2100, 3, 1, 0, 0),
            at(9999, 12, 30, 21, 999_999_900),
            jiff::Timestamp::MIN,
            jiff::Timestamp::MAX,
        ];
        // Years -9999 to 9999, at any nanosecond.
        let span = jiff::Timestamp::MAX.as_nanosecond() - jiff::Timestamp::MIN.as_nanosecond();
        for _ in 0..100_000 {
            let wide = (i128::from(next()) << 64 | i128::from(next())) % span;
            let nanos = jiff::Timestamp::MIN.as_nanosecond() + wide.abs();
            instants.push(jiff::Timestamp::from_nanosecond(nanos).unwrap());
        }
        // Years 1900 to 2100, near the ones logs hold.
        for _ in 0..100_000 {
            let seconds = -2_208_988_800 + (next() % 6_311_433_600) as i64;
            let nanos = (next() % 1_000_000_000) as i32;
            instants.push(jiff::Timestamp::new(seconds, nanos).unwrap());
        }
        let mut fast = 0;
        for ts in instants {
            let written = super::format(ts);
            assert_eq!(written, super::by_strftime(ts), "{ts:?}");
            fast += usize::from(!written.starts_with('-'));
        }
        assert!(fast > 150_000, "only {fast} written digit by digit");
    }

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
            // What is normal is what normalizing gives back unchanged
            // (from 1900 on: earlier years are left to normalizing).
            let unchanged = normalize(&text).as_deref() == Some(text.as_str());
            let modern = text.get(..4).is_some_and(|y| y >= "1900");
            assert_eq!(super::is_normal(&text), unchanged && modern, "{text}");
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
