//! Triage: which findings are new, which a baseline already accepted, and
//! which a config exception covers. Accepted findings are counted, never
//! dropped silently.
//!
//! A baseline is a JSON file of fingerprints written by
//! `tollgate check --write-baseline FILE`; fingerprints depend only on the
//! rule and the sign-in, so a baseline survives reformatting of the logs.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::Exception;
use crate::finding::{Finding, SCHEMA_VERSION};

/// Fingerprints of accepted findings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Baseline {
    fingerprints: HashSet<String>,
}

/// One entry of a baseline file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BaselineEntry {
    /// The finding's fingerprint.
    pub fingerprint: String,
    /// Its rule, for people reading the file.
    pub rule_id: String,
    /// Its sign-in id, for people reading the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_in_id: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BaselineFile {
    schema_version: String,
    findings: Vec<BaselineEntry>,
}

/// Why a baseline file could not be read or written.
#[derive(Debug)]
#[non_exhaustive]
pub enum BaselineError {
    /// The file could not be read.
    Read(PathBuf, std::io::Error),
    /// The file is not a baseline tollgate wrote.
    Format(PathBuf, serde_json::Error),
    /// The file could not be written.
    Write(PathBuf, std::io::Error),
}

impl std::fmt::Display for BaselineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BaselineError::Read(path, e) => {
                write!(f, "cannot read baseline {}: {e}", path.display())
            }
            BaselineError::Format(path, e) => {
                write!(f, "{} is not a tollgate baseline: {e}", path.display())
            }
            BaselineError::Write(path, e) => {
                write!(f, "cannot write baseline {}: {e}", path.display())
            }
        }
    }
}

impl std::error::Error for BaselineError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BaselineError::Read(_, e) | BaselineError::Write(_, e) => Some(e),
            BaselineError::Format(_, e) => Some(e),
        }
    }
}

impl Baseline {
    /// Reads a baseline file.
    pub fn read(path: &Path) -> Result<Baseline, BaselineError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| BaselineError::Read(path.to_path_buf(), e))?;
        let file: BaselineFile = serde_json::from_str(&text)
            .map_err(|e| BaselineError::Format(path.to_path_buf(), e))?;
        Ok(Baseline {
            fingerprints: file.findings.into_iter().map(|e| e.fingerprint).collect(),
        })
    }

    /// Writes the entries as a baseline file, sorted and without repeats.
    /// Returns how many fingerprints it wrote: findings that share one
    /// (the same rule on the same sign-in, read twice) count once.
    pub fn write(path: &Path, entries: &[BaselineEntry]) -> Result<usize, BaselineError> {
        let mut findings = entries.to_vec();
        findings.sort();
        findings.dedup_by(|a, b| a.fingerprint == b.fingerprint);
        let file = BaselineFile {
            schema_version: SCHEMA_VERSION.to_string(),
            findings,
        };
        #[expect(
            clippy::expect_used,
            reason = "a struct of strings always serializes: no map keys, no floats"
        )]
        let text = serde_json::to_string_pretty(&file).expect("a baseline serializes") + "\n";
        // `.tollgate/baseline.json` in a new project: its folder too.
        if let Some(folder) = path.parent().filter(|f| !f.as_os_str().is_empty()) {
            std::fs::create_dir_all(folder)
                .map_err(|e| BaselineError::Write(path.to_path_buf(), e))?;
        }
        std::fs::write(path, text).map_err(|e| BaselineError::Write(path.to_path_buf(), e))?;
        Ok(file.findings.len())
    }

    /// Whether the baseline holds a fingerprint.
    pub fn contains(&self, fingerprint: &str) -> bool {
        self.fingerprints.contains(fingerprint)
    }

    /// How many fingerprints it holds.
    pub fn len(&self) -> usize {
        self.fingerprints.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.fingerprints.is_empty()
    }
}

/// What to do with a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Report it.
    New,
    /// The baseline accepted it.
    Baselined,
    /// The exception at this index accepted it.
    Excepted(usize),
}

/// Decides the verdict of each finding.
#[derive(Debug, Clone, Default)]
pub struct Triage {
    baseline: Option<Baseline>,
    exceptions: Vec<Exception>,
    /// Findings accepted per exception index.
    pub excepted: BTreeMap<usize, u64>,
}

impl Triage {
    /// A triage with a baseline (if any) and the exceptions in force
    /// `today` (`YYYY-MM-DD`); expired ones are returned apart, so the
    /// caller can say so.
    pub fn new(
        baseline: Option<Baseline>,
        exceptions: &[Exception],
        today: &str,
    ) -> (Triage, Vec<Exception>) {
        let (active, expired): (Vec<Exception>, Vec<Exception>) = exceptions
            .iter()
            .cloned()
            .partition(|e| e.expires.as_deref().is_none_or(|day| day >= today));
        (
            Triage {
                baseline,
                exceptions: active,
                excepted: BTreeMap::new(),
            },
            expired,
        )
    }

    /// Whether a baseline is in use.
    pub fn has_baseline(&self) -> bool {
        self.baseline.is_some()
    }

    /// The exceptions in force.
    pub fn exceptions(&self) -> &[Exception] {
        &self.exceptions
    }

    /// The verdict on a finding; counts exceptions that apply.
    pub fn classify(&mut self, finding: &Finding) -> Verdict {
        if let Some(i) = self.exceptions.iter().position(|e| covers(e, finding)) {
            *self.excepted.entry(i).or_default() += 1;
            return Verdict::Excepted(i);
        }
        match &self.baseline {
            Some(b) if b.contains(&finding.fingerprint) => Verdict::Baselined,
            _ => Verdict::New,
        }
    }
}

fn covers(e: &Exception, f: &Finding) -> bool {
    if e.rule != f.rule_id.as_ref() {
        return false;
    }
    let any = |patterns: &[String], value: &Option<String>| {
        value
            .as_deref()
            .is_some_and(|v| patterns.iter().any(|p| glob_matches(p, v)))
    };
    let in_ranges = || {
        f.sign_in
            .ip_address
            .as_deref()
            .and_then(|ip| ip.parse::<std::net::IpAddr>().ok())
            .is_some_and(|ip| e.ips.iter().any(|net| net.contains(&ip)))
    };
    // Every list given holds (one of its entries matches): `users` with
    // `ips` is that user from those addresses. One that names nothing
    // (config refuses it; a library caller may build one) accepts nothing.
    let holds =
        |patterns: &[String], value: &Option<String>| patterns.is_empty() || any(patterns, value);
    !e.names_nothing()
        && holds(&e.sign_ins, &f.sign_in.id)
        && holds(&e.users, &f.sign_in.user_principal_name)
        && holds(&e.apps, &f.sign_in.app_display_name)
        && (e.ips.is_empty() || in_ranges())
}

/// Whether `text` matches `pattern`, ignoring case: `*` stands for any run
/// of characters (`*@contoso.com`), `?` for one; everything else is itself.
fn glob_matches(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().flat_map(char::to_lowercase).collect();
    let t: Vec<char> = text.chars().flat_map(char::to_lowercase).collect();
    // Iterative matching with one backtrack point: the last `*` seen.
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(c) if *c == '?' || Some(c) == t.get(ti) => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p.get(pi..)
        .is_some_and(|rest| rest.iter().all(|c| *c == '*'))
}

/// Today's date in UTC, `YYYY-MM-DD`.
pub fn today() -> String {
    jiff::Timestamp::now()
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .strftime("%Y-%m-%d")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_ignoring_case() {
        assert!(glob_matches("*@contoso.com", "Alice@Contoso.com"));
        assert!(glob_matches(
            "breakglass@contoso.com",
            "BreakGlass@contoso.com"
        ));
        assert!(glob_matches("svc-?@*", "svc-1@fabrikam.com"));
        assert!(glob_matches("*", ""));
        assert!(glob_matches("a*b*c", "aXXbYYc"));
        assert!(!glob_matches("*@contoso.com", "alice@contoso.com.evil"));
        assert!(!glob_matches("svc-?", "svc-12"));
        assert!(!glob_matches("", "x"));
    }
    use crate::diag::Span;
    use crate::finding::{Severity, SignIn};
    use crate::record::Location;

    fn finding(rule: &str, user: &str, fingerprint: &str) -> Finding {
        Finding {
            rule_id: rule.into(),
            title: "t".into(),
            severity: Severity::Low,
            message: String::new(),
            location: Location {
                path: "p".into(),
                line: 1,
                record: 0,
            },
            category: "interactive".into(),
            sign_in: SignIn {
                user_principal_name: Some(user.into()),
                ..SignIn::default()
            },
            evidence: Vec::new(),
            fingerprint: fingerprint.into(),
            episode: None,
        }
    }

    fn exception(expires: Option<&str>) -> Exception {
        Exception {
            rule: "R-1".into(),
            rule_span: Span::new(0, 0..0),
            sign_ins: Vec::new(),
            users: vec!["Break@Contoso.com".into()],
            apps: Vec::new(),
            ips: Vec::new(),
            reason: "break glass".into(),
            expires: expires.map(String::from),
            span: Span::new(0, 0..0),
        }
    }

    #[test]
    fn exceptions_apply_by_rule_and_identity_until_they_expire() {
        let (mut t, expired) = Triage::new(None, &[exception(Some("2026-12-31"))], "2026-06-01");
        assert!(expired.is_empty());
        assert_eq!(
            t.classify(&finding("R-1", "break@contoso.com", "f")),
            Verdict::Excepted(0)
        );
        assert_eq!(
            t.classify(&finding("R-2", "break@contoso.com", "f")),
            Verdict::New
        );
        assert_eq!(
            t.classify(&finding("R-1", "alice@contoso.com", "f")),
            Verdict::New
        );
        assert_eq!(t.excepted.get(&0), Some(&1));
        let (mut t, expired) = Triage::new(None, &[exception(Some("2026-01-31"))], "2026-06-01");
        assert_eq!(expired.len(), 1);
        assert_eq!(
            t.classify(&finding("R-1", "break@contoso.com", "f")),
            Verdict::New
        );
    }

    /// Every list an exception gives must hold: a user from a range.
    #[test]
    fn an_exceptions_lists_all_hold() {
        let mut e = exception(None);
        e.ips = vec!["10.0.0.0/8".parse().expect("a range")];
        let (mut t, _) = Triage::new(None, &[e], "2026-06-01");
        let from = |user: &str, ip: &str| {
            let mut f = finding("R-1", user, "f");
            f.sign_in.ip_address = Some(ip.into());
            f
        };
        assert_eq!(
            t.classify(&from("break@contoso.com", "10.1.1.1")),
            Verdict::Excepted(0)
        );
        assert_eq!(
            t.classify(&from("break@contoso.com", "192.0.2.1")),
            Verdict::New
        );
        assert_eq!(
            t.classify(&from("alice@contoso.com", "10.1.1.1")),
            Verdict::New
        );
    }

    #[test]
    fn baselines_round_trip() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("b.json");
        let entry = |fp: &str| BaselineEntry {
            fingerprint: fp.into(),
            rule_id: "R-1".into(),
            sign_in_id: None,
        };
        assert!(Baseline::write(&path, &[entry("b"), entry("a"), entry("a")]).is_ok());
        let b = Baseline::read(&path).unwrap_or_default();
        assert_eq!(b.len(), 2);
        let (mut t, _) = Triage::new(Some(b), &[], "2026-01-01");
        assert_eq!(t.classify(&finding("R-1", "x", "a")), Verdict::Baselined);
        assert_eq!(t.classify(&finding("R-1", "x", "c")), Verdict::New);
        assert!(Baseline::read(&dir.path().join("missing.json")).is_err());
    }
}
