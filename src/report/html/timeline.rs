//! The timeline: findings per hour, grouped into hour, day, month or
//! year bars, drawn as an inline SVG histogram.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

use jiff::Span;
use jiff::civil::Date;

use super::counts::{SEVERITIES, add, get};
use super::text::{Esc, Num};
use crate::diag::plural;
use crate::finding::Severity;

/// Most distinct hours the timeline counts (more than eleven years).
const MAX_HOURS: usize = 100_000;

/// Findings per hour and severity, from `signIn.createdDateTime`.
#[derive(Debug, Default)]
pub(super) struct Timeline {
    /// Hours since 1970-01-01T00 (negative before) to counts per severity.
    pub(super) hours: BTreeMap<i64, [u64; 5]>,
    /// Findings with no (readable) time, or past [`MAX_HOURS`].
    pub(super) undated: u64,
}

impl Timeline {
    pub(super) fn add(&mut self, time: Option<&str>, severity: Severity) {
        match time.and_then(hour_of) {
            Some(h) if self.hours.len() < MAX_HOURS || self.hours.contains_key(&h) => {
                add(self.hours.entry(h).or_default(), severity, 1);
            }
            _ => self.undated += 1,
        }
    }
}

/// The hour of a `YYYY-MM-DDTHH...` time stamp, as hours since the epoch.
fn hour_of(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let at = |i: usize| b.get(i).copied();
    if at(4) != Some(b'-') || at(7) != Some(b'-') || !matches!(at(10), Some(b'T' | b't' | b' ')) {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let s = text.get(r)?;
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    let (y, m, d, h) = (num(0..4)?, num(5..7)?, num(8..10)?, num(11..13)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || h > 23 {
        return None;
    }
    Some(days_from_civil(y, m, d)? * 24 + h)
}

/// The day hours are counted from.
const EPOCH: Date = jiff::civil::date(1970, 1, 1);

/// Days since 1970-01-01 of day `d` of a month, counted on from the
/// month's first day (a day past the month's end runs into the next, as
/// the proleptic count always did). `None` past jiff's years, -9999 to
/// 9999, which a four-digit year never is.
fn days_from_civil(y: i64, m: i64, d: i64) -> Option<i64> {
    let first = Date::new(i16::try_from(y).ok()?, i8::try_from(m).ok()?, 1).ok()?;
    Some(i64::from(first.since(EPOCH).ok()?.get_days()) + d - 1)
}

/// The date of a day since 1970-01-01: (year, month, day). Days come
/// from four-digit years, within jiff's range; one outside gives the epoch.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    Span::new()
        .try_days(z)
        .and_then(|days| EPOCH.checked_add(days))
        .map_or((1970, 1, 1), |date| {
            (date.year().into(), date.month().into(), date.day().into())
        })
}

/// How long a bar of the timeline is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Unit {
    Hour,
    Day,
    Month,
    Year,
}

impl Unit {
    pub(super) fn name(self) -> &'static str {
        match self {
            Unit::Hour => "hour",
            Unit::Day => "day",
            Unit::Month => "month",
            Unit::Year => "year",
        }
    }
}

/// One bar of the timeline.
#[derive(Debug)]
pub(super) struct Bucket {
    pub(super) unit: Unit,
    /// First hour of the bucket, hours since the epoch.
    pub(super) start: i64,
    pub(super) counts: [u64; 5],
}

/// `2025-03-02 08:00`.
pub(super) fn hour_label(h: i64) -> String {
    let (y, m, d) = civil_from_days(h.div_euclid(24));
    format!("{y:04}-{m:02}-{d:02} {:02}:00", h.rem_euclid(24))
}

fn bucket_label(b: &Bucket) -> String {
    let (y, m, d) = civil_from_days(b.start.div_euclid(24));
    match b.unit {
        Unit::Hour => format!("{m:02}-{d:02} {:02}h", b.start.rem_euclid(24)),
        Unit::Day => format!("{y:04}-{m:02}-{d:02}"),
        Unit::Month => format!("{y:04}-{m:02}"),
        Unit::Year => format!("{y:04}"),
    }
}

/// The bars of the timeline: every hour, day, month or year from the
/// first finding to the last, empty ones included, at most a few hundred.
pub(super) fn buckets(hours: &BTreeMap<i64, [u64; 5]>) -> Vec<Bucket> {
    let (Some((&first, _)), Some((&last, _))) = (hours.first_key_value(), hours.last_key_value())
    else {
        return Vec::new();
    };
    let span_hours = last - first;
    let month_of = |h: i64| {
        let (y, m, _) = civil_from_days(h.div_euclid(24));
        y * 12 + m - 1
    };
    let unit = if span_hours < 72 {
        Unit::Hour
    } else if span_hours < 24 * 120 {
        Unit::Day
    } else if month_of(last) - month_of(first) < 240 {
        Unit::Month
    } else {
        Unit::Year
    };
    // The key of the bucket an hour falls in, and the bucket's first hour.
    let key = |h: i64| match unit {
        Unit::Hour => h,
        Unit::Day => h.div_euclid(24),
        Unit::Month => month_of(h),
        Unit::Year => month_of(h).div_euclid(12),
    };
    let start = |k: i64| match unit {
        Unit::Hour => k,
        Unit::Day => k * 24,
        Unit::Month => days_from_civil(k.div_euclid(12), k.rem_euclid(12) + 1, 1).unwrap_or(0) * 24,
        Unit::Year => days_from_civil(k, 1, 1).unwrap_or(0) * 24,
    };
    let (k0, k1) = (key(first), key(last));
    let mut out: Vec<Bucket> = (k0..=k1)
        .map(|k| Bucket {
            unit,
            start: start(k),
            counts: [0; 5],
        })
        .collect();
    for (h, counts) in hours {
        if let Some(b) = out.get_mut((key(*h) - k0) as usize) {
            for sev in SEVERITIES {
                add(&mut b.counts, sev, get(counts, sev));
            }
        }
    }
    out
}

/// A round number at or above `n`, for the top of the axis.
fn nice_ceiling(n: u64) -> u64 {
    if n <= 10 {
        return if n <= 5 { 5 } else { 10 };
    }
    let mut step: u64 = 1;
    loop {
        // 1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 times a power of ten.
        for tenths in [10, 15, 20, 25, 30, 40, 50, 60, 80] {
            let top = step.saturating_mul(tenths) / 10;
            if top >= n {
                return top;
            }
        }
        if step > u64::MAX / 100 {
            return n;
        }
        step *= 10;
    }
}

/// An SVG histogram of `buckets`, stacked by severity, most severe at the
/// bottom; each bar has a title (a tooltip) with its counts.
pub(super) fn svg_histogram(o: &mut String, buckets: &[Bucket]) -> fmt::Result {
    const W: f64 = 1200.0;
    const H: f64 = 200.0;
    const LEFT: f64 = 44.0;
    const RIGHT: f64 = 8.0;
    const TOP: f64 = 10.0;
    const BOTTOM: f64 = 26.0;
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let peak = buckets
        .iter()
        .map(|b| b.counts.iter().sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let top = nice_ceiling(peak);
    write!(
        o,
        "<svg class=\"hist\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"Findings over time\">"
    )?;
    for tick in [0, top / 2, top] {
        if tick == top / 2 && (top < 2 || !top.is_multiple_of(2)) {
            continue;
        }
        let y = TOP + plot_h - tick as f64 / top as f64 * plot_h;
        write!(
            o,
            "<line class=\"grid\" x1=\"{LEFT}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/>\
             <text class=\"ax\" x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            W - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            Num(tick)
        )?;
    }
    let n = buckets.len() as f64;
    let slot = plot_w / n;
    let gap = if slot > 6.0 {
        (slot * 0.18).min(6.0)
    } else {
        0.0
    };
    // A bar is at most this wide, centred in its slot, so a few bars do not
    // fill the chart.
    let bar = (slot - gap).clamp(0.5, 64.0);
    // Labels about 7 units a character wide, with room between them.
    let label_width = buckets
        .first()
        .map_or(0, |b| bucket_label(b).chars().count()) as f64
        * 7.0
        + 16.0;
    let label_every = ((label_width / slot).ceil() as usize).max(1);
    for (i, b) in buckets.iter().enumerate() {
        let x = LEFT + i as f64 * slot;
        let total: u64 = b.counts.iter().sum();
        if total > 0 {
            let mut tip = format!(
                "{} ({}): {} {}",
                bucket_label(b),
                b.unit.name(),
                total,
                plural(total, "finding", "findings")
            );
            for sev in SEVERITIES {
                let c = get(&b.counts, sev);
                if c > 0 {
                    let _ = write!(tip, ", {sev} {c}");
                }
            }
            write!(o, "<g><title>{}</title>", Esc(&tip))?;
            let mut y = TOP + plot_h;
            for sev in SEVERITIES {
                let c = get(&b.counts, sev);
                if c == 0 {
                    continue;
                }
                let h = c as f64 / top as f64 * plot_h;
                y -= h;
                write!(
                    o,
                    "<rect class=\"b-{sev}\" x=\"{:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{h:.1}\"/>",
                    x + (slot - bar) / 2.0,
                    bar
                )?;
            }
            o.push_str("</g>");
        }
        if i % label_every == 0 {
            write!(
                o,
                "<text class=\"ax\" x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                x + slot / 2.0,
                H - 8.0,
                bucket_label(b)
            )?;
        }
    }
    write!(
        o,
        "<line class=\"base\" x1=\"{LEFT}\" x2=\"{}\" y1=\"{}\" y2=\"{}\"/></svg>",
        W - RIGHT,
        TOP + plot_h,
        TOP + plot_h
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeline_buckets_by_hour_day_or_month() {
        let mut t = Timeline::default();
        t.add(Some("2025-03-02T08:11:00.1234567Z"), Severity::High);
        t.add(Some("2025-03-02T10:59:59Z"), Severity::Low);
        t.add(Some("not a time"), Severity::Low);
        t.add(None, Severity::Low);
        assert_eq!(t.undated, 2);
        let b = buckets(&t.hours);
        assert_eq!(b.len(), 3);
        assert_eq!(b[0].unit, Unit::Hour);
        assert_eq!(bucket_label(&b[0]), "03-02 08h");
        assert_eq!(b[1].counts, [0; 5]);
        t.add(Some("2025-03-20T00:00:00Z"), Severity::Info);
        let b = buckets(&t.hours);
        assert_eq!(b[0].unit, Unit::Day);
        assert_eq!(b.len(), 19);
        assert_eq!(bucket_label(&b[18]), "2025-03-20");
        t.add(Some("2026-01-01T00:00:00Z"), Severity::Info);
        let b = buckets(&t.hours);
        assert_eq!(b[0].unit, Unit::Month);
        assert_eq!(b.len(), 11);
        assert_eq!(bucket_label(&b[10]), "2026-01");
        assert_eq!(
            hour_label(hour_of("1969-12-31T23:00:00Z").unwrap()),
            "1969-12-31 23:00"
        );
    }

    #[test]
    fn the_axis_tops_at_a_round_number() {
        assert_eq!(nice_ceiling(1), 5);
        assert_eq!(nice_ceiling(7), 10);
        assert_eq!(nice_ceiling(18), 20);
        assert_eq!(nice_ceiling(2_144), 2_500);
        assert_eq!(nice_ceiling(5_365), 6_000);
        assert_eq!(nice_ceiling(u64::MAX), u64::MAX);
    }
}
