//! Travel between two sign-ins, as a sequence step's `travel` asks: the
//! great-circle distance between their `location.geoCoordinates` and that
//! distance over the time between them.
//!
//! The arithmetic, exactly (IEEE 754 double precision, in this order):
//!
//! - a point is `latitude` and `longitude` in degrees, each a number (or
//!   text that reads as one, as Log Analytics may hold it), finite, the
//!   latitude within ±90 and the longitude within ±180; anything else (no
//!   `location`, no `geoCoordinates`, a missing or unreadable value) is no
//!   point, and a record without one pairs with nothing;
//! - the distance is the haversine formula on a sphere of
//!   [`EARTH_RADIUS_KM`]: with φ the latitudes in radians and Δφ, Δλ the
//!   differences of the latitudes and of the longitudes in degrees, then
//!   turned into radians, `h = sin²(Δφ/2) + cos φ₁ · cos φ₂ · sin²(Δλ/2)`
//!   (each square a product of the sine with itself) and
//!   `d = 2 R · asin(min(1, √h))`;
//! - the time between the records is the absolute difference of their
//!   event times in hours (`|Δticks| / 36,000,000,000`), and the speed is
//!   the distance over it; at the same instant the speed is infinite when
//!   the distance is above zero, and zero when it is zero.
//!
//! The formula is symmetric, bit for bit, in its two points. Trigonometry
//! in floating point is not the same in every engine, so the query
//! targets refuse `travel` rather than decide its bounds differently.

use serde_json::Value;

use crate::check::Bound;
use crate::window::Ticks;

/// The mean radius of the Earth in km (IUGG), the sphere distances are
/// measured on.
pub const EARTH_RADIUS_KM: f64 = 6371.0088;

/// Ticks of 100 ns in an hour.
const TICKS_PER_HOUR: f64 = 36_000_000_000.0;

/// A place on the Earth, in degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Degrees north, -90 to 90.
    pub lat: f64,
    /// Degrees east, -180 to 180.
    pub lon: f64,
}

/// The distance and speed between two records.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measured {
    /// Great-circle km.
    pub km: f64,
    /// km over hours between the records; infinite for a distance above
    /// zero at the same instant.
    pub kmh: f64,
}

/// The point of a canonical record, from `location.geoCoordinates`.
pub(crate) fn coordinates<O: crate::record::Object + ?Sized>(fields: &O) -> Option<Point> {
    let geo = fields.get_value("location")?.get("geoCoordinates")?;
    let degrees = |name: &str, limit: f64| {
        let v = match geo.get(name)? {
            Value::Number(n) => n.as_f64()?,
            Value::String(s) => s.trim().parse::<f64>().ok()?,
            _ => return None,
        };
        (v.is_finite() && v.abs() <= limit).then_some(v)
    };
    Some(Point {
        lat: degrees("latitude", 90.0)?,
        lon: degrees("longitude", 180.0)?,
    })
}

/// A point with the cosine of its latitude, which every distance from it
/// needs: computed once per record rather than once per pair.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Place {
    /// The point.
    pub point: Point,
    /// `cos φ`, the latitude in radians.
    cos_lat: f64,
}

impl From<Point> for Place {
    fn from(point: Point) -> Place {
        Place {
            point,
            cos_lat: point.lat.to_radians().cos(),
        }
    }
}

/// The great-circle distance between two places in km (haversine). The
/// same point twice is 0 without trigonometry, as the formula gives it
/// (every sine is of 0).
pub fn distance(a: &Place, b: &Place) -> f64 {
    if a.point == b.point {
        return 0.0;
    }
    let half_dphi = (b.point.lat - a.point.lat).to_radians() / 2.0;
    let half_dlambda = (b.point.lon - a.point.lon).to_radians() / 2.0;
    let h = half_dphi.sin() * half_dphi.sin()
        + a.cos_lat * b.cos_lat * (half_dlambda.sin() * half_dlambda.sin());
    2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin()
}

/// A distance over the time between two event times, in km/h.
pub fn speed_kmh(km: f64, from: Ticks, to: Ticks) -> f64 {
    let ticks = to.abs_diff(from);
    if ticks == 0 {
        if km > 0.0 { f64::INFINITY } else { 0.0 }
    } else {
        km / (ticks as f64 / TICKS_PER_HOUR)
    }
}

/// The distance and speed from one record to another (their places and
/// event times); `None` when either has no point.
pub fn measure(
    from: Option<&Place>,
    from_time: Ticks,
    to: Option<&Place>,
    to_time: Ticks,
) -> Option<Measured> {
    let km = distance(from?, to?);
    Some(Measured {
        km,
        kmh: speed_kmh(km, from_time, to_time),
    })
}

/// A step's `travel`, compiled: from which step, and the bounds.
#[derive(Debug, Clone, PartialEq)]
pub struct TravelTest {
    /// The index of the step travelled from.
    pub from: usize,
    /// Bound on the speed, km/h.
    pub kmh: Option<Bound>,
    /// Bound on the distance, km.
    pub km: Option<Bound>,
}

impl TravelTest {
    /// Whether a measured pair meets every bound.
    pub fn holds_for(&self, m: Measured) -> bool {
        self.kmh.as_ref().is_none_or(|b| b.holds(m.kmh))
            && self.km.as_ref().is_none_or(|b| b.holds(m.km))
    }

    /// Whether the travel from a record of the earlier step to this step's
    /// record meets every bound: false when either has no point.
    pub fn holds(
        &self,
        from: Option<&Place>,
        from_time: Ticks,
        to: Option<&Place>,
        to_time: Ticks,
    ) -> bool {
        measure(from, from_time, to, to_time).is_some_and(|m| self.holds_for(m))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::CountCmp;
    use crate::diag::Span;
    use serde_json::json;

    const HOUR: Ticks = 36_000_000_000;

    fn point(lat: f64, lon: f64) -> Point {
        Point { lat, lon }
    }

    fn distance_km(a: Point, b: Point) -> f64 {
        distance(&Place::from(a), &Place::from(b))
    }

    fn fields(v: Value) -> serde_json::Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => serde_json::Map::new(),
        }
    }

    #[test]
    fn known_distances() {
        let london = point(51.5074, -0.1278);
        let sydney = point(-33.8688, 151.2093);
        let paris = point(48.8566, 2.3522);
        let d = distance_km(london, sydney);
        assert!((d - 16_994.0).abs() < 20.0, "{d}");
        let d = distance_km(london, paris);
        assert!((d - 343.5).abs() < 2.0, "{d}");
        assert_eq!(distance_km(paris, paris), 0.0);
        // Antipodes: half the circumference, the `min(1, ...)` guarding
        // the square root.
        let d = distance_km(point(0.0, 0.0), point(0.0, 180.0));
        assert!(
            (d - std::f64::consts::PI * EARTH_RADIUS_KM).abs() < 1e-6,
            "{d}"
        );
        // Across the antimeridian: the short way round.
        let d = distance_km(point(0.0, 179.5), point(0.0, -179.5));
        assert!((d - 111.2).abs() < 0.5, "{d}");
    }

    /// The shortcut for one point twice gives what the formula gives.
    #[test]
    fn the_same_point_is_no_distance() {
        for p in [point(51.5, -0.12), point(-90.0, 180.0), point(0.0, -0.0)] {
            let place = Place::from(p);
            assert_eq!(distance(&place, &place).to_bits(), 0.0f64.to_bits());
            // A hair apart: the formula, nearly 0.
            let other = Place::from(point(p.lat, p.lon + 1e-9));
            assert!(distance(&place, &other) < 1e-6);
        }
    }

    #[test]
    fn the_distance_is_symmetric_bit_for_bit() {
        let mut x = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 11) as f64 / (1u64 << 53) as f64
        };
        for _ in 0..10_000 {
            let a = point(next() * 180.0 - 90.0, next() * 360.0 - 180.0);
            let b = point(next() * 180.0 - 90.0, next() * 360.0 - 180.0);
            assert_eq!(distance_km(a, b).to_bits(), distance_km(b, a).to_bits());
        }
    }

    #[test]
    fn speed_over_time_and_at_the_same_instant() {
        assert_eq!(speed_kmh(900.0, 0, HOUR), 900.0);
        assert_eq!(speed_kmh(900.0, HOUR, 0), 900.0);
        assert_eq!(speed_kmh(450.0, 0, HOUR / 2), 900.0);
        assert_eq!(speed_kmh(1.0, 5, 5), f64::INFINITY);
        assert_eq!(speed_kmh(0.0, 5, 5), 0.0);
        assert_eq!(speed_kmh(0.0, 0, HOUR), 0.0);
    }

    #[test]
    fn coordinates_are_read_from_numbers_and_text_and_checked() {
        let at = |lat: Value, lon: Value| {
            coordinates(&fields(
                json!({ "location": { "geoCoordinates": { "latitude": lat, "longitude": lon } } }),
            ))
        };
        assert_eq!(at(json!(51.5), json!(-0.12)), Some(point(51.5, -0.12)));
        assert_eq!(
            at(json!(" -33.86 "), json!("151")),
            Some(point(-33.86, 151.0))
        );
        assert_eq!(at(json!(90), json!(-180)), Some(point(90.0, -180.0)));
        for (lat, lon) in [
            (json!(90.5), json!(0)),
            (json!(0), json!(180.01)),
            (json!("NaN"), json!(0)),
            (json!("inf"), json!(0)),
            (json!("north"), json!(0)),
            (json!(null), json!(0)),
            (json!(true), json!(0)),
            (json!([1]), json!(0)),
        ] {
            assert_eq!(at(lat.clone(), lon.clone()), None, "{lat} {lon}");
        }
        assert_eq!(coordinates(&fields(json!({}))), None);
        assert_eq!(coordinates(&fields(json!({ "location": "GB" }))), None);
        assert_eq!(
            coordinates(&fields(
                json!({ "location": { "geoCoordinates": { "latitude": 1 } } })
            )),
            None
        );
    }

    fn bound(cmp: CountCmp, value: f64) -> Option<Bound> {
        Some(Bound {
            cmp,
            value,
            span: Span::new(0, 0..0),
        })
    }

    #[test]
    fn bounds_are_inclusive_or_not_as_written() {
        let paris = Place::from(point(48.8566, 2.3522));
        let london = Place::from(point(51.5074, -0.1278));
        let (paris, london) = (Some(&paris), Some(&london));
        let km = distance_km(point(48.8566, 2.3522), point(51.5074, -0.1278));
        let gt = TravelTest {
            from: 0,
            kmh: bound(CountCmp::Gt, km),
            km: None,
        };
        let gte = TravelTest {
            kmh: bound(CountCmp::Gte, km),
            ..gt.clone()
        };
        // An hour apart: the speed is the distance, exactly.
        assert!(!gt.holds(paris, 0, london, HOUR));
        assert!(gte.holds(paris, 0, london, HOUR));
        assert!(gt.holds(paris, 0, london, HOUR - 1));
        // The same instant: infinitely fast, unless in the same place.
        assert!(gt.holds(paris, 7, london, 7));
        assert!(!gt.holds(paris, 7, paris, 7));
        // No point: never.
        assert!(!gte.holds(None, 0, london, HOUR));
        assert!(!gte.holds(paris, 0, None, HOUR));
        let far = TravelTest {
            from: 0,
            kmh: None,
            km: bound(CountCmp::Gte, 500.0),
        };
        assert!(!far.holds(paris, 0, london, 1));
        let slow = TravelTest {
            from: 0,
            kmh: bound(CountCmp::Lt, 10.0),
            km: bound(CountCmp::Lte, km),
        };
        assert!(slow.holds(paris, 0, london, 100 * HOUR));
        assert!(!slow.holds(paris, 0, london, HOUR));
    }
}
