//! What the emitter holds while findings stream past: the counts the
//! totals, breakdowns and timeline are written from at the end.

use std::collections::HashMap;
use std::sync::Arc;

use crate::finding::{Finding, Severity};

use super::counts::{PerSeverity, Tally, add};
use super::timeline::Timeline;

/// The field that tells a sign-in's country.
const COUNTRY_FIELD: &str = "location.countryOrRegion";

/// The country a finding's evidence saw, if a condition read it.
pub(super) fn country(f: &Finding) -> Option<&str> {
    f.evidence
        .iter()
        .filter(|e| e.field.eq_ignore_ascii_case(COUNTRY_FIELD))
        .find_map(|e| e.actual.as_str())
        .filter(|s| !s.trim().is_empty())
}

/// The counts of the findings so far, for the totals, breakdowns and
/// timeline written at the end.
#[derive(Debug, Default)]
pub(super) struct Totals {
    /// Findings listed so far (at most the emitter's limit).
    pub(super) listed: u64,
    /// The rules that run: id, title, severity, in order.
    pub(super) rules: Vec<(Arc<str>, Arc<str>, Severity)>,
    /// Findings per rule id, with the title and severity they carried.
    pub(super) by_rule: HashMap<Arc<str>, (Arc<str>, Severity, u64)>,
    pub(super) by_severity: PerSeverity,
    pub(super) users: Tally,
    pub(super) ips: Tally,
    pub(super) countries: Tally,
    pub(super) apps: Tally,
    pub(super) timeline: Timeline,
}

impl Totals {
    /// Counts one finding, whose evidence saw `country`.
    pub(super) fn count(&mut self, f: &Finding, country: Option<&str>) {
        add(&mut self.by_severity, f.severity, 1);
        match self.by_rule.get_mut(&f.rule_id) {
            Some(entry) => entry.2 += 1,
            None => {
                self.by_rule
                    .insert(f.rule_id.clone(), (f.title.clone(), f.severity, 1));
            }
        }
        let s = &f.sign_in;
        self.users.add(s.user_principal_name.as_deref());
        self.ips.add(s.ip_address.as_deref());
        self.apps.add(s.app_display_name.as_deref());
        self.countries.add(country);
        self.timeline
            .add(s.created_date_time.as_deref(), f.severity);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::testdata;
    use serde_json::Value;

    #[test]
    fn country_comes_from_the_evidence() {
        let mut f = testdata::findings().remove(0);
        assert_eq!(country(&f), None);
        f.evidence[0].field = COUNTRY_FIELD.into();
        f.evidence[0].actual = Value::String("FR".into());
        assert_eq!(country(&f), Some("FR"));
    }
}
