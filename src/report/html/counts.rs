//! Counting primitives: per-severity counts and a bounded tally of
//! distinct values.

use std::collections::HashMap;

use crate::finding::Severity;

/// Most distinct values counted per user, IP address, country and app;
/// findings with further values are counted together as "other values".
pub const MAX_VALUES: usize = 10_000;

/// Severities, most severe first: the order the page shows them.
pub(super) const SEVERITIES: [Severity; 5] = [
    Severity::Critical,
    Severity::High,
    Severity::Medium,
    Severity::Low,
    Severity::Info,
];

/// Counts per severity, indexed by `Severity as usize`.
pub(super) type PerSeverity = [u64; 5];

pub(super) fn get(counts: &PerSeverity, sev: Severity) -> u64 {
    counts.get(sev as usize).copied().unwrap_or(0)
}

pub(super) fn add(counts: &mut PerSeverity, sev: Severity, n: u64) {
    if let Some(c) = counts.get_mut(sev as usize) {
        *c += n;
    }
}

/// Counts per distinct value, for at most [`MAX_VALUES`] values.
#[derive(Debug, Default)]
pub(super) struct Tally {
    pub(super) counts: HashMap<String, u64>,
    /// Findings whose record had no value.
    pub(super) missing: u64,
    /// Findings whose value came after the table was full.
    pub(super) overflow: u64,
}

impl Tally {
    pub(super) fn add(&mut self, value: Option<&str>) {
        let Some(value) = value.filter(|v| !v.is_empty()) else {
            self.missing += 1;
            return;
        };
        if let Some(n) = self.counts.get_mut(value) {
            *n += 1;
        } else if self.counts.len() < MAX_VALUES {
            self.counts.insert(value.to_string(), 1);
        } else {
            self.overflow += 1;
        }
    }

    /// Values by count, highest first (ties by value).
    pub(super) fn sorted(&self) -> Vec<(&str, u64)> {
        let mut v: Vec<(&str, u64)> = self.counts.iter().map(|(k, n)| (k.as_str(), *n)).collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        v
    }
}
