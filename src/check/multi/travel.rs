//! A sequence step's `travel:` → [`Travel`]: the earlier step it is
//! measured from (`from`), and bounds on the speed (`kmh`) and the
//! distance (`km`) between that step's records and this step's record.

use crate::catalog::{self, Field};
use crate::check::model::{Bound, CountCmp, Travel};
use crate::check::{RuleCx, find, wrong_type};
use crate::diag::Code;
use crate::syntax::{Lit, Node};

/// The keys of `travel:`.
pub const TRAVEL_KEYS: &[&str] = &["from", "kmh", "km"];

/// The field travel reads, in every log that has it.
pub const LATITUDE: &str = "location.geoCoordinates.latitude";

/// The comparisons a bound on a speed or a distance may use: `eq` is left
/// out, as a measure computed in floating point is never exactly a number
/// written in a rule.
const BOUND_CMPS: [(&str, CountCmp); 4] = [
    ("gt", CountCmp::Gt),
    ("gte", CountCmp::Gte),
    ("lt", CountCmp::Lt),
    ("lte", CountCmp::Lte),
];

impl RuleCx<'_> {
    /// Reads the `travel:` of step `current` (named `name`, reading the
    /// catalog `fields`, absent or not), `key` being the `travel` key;
    /// `steps` are every step of the sequence: name, catalog, whether
    /// absent.
    pub(super) fn travel(
        &mut self,
        key: &Node,
        n: &Node,
        steps: &[(String, &'static [Field], bool)],
        current: usize,
        fields: &'static [Field],
    ) -> Option<Travel> {
        let entries = self.mapping(n, "travel", "`from`, `kmh` and `km`")?;
        self.known_keys(entries, TRAVEL_KEYS, "travel");
        let (name, absent) = steps
            .get(current)
            .map_or(("", false), |(n, _, a)| (n.as_str(), *a));
        let mut ok = true;
        if absent {
            self.err(
                Code::BadStep
                    .error(key.span.clone(), format!("absent step `{name}` travels"))
                    .label("an absent step has no record to travel to")
                    .help("put `travel` on a step that is present"),
            );
            ok = false;
        }
        if catalog::resolve_in(fields, LATITUDE).is_err() {
            self.err(
                Code::BadStep
                    .error(
                        key.span.clone(),
                        format!("step `{name}` reads logs whose records have no coordinates"),
                    )
                    .label(format!("no `{LATITUDE}` here"))
                    .help("travel compares the `location.geoCoordinates` of sign-ins; give the step sign-in logs"),
            );
            ok = false;
        }
        let from = match find(entries, "from") {
            Some(f) => self.travel_from(f, steps, current),
            None => {
                self.err(
                    Code::MissingKey
                        .error(key.span.clone(), "`travel` has no `from`")
                        .label("from which step?")
                        .help("add `from: STEP`, the earlier step whose records this step's record is compared with"),
                );
                None
            }
        };
        let kmh = find(entries, "kmh").map(|b| self.bound(b, "kmh"));
        let km = find(entries, "km").map(|b| self.bound(b, "km"));
        if kmh.is_none() && km.is_none() {
            self.err(
                Code::MissingKey
                    .error(key.span.clone(), "`travel` has no `kmh` or `km`")
                    .label("nothing to compare")
                    .help("add `kmh: { gt: 900 }` (the speed in km/h), `km: { gte: 500 }` (the distance in km), or both"),
            );
            ok = false;
        }
        let (kmh, km) = match (kmh, km) {
            (Some(None), _) | (_, Some(None)) => return None,
            (kmh, km) => (kmh.flatten(), km.flatten()),
        };
        let from = from?;
        ok.then_some(Travel {
            from,
            kmh,
            km,
            span: key.span.clone(),
        })
    }

    /// The step `from` names: an earlier step, present, whose logs have
    /// coordinates.
    fn travel_from(
        &mut self,
        n: &Node,
        steps: &[(String, &'static [Field], bool)],
        current: usize,
    ) -> Option<String> {
        let Some(name) = n.scalar().map(|s| s.text.clone()) else {
            self.err(wrong_type(
                n,
                format!("`from` takes a step name, not {}", n.describe()),
                "expected a step name",
            ));
            return None;
        };
        let this = steps.get(current).map_or("", |s| s.0.as_str());
        let earlier: Vec<&str> = steps
            .iter()
            .take(current)
            .map(|(n, _, _)| n.as_str())
            .collect();
        let Some((i, (_, fields, absent))) =
            steps.iter().enumerate().find(|(_, (n, _, _))| *n == name)
        else {
            let help = match catalog::closest(&name, earlier.iter().copied()) {
                Some(near) => format!("did you mean `{near}`?"),
                None if earlier.is_empty() => {
                    "this is the first step: there is no earlier step to travel from".to_string()
                }
                None => format!("earlier steps: {}", earlier.join(", ")),
            };
            self.err(
                Code::UnknownStep
                    .error(n.span.clone(), format!("unknown step `{name}`"))
                    .label("not a step of this sequence")
                    .help(help),
            );
            return None;
        };
        let problem = if i == current {
            Some((
                format!("`travel` of step `{this}` is from its own step"),
                "name an earlier step: travel compares two records of different steps".to_string(),
            ))
        } else if i > current {
            Some((
                format!("`travel` of step `{this}` is from step `{name}`, which comes after it"),
                format!(
                    "travel is measured from an earlier step; put `travel: {{ from: {this} }}` on step `{name}` instead"
                ),
            ))
        } else if *absent {
            Some((
                format!("step `{name}` is absent: it has no record to travel from"),
                "travel from a step that is present".to_string(),
            ))
        } else if catalog::resolve_in(fields, LATITUDE).is_err() {
            Some((
                format!("step `{name}` reads logs whose records have no coordinates"),
                "travel compares the `location.geoCoordinates` of sign-ins; travel from a step of sign-in logs".to_string(),
            ))
        } else {
            None
        };
        if let Some((message, help)) = problem {
            self.err(
                Code::UnknownStep
                    .error(n.span.clone(), message)
                    .label("not an earlier step to travel from")
                    .help(help),
            );
            return None;
        }
        Some(name)
    }

    /// A bound on a speed or a distance: `{ gt: 900 }`, one of gt, gte,
    /// lt, lte with a finite number of zero or more (or a param); `None`
    /// after an error.
    fn bound(&mut self, n: &Node, key: &str) -> Option<Bound> {
        let (example, what) = if key == "kmh" {
            ("{ gt: 900 }", "speed")
        } else {
            ("{ gte: 500 }", "distance")
        };
        let refuse = |name: &str, op: &Node, names: &str| {
            (name == "eq").then(|| {
                Code::BadThreshold
                    .error(op.span.clone(), format!("`{key}` cannot be compared with `eq`"))
                    .label("exact equality")
                    .help(format!(
                        "a {what} computed from coordinates is never exactly a written number; use one of {names}"
                    ))
            })
        };
        let c = self.comparison(n, key, &BOUND_CMPS, example, &refuse)?;
        let number = match &c.lit {
            Some(Lit::Int(i)) => Some(*i as f64),
            Some(Lit::Float(f)) => Some(*f),
            Some(Lit::Str(s)) => s.trim().parse::<f64>().ok(),
            _ => None,
        };
        match number {
            Some(v) if v.is_finite() && v >= 0.0 => Some(Bound {
                cmp: c.cmp,
                // `-0` reads as `0`.
                value: v + 0.0,
                span: n.span.clone(),
            }),
            _ => {
                self.err(c.bad_value(key, "a number", &format!("not a {what}")));
                None
            }
        }
    }
}
