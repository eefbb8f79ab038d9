//! Event time in ticks (100 ns since the Unix epoch): read from a
//! record's time text, and written back for findings.

use std::fmt::Write as _;

use crate::window::Ticks;

/// Ticks (100 ns) since the Unix epoch of a record's time, read with the
/// same reader as normalization (7 fraction digits are exact in ticks).
pub fn parse_ticks(text: &str) -> Option<Ticks> {
    let ts = crate::time::parse(text)?;
    Ticks::try_from(ts.as_nanosecond() / 100).ok()
}

/// The normal form of a time in ticks.
pub fn format_ticks(ticks: Ticks) -> String {
    match jiff::Timestamp::from_nanosecond(i128::from(ticks) * 100) {
        Ok(ts) => crate::time::format(ts),
        Err(_) => ticks.to_string(),
    }
}

/// A duration written like `12m30s` (whole seconds; `0s` when shorter).
pub fn format_duration(ticks: Ticks) -> String {
    let mut secs = ticks.max(0) / crate::window::TICKS_PER_SECOND;
    let mut out = String::new();
    for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] {
        let n = secs / size;
        secs %= size;
        if n > 0 {
            let _ = write!(out, "{n}{unit}");
        }
    }
    if out.is_empty() {
        out.push_str("0s");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_times_read_exactly() {
        assert_eq!(parse_ticks("1970-01-01T00:00:00.0000001Z"), Some(1));
        assert_eq!(
            parse_ticks("2025-03-01T10:20:30.1234567Z"),
            crate::time::parse("2025-03-01T10:20:30.1234567Z")
                .map(|t| (t.as_nanosecond() / 100) as i64)
        );
        assert_eq!(
            parse_ticks("1969-12-31T23:59:59.0000000Z"),
            Some(-10_000_000)
        );
        assert_eq!(parse_ticks("not a time"), None);
        assert_eq!(
            format_ticks(parse_ticks("2025-03-01T10:20:30.1234567Z").unwrap_or(0)),
            "2025-03-01T10:20:30.1234567Z"
        );
    }

    #[test]
    fn durations_read_like_spans() {
        assert_eq!(format_duration(0), "0s");
        assert_eq!(format_duration(750 * 10_000_000), "12m30s");
        assert_eq!(format_duration(3600 * 10_000_000), "1h");
    }
}
