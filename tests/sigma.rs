//! Sigma rules run as Sigma says: every rule under
//! `tests/fixtures/sigma/run/` is loaded by tollgate and, independently,
//! read by a small Sigma matcher written plainly here over the raw Log
//! Analytics rows (columns as they are, no catalog, no normalizing); both
//! must pick the same records, on the real rows of
//! `tests/fixtures/ingest/la_signinlogs_msticpy_aad_logons.jsonl` and on
//! generated ones. Then the errors: an unsupported feature names the file,
//! the line and the feature.

#[path = "../benches/support/mod.rs"]
mod support;

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Cursor;
use std::path::PathBuf;

use serde_json::Value;
use tollgate::engine::{Loader, RuleSet};
use tollgate::ingest;
use tollgate::run::scan::{self, Outcome};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixtures() -> Vec<PathBuf> {
    rule_files(&root().join("tests/fixtures/sigma/run"))
}

/// The single-record Sigma rules of a folder: one document a file, no
/// aggregation (the reference reads those).
fn rule_files(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("rule folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .filter(|p| {
            let text = std::fs::read_to_string(p).unwrap_or_default();
            !text.contains("\n---")
                && !text.contains("correlation:")
                && !text.contains("timeframe:")
        })
        .collect();
    files.sort();
    files
}

// ---------------------------------------------------------------------
// The reference: a plain Sigma matcher over raw Log Analytics rows.
// ---------------------------------------------------------------------

/// A scalar of a rule, typed as YAML types plain scalars.
#[derive(Debug, Clone)]
enum Y {
    Null,
    Bool(bool),
    Num(String),
    Str(String),
}

fn yaml_value(n: &marked_yaml::types::MarkedScalarNode) -> Y {
    let s = n.as_str();
    if !n.may_coerce() {
        return Y::Str(s.to_string());
    }
    match s {
        "" | "~" | "null" => Y::Null,
        "true" => Y::Bool(true),
        "false" => Y::Bool(false),
        _ if s.parse::<f64>().is_ok() => Y::Num(s.to_string()),
        _ => Y::Str(s.to_string()),
    }
}

/// One `Field|mods: values` entry, or keywords (no field).
#[derive(Debug, Clone)]
struct Entry {
    field: Option<String>,
    mods: Vec<String>,
    values: Vec<Y>,
}

#[derive(Debug)]
struct RefRule {
    id: String,
    service: String,
    /// Search identifier → maps (ORed), each a list of entries (ANDed).
    searches: BTreeMap<String, Vec<Vec<Entry>>>,
    /// The conditions (a list: any of them).
    conditions: Vec<String>,
}

fn read_rule(text: &str) -> RefRule {
    use marked_yaml::Node;
    let doc = marked_yaml::parse_yaml(0, text).expect("fixture YAML");
    let map = doc.as_mapping().expect("a mapping");
    let s = |m: &marked_yaml::types::MarkedMappingNode, k: &str| {
        m.get_scalar(k)
            .map(|x| x.as_str().to_string())
            .unwrap_or_default()
    };
    let detection = map.get_mapping("detection").expect("detection");
    let mut searches = BTreeMap::new();
    let mut conditions = Vec::new();
    let values_of = |n: &Node| -> Vec<Y> {
        match n {
            Node::Scalar(x) => vec![yaml_value(x)],
            Node::Sequence(items) => items
                .iter()
                .map(|i| yaml_value(i.as_scalar().expect("scalar value")))
                .collect(),
            Node::Mapping(_) => panic!("a mapping as a value"),
        }
    };
    for (key, value) in detection.iter() {
        let key = key.as_str();
        if key == "condition" {
            conditions = match value {
                Node::Sequence(items) => items
                    .iter()
                    .map(|i| i.as_scalar().expect("condition").as_str().to_string())
                    .collect(),
                other => vec![other.as_scalar().expect("condition").as_str().to_string()],
            };
            continue;
        }
        let entries_of = |m: &marked_yaml::types::MarkedMappingNode| -> Vec<Entry> {
            m.iter()
                .map(|(k, v)| {
                    let mut parts = k.as_str().split('|');
                    let field = parts.next().unwrap_or_default().to_string();
                    Entry {
                        field: Some(field),
                        mods: parts.map(str::to_string).collect(),
                        values: values_of(v),
                    }
                })
                .collect()
        };
        let maps = match value {
            Node::Mapping(m) => vec![entries_of(m)],
            Node::Sequence(items) if items.iter().all(|i| i.as_mapping().is_some()) => items
                .iter()
                .map(|i| entries_of(i.as_mapping().expect("map")))
                .collect(),
            other => vec![vec![Entry {
                field: None,
                mods: Vec::new(),
                values: values_of(other),
            }]],
        };
        searches.insert(key.to_string(), maps);
    }
    RefRule {
        id: s(map, "id"),
        service: map
            .get_mapping("logsource")
            .map(|l| s(l, "service"))
            .unwrap_or_default(),
        searches,
        conditions,
    }
}

/// A value found in a row, as text (objects and lists as compact JSON).
fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        other => Some(other.to_string()),
    }
}

fn get_ci<'a>(m: &'a serde_json::Map<String, Value>, key: &str) -> Option<&'a Value> {
    m.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

/// A JSON value held in a string, parsed; other values as they are.
fn parsed(v: &Value) -> Value {
    match v {
        Value::String(s) if s.trim_start().starts_with(['{', '[']) => {
            serde_json::from_str(s).unwrap_or_else(|_| v.clone())
        }
        other => other.clone(),
    }
}

/// The value of a dotted column path in a raw row, as Log Analytics reads
/// it: the column ignoring case, then keys inside its (JSON) value.
fn lookup(row: &Value, path: &str) -> Option<Value> {
    let mut segments = path.split('.');
    let first = segments.next()?;
    let mut current = get_ci(row.as_object()?, first)?.clone();
    for seg in segments {
        let object = parsed(&current);
        current = get_ci(object.as_object()?, seg)?.clone();
    }
    // A whole object or list compares as compact JSON text.
    let value = parsed(&current);
    Some(match value {
        Value::Object(_) | Value::Array(_) => Value::String(value.to_string()),
        _ => current,
    })
}

/// Glob matching with `*` and `?` (backslash escapes them), over chars.
fn glob(pattern: &str, text: &str, cased: bool) -> bool {
    #[derive(Clone, Copy, PartialEq)]
    enum T {
        C(char),
        Star,
        One,
    }
    let fold = |s: &str| {
        if cased {
            s.to_string()
        } else {
            s.to_lowercase()
        }
    };
    let mut toks = Vec::new();
    let p: Vec<char> = fold(pattern).chars().collect();
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            '\\' if i + 1 < p.len() && matches!(p[i + 1], '*' | '?' | '\\') => {
                toks.push(T::C(p[i + 1]));
                i += 1;
            }
            '*' => toks.push(T::Star),
            '?' => toks.push(T::One),
            c => toks.push(T::C(c)),
        }
        i += 1;
    }
    let t: Vec<char> = fold(text).chars().collect();
    fn go(p: &[T], t: &[char]) -> bool {
        match p.first() {
            None => t.is_empty(),
            Some(T::Star) => (0..=t.len()).any(|k| go(&p[1..], &t[k..])),
            Some(T::One) => !t.is_empty() && go(&p[1..], &t[1..]),
            Some(T::C(c)) => t.first() == Some(c) && go(&p[1..], &t[1..]),
        }
    }
    go(&toks, &t)
}

fn b64(bytes: &[u8]) -> String {
    let table: Vec<char> = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
        .chars()
        .collect();
    let mut bits = String::new();
    for b in bytes {
        bits.push_str(&format!("{b:08b}"));
    }
    while !bits.len().is_multiple_of(6) {
        bits.push('0');
    }
    let mut out: String = bits
        .as_bytes()
        .chunks(6)
        .map(|c| table[usize::from_str_radix(std::str::from_utf8(c).unwrap(), 2).unwrap()])
        .collect();
    while !out.len().is_multiple_of(4) {
        out.push('=');
    }
    out
}

/// Escapes a literal for a glob.
fn lit(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('*', "\\*")
        .replace('?', "\\?")
}

/// Every way `windash` lets a value be written.
fn windash(s: &str) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    let word = |c: Option<&char>| c.is_some_and(|c| c.is_alphanumeric() || *c == '_');
    let mut out = vec![String::new()];
    for (i, c) in chars.iter().enumerate() {
        let dash = matches!(c, '-' | '/')
            && !word(i.checked_sub(1).and_then(|k| chars.get(k)))
            && word(chars.get(i + 1));
        let options: Vec<char> = if dash {
            vec!['-', '/', '\u{2013}', '\u{2014}', '\u{2015}']
        } else {
            vec![*c]
        };
        out = out
            .iter()
            .flat_map(|o| options.iter().map(move |d| format!("{o}{d}")))
            .collect();
    }
    out
}

fn all_scalars(v: &Value, out: &mut Vec<String>) {
    match parsed(v) {
        Value::Object(m) => m.values().for_each(|x| all_scalars(x, out)),
        Value::Array(a) => a.iter().for_each(|x| all_scalars(x, out)),
        Value::Null => {}
        other => out.extend(text_of(&other)),
    }
}

fn entry_holds(e: &Entry, row: &Value) -> bool {
    let has = |m: &str| e.mods.iter().any(|x| x == m);
    let found: Vec<String> = match &e.field {
        Some(f) => lookup(row, f)
            .and_then(|v| text_of(&v))
            .into_iter()
            .collect(),
        None => {
            let mut all = Vec::new();
            all_scalars(row, &mut all);
            all
        }
    };
    let one = |y: &Y| -> bool {
        if has("exists") {
            let present = found.iter().any(|t| !t.trim().is_empty());
            return matches!(y, Y::Bool(b) if *b == present);
        }
        if let Y::Null = y {
            return found.iter().all(|t| t.trim().is_empty());
        }
        let text = match y {
            Y::Bool(b) => b.to_string(),
            Y::Num(n) | Y::Str(n) => n.clone(),
            Y::Null => String::new(),
        };
        for (m, want) in [("gt", ">"), ("gte", ">="), ("lt", "<"), ("lte", "<=")] {
            if has(m) {
                let bound: f64 = text.parse().unwrap();
                return found.iter().any(|t| {
                    t.trim().parse::<f64>().is_ok_and(|v| match want {
                        ">" => v > bound,
                        ">=" => v >= bound,
                        "<" => v < bound,
                        _ => v <= bound,
                    })
                });
            }
        }
        if has("cidr") {
            let net: ipnet::IpNet = text.parse().unwrap();
            return found.iter().any(|t| {
                t.parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| net.contains(&ip))
            });
        }
        if has("re") {
            let flags: String = ["i", "m", "s"].iter().filter(|f| has(f)).copied().collect();
            let pattern = if flags.is_empty() {
                text.clone()
            } else {
                format!("(?{flags}){text}")
            };
            let re = regex::Regex::new(&pattern).unwrap();
            return found.iter().any(|t| re.is_match(t));
        }
        if has("fieldref") {
            let other = lookup(row, &text).and_then(|v| text_of(&v));
            let Some(other) = other.filter(|o| !o.trim().is_empty()) else {
                return false;
            };
            let a = other.to_lowercase();
            return found.iter().filter(|t| !t.trim().is_empty()).any(|t| {
                let t = t.to_lowercase();
                if has("startswith") {
                    t.starts_with(&a)
                } else if has("endswith") {
                    t.ends_with(&a)
                } else if has("contains") {
                    t.contains(&a)
                } else {
                    t == a
                }
            });
        }
        // Texts to look for, as globs.
        let mut globs: Vec<String> = if has("base64") {
            vec![lit(&b64(text.as_bytes()))]
        } else if has("base64offset") {
            (0..3)
                .map(|i| {
                    let mut padded = " ".repeat(i).into_bytes();
                    padded.extend_from_slice(text.as_bytes());
                    let enc = b64(&padded);
                    let start = [0, 2, 3][i];
                    let end = enc.len() - [0, 3, 2][(text.len() + i) % 3];
                    lit(&enc[start..end])
                })
                .collect()
        } else if has("windash") {
            windash(&text)
        } else {
            vec![text.clone()]
        };
        let keyword = e.field.is_none();
        globs = globs
            .into_iter()
            .map(|g| {
                if has("contains") || (keyword && !has("startswith") && !has("endswith")) {
                    format!("*{g}*")
                } else if has("startswith") {
                    format!("{g}*")
                } else if has("endswith") {
                    format!("*{g}")
                } else {
                    g
                }
            })
            .collect();
        let cased = has("cased");
        if globs.iter().any(|g| g.is_empty()) && found.iter().all(|t| t.is_empty()) {
            // An empty value: empty or absent, as Log Analytics sees it.
            return true;
        }
        found
            .iter()
            .any(|t| globs.iter().any(|g| glob(g, t, cased)))
    };
    if has("all") {
        e.values.iter().all(one)
    } else {
        e.values.iter().any(one)
    }
}

fn search_holds(rule: &RefRule, name: &str, row: &Value) -> bool {
    rule.searches[name]
        .iter()
        .any(|entries| entries.iter().all(|e| entry_holds(e, row)))
}

/// Whether one of the conditions holds.
fn condition_holds(rule: &RefRule, row: &Value) -> bool {
    rule.conditions
        .iter()
        .any(|c| one_condition_holds(rule, c, row))
}

/// A condition, by recursive descent over its words.
fn one_condition_holds(rule: &RefRule, condition: &str, row: &Value) -> bool {
    let spaced = condition.replace('(', " ( ").replace(')', " ) ");
    let words: Vec<&str> = spaced.split_whitespace().collect();
    fn pattern_names<'a>(rule: &'a RefRule, pattern: &str) -> Vec<&'a str> {
        rule.searches
            .keys()
            .map(String::as_str)
            .filter(|k| {
                if pattern == "them" {
                    !k.starts_with('_')
                } else if let Some(prefix) = pattern.strip_suffix('*') {
                    k.starts_with(prefix)
                } else {
                    *k == pattern
                }
            })
            .collect()
    }
    fn or(r: &RefRule, row: &Value, w: &[&str], i: &mut usize) -> bool {
        let mut v = and(r, row, w, i);
        while w.get(*i) == Some(&"or") {
            *i += 1;
            let rhs = and(r, row, w, i);
            v = v || rhs;
        }
        v
    }
    fn and(r: &RefRule, row: &Value, w: &[&str], i: &mut usize) -> bool {
        let mut v = not(r, row, w, i);
        while w.get(*i) == Some(&"and") {
            *i += 1;
            let rhs = not(r, row, w, i);
            v = v && rhs;
        }
        v
    }
    fn not(r: &RefRule, row: &Value, w: &[&str], i: &mut usize) -> bool {
        if w.get(*i) == Some(&"not") {
            *i += 1;
            return !not(r, row, w, i);
        }
        let word = w[*i];
        *i += 1;
        match word {
            "(" => {
                let v = or(r, row, w, i);
                assert_eq!(w[*i], ")");
                *i += 1;
                v
            }
            "1" | "all" if w.get(*i) == Some(&"of") => {
                let names = pattern_names(r, w[*i + 1]);
                *i += 2;
                assert!(!names.is_empty());
                if word == "all" {
                    names.iter().all(|n| search_holds(r, n, row))
                } else {
                    names.iter().any(|n| search_holds(r, n, row))
                }
            }
            name => search_holds(r, name, row),
        }
    }
    let mut i = 0;
    let v = or(rule, row, &words, &mut i);
    assert_eq!(i, words.len(), "condition read to its end");
    v
}

fn log_of(row: &Value) -> &'static str {
    let table = row
        .get("Type")
        .or_else(|| row.get("Category"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_ascii_lowercase();
    match table.as_str() {
        "signinlogs" => "signinlogs",
        "aadnoninteractiveusersigninlogs" | "noninteractiveusersigninlogs" => {
            "noninteractiveusersigninlogs"
        }
        "aadserviceprincipalsigninlogs" | "serviceprincipalsigninlogs" => {
            "serviceprincipalsigninlogs"
        }
        "aadmanagedidentitysigninlogs" | "managedidentitysigninlogs" => "managedidentitysigninlogs",
        _ => "other",
    }
}

/// The records (0-based) each rule picks, by the reference.
fn reference(rules: &[RefRule], rows: &[Value]) -> BTreeMap<String, BTreeSet<u64>> {
    let mut out: BTreeMap<String, BTreeSet<u64>> = rules
        .iter()
        .map(|r| (r.id.clone(), BTreeSet::new()))
        .collect();
    for (i, row) in rows.iter().enumerate() {
        for rule in rules {
            let service = rule.service.to_ascii_lowercase();
            let service = service.strip_prefix("aad").unwrap_or(&service);
            if log_of(row) == service && condition_holds(rule, row) {
                out.get_mut(&rule.id).unwrap().insert(i as u64);
            }
        }
    }
    out
}

// ---------------------------------------------------------------------
// tollgate
// ---------------------------------------------------------------------

fn load(files: &[PathBuf]) -> RuleSet {
    let mut loader = Loader::new();
    for f in files {
        loader.add_path(f).expect("rule file");
    }
    common::loaded(loader)
}

/// The records each rule finds, by tollgate (reading every key, or only
/// the rules' keys on three threads: both must agree).
fn tollgate(
    set: &RuleSet,
    ids: &[String],
    bytes: &[u8],
    fast: bool,
) -> BTreeMap<String, BTreeSet<u64>> {
    let options = ingest::Options {
        keep: if fast {
            set.projection().keep_some().map(std::sync::Arc::new)
        } else {
            None
        },
        ..ingest::Options::default()
    };
    let mut reader = ingest::from_reader_with(
        "input".into(),
        Box::new(Cursor::new(bytes.to_vec())),
        options,
    );
    let mut out: BTreeMap<String, BTreeSet<u64>> =
        ids.iter().map(|id| (id.clone(), BTreeSet::new())).collect();
    let threads = if fast { 3 } else { 1 };
    let scanned: Result<(), ()> = scan::scan(&mut reader, set, threads, &mut |outcome| {
        if let Outcome::Record { findings, .. } = outcome {
            for f in findings {
                out.entry(f.rule_id.to_string())
                    .or_default()
                    .insert(f.location.record);
            }
        }
        Ok(())
    });
    assert!(scanned.is_ok());
    out
}

/// Compares tollgate with the reference on the rows; gives tollgate's
/// records per rule.
fn compare(name: &str, bytes: &[u8]) -> BTreeMap<String, BTreeSet<u64>> {
    compare_rules(name, &fixtures(), bytes)
}

fn compare_rules(name: &str, files: &[PathBuf], bytes: &[u8]) -> BTreeMap<String, BTreeSet<u64>> {
    let rules: Vec<RefRule> = files
        .iter()
        .map(|f| read_rule(&std::fs::read_to_string(f).expect("fixture")))
        .collect();
    let ids: Vec<String> = rules.iter().map(|r| r.id.clone()).collect();
    let rows: Vec<Value> = String::from_utf8_lossy(bytes)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("a JSON row"))
        .collect();
    let want = reference(&rules, &rows);
    let set = load(files);
    let plain = tollgate(&set, &ids, bytes, false);
    let fast = tollgate(&set, &ids, bytes, true);
    assert_eq!(
        plain, fast,
        "{name}: reading every key and only the rules' keys"
    );
    for (rule, file) in rules.iter().zip(files) {
        let got = &plain[&rule.id];
        let expected = &want[&rule.id];
        assert_eq!(
            got,
            expected,
            "{name}: {} ({}) picks other records than the reference",
            file.display(),
            rule.id
        );
    }
    plain
}

fn total(found: &BTreeMap<String, BTreeSet<u64>>) -> usize {
    found.values().map(BTreeSet::len).sum()
}

#[test]
fn sigma_rules_pick_the_records_the_reference_picks_in_real_log_analytics_rows() {
    let bytes =
        std::fs::read(root().join("tests/fixtures/ingest/la_signinlogs_msticpy_aad_logons.jsonl"))
            .expect("fixture");
    let matched = total(&compare("real rows", &bytes));
    assert!(matched > 50, "the fixtures find something: {matched}");
}

#[test]
fn sigma_rules_pick_the_records_the_reference_picks_in_generated_rows() {
    for seed in [1, 7] {
        let bytes = support::buffer(support::Shape::LogAnalytics, 1500, seed);
        let matched = total(&compare(&format!("generated, seed {seed}"), &bytes));
        assert!(matched > 50, "the fixtures find something: {matched}");
    }
}

/// Each fixture rule finds something somewhere, so no comparison is of
/// two empty sets only (except the encoded values, which no log holds).
#[test]
fn every_fixture_rule_finds_something() {
    let files = fixtures();
    let set = load(&files);
    let mut bytes =
        std::fs::read(root().join("tests/fixtures/ingest/la_signinlogs_msticpy_aad_logons.jsonl"))
            .expect("fixture");
    bytes.extend(support::buffer(support::Shape::LogAnalytics, 1500, 1));
    let ids: Vec<String> = files
        .iter()
        .map(|f| read_rule(&std::fs::read_to_string(f).expect("fixture")).id)
        .collect();
    let found = tollgate(&set, &ids, &bytes, false);
    for (id, file) in ids.iter().zip(&files) {
        if file.ends_with("encoded.yml") {
            continue;
        }
        assert!(!found[id].is_empty(), "{} finds nothing", file.display());
    }
}

/// A folder of Sigma rules named by `TOLLGATE_SIGMA_RULES` (such as
/// `rules/cloud/azure/signin_logs` of a SigmaHQ checkout), compared with
/// the reference like the fixtures; skipped when the variable is unset.
#[test]
fn sigma_rules_of_a_folder_named_in_the_environment_agree_with_the_reference() {
    let Ok(dir) = std::env::var("TOLLGATE_SIGMA_RULES") else {
        eprintln!("skipped: set TOLLGATE_SIGMA_RULES to a folder of Sigma rules");
        return;
    };
    let files = rule_files(std::path::Path::new(&dir));
    let mut bytes =
        std::fs::read(root().join("tests/fixtures/ingest/la_signinlogs_msticpy_aad_logons.jsonl"))
            .expect("fixture");
    bytes.extend(support::buffer(support::Shape::LogAnalytics, 3000, 5));
    let found = compare_rules(&dir, &files, &bytes);
    for (id, records) in &found {
        eprintln!("{id}: {} records", records.len());
    }
}

/// Rows made to hit what real logs rarely hold: encoded values, Windows
/// dashes, odd letter case, missing and blank columns.
#[test]
fn sigma_rules_pick_the_records_the_reference_picks_in_crafted_rows() {
    let real = std::fs::read_to_string(
        root().join("tests/fixtures/ingest/la_signinlogs_msticpy_aad_logons.jsonl"),
    )
    .expect("fixture");
    let base: Value = serde_json::from_str(real.lines().next().expect("a row")).expect("JSON");
    let agents = [
        "cHl0aG9u".to_string(),
        "x".to_string() + &tollgate_b64("   curl/8.1"),
        "x".to_string() + &tollgate_b64(" curl/8.1"),
        "x".to_string() + &tollgate_b64("curl/8.1"),
        "Mozilla/5.0 (Windows NT 10.0; \u{2013}x".to_string(),
        "Mozilla/5.0 (Windows NT 10.0; /x".to_string(),
        "Mozilla/5.0 (Windows NT 10.0; \u{2014}Win64".to_string(),
        "Mozilla/5.0 (Windows NT 10.0; -Win64".to_string(),
        "Mozilla/5.0 (Windows NT 10.0;-Win64".to_string(),
        String::new(),
    ];
    let mut bytes = Vec::new();
    for (i, agent) in agents.iter().enumerate() {
        let mut row = base.clone();
        row["UserAgent"] = Value::from(agent.as_str());
        row["Id"] = Value::from(format!("crafted-{i}"));
        if i % 3 == 0 {
            row.as_object_mut()
                .expect("object")
                .remove("AlternateSignInName");
        }
        if i % 4 == 1 {
            row["UserPrincipalName"] = Value::from("NOT*A?WILDCARD");
        }
        bytes.extend(row.to_string().into_bytes());
        bytes.push(b'\n');
    }
    let found = compare("crafted rows", &bytes);
    // base64 (1), base64offset (3) and windash (4: the en dash, the slash,
    // the em dash and the plain dash, not the dash inside a word).
    let encoded = &found["6f1d2a10-0001-4a00-8000-000000000008"];
    assert_eq!(
        encoded.iter().copied().collect::<Vec<_>>(),
        [0, 1, 2, 3, 4, 5, 6, 7]
    );
}

fn tollgate_b64(s: &str) -> String {
    b64(s.as_bytes())
}

// ---------------------------------------------------------------------
// Errors: every file under tests/fixtures/sigma/errors/ says on its first
// line `# expect: CODE | LINE | TEXT`; validating it alone must give that
// error, in that file, at that line, with that text (the feature).
// ---------------------------------------------------------------------

#[test]
fn unsupported_sigma_names_the_file_the_line_and_the_feature() {
    let dir = root().join("tests/fixtures/sigma/errors");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("errors folder")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    assert!(files.len() >= 15);
    for file in files {
        let text = std::fs::read_to_string(&file).expect("fixture");
        let expect = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# expect: "))
            .unwrap_or_else(|| panic!("{} has no `# expect:` line", file.display()));
        let parts: Vec<&str> = expect.split(" | ").collect();
        let [code, line, feature] = parts[..] else {
            panic!("{}: `# expect: CODE | LINE | TEXT`", file.display())
        };
        let mut loader = Loader::new();
        loader.add_path(&file).expect("rule file");
        let rejected = loader.load().expect_err("the rule is refused");
        let rendered = tollgate::diag::render(
            &rejected.diagnostics,
            &rejected.sources,
            tollgate::diag::ErrorFormat::Plain,
        );
        let at = format!("{}:{line}:", file.display());
        let hit = rendered
            .lines()
            .any(|l| l.starts_with(&at) && l.contains(&format!("error[{code}]")));
        assert!(
            hit,
            "{}: no {code} at line {line} in\n{rendered}",
            file.display()
        );
        assert!(
            rendered.contains(feature),
            "{}: `{feature}` not said in\n{rendered}",
            file.display()
        );
    }
}

// ---------------------------------------------------------------------
// Rules over many records: aggregations and correlations.
// ---------------------------------------------------------------------

/// Sign-ins at minute `t` of one hour.
fn sign_in(t: u32, upn: &str, ip: &str, code: u32) -> String {
    serde_json::json!({
        "Type": "SigninLogs",
        "Category": "SignInLogs",
        "Id": format!("id-{t}-{upn}"),
        "CreatedDateTime": format!("2026-01-01T10:{t:02}:00Z"),
        "TimeGenerated": format!("2026-01-01T10:{t:02}:30Z"),
        "UserPrincipalName": upn,
        "IPAddress": ip,
        "ResultType": code.to_string(),
        "AppDisplayName": "App",
    })
    .to_string()
}

#[test]
fn correlations_and_aggregations_run_as_windows_and_sequences() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut rows = Vec::new();
    // One address, four accounts failing: a spray.
    for (i, upn) in ["a@x", "b@x", "c@x", "d@x"].iter().enumerate() {
        rows.push(sign_in(i as u32, upn, "192.0.2.1", 50126));
    }
    // One account failing three times, then signing in.
    for i in 0..3 {
        rows.push(sign_in(20 + i, "e@x", "192.0.2.2", 50126));
    }
    rows.push(sign_in(24, "e@x", "192.0.2.2", 0));
    // A success before failures: not in order.
    rows.push(sign_in(40, "f@x", "192.0.2.3", 0));
    rows.push(sign_in(41, "f@x", "192.0.2.3", 50126));
    let log = dir.path().join("rows.jsonl");
    std::fs::write(&log, rows.join("\n") + "\n").expect("write");
    let rules = root().join("tests/fixtures/sigma/correlation.yml");
    let out = common::tollgate_in(
        dir.path(),
        &[
            "check",
            "--rules",
            rules.to_str().expect("path"),
            log.to_str().expect("path"),
            "--format",
            "jsonl",
        ],
    );
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for line in common::stdout(&out).lines() {
        let finding: Value = serde_json::from_str(line).expect("a finding");
        *counts
            .entry(finding["title"].as_str().expect("title").to_string())
            .or_default() += 1;
    }
    let expected: BTreeMap<String, usize> = [
        ("Spray (value_count)", 1),
        ("Brute force (event_count)", 1),
        ("Failure then success (temporal_ordered)", 1),
        ("Failure and success (temporal)", 2),
        ("Spray (aggregation)", 1),
        ("Failures then success (temporal over event_count)", 1),
        ("Success in App", 2),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    // `Failed password` and `Success` run only inside correlations (one
    // without `generate: true` names them, as in pySigma); `Success in
    // App` runs alone too (its two records), as the one correlation naming it says
    // `generate: true`.
    assert_eq!(counts, expected, "{}", common::stderr(&out));
}

/// `validate` says which log each Sigma service reads; `check` reports
/// Sigma findings like any other, in SARIF too (the rule's id, title,
/// level and description).
#[test]
fn the_command_line_lists_the_services_and_reports_sigma_findings() {
    let dir = root();
    let out = common::tollgate_in(&dir, &["validate", "--rules", "tests/fixtures/sigma/run"]);
    let err = common::stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("Sigma `service: signinlogs` reads the `interactive` log (13 rules)"),
        "{err}"
    );
    assert!(
        err.contains(
            "Sigma `service: AADManagedIdentitySignInLogs` reads the `managedIdentity` log (1 rule)"
        ),
        "{err}"
    );
    assert!(
        err.contains(
            "Sigma `service: noninteractiveusersigninlogs` reads the `nonInteractive` log (1 rule)"
        ),
        "{err}"
    );
    let out = common::tollgate_in(
        &dir,
        &[
            "check",
            "--rules",
            "tests/fixtures/sigma/run/basic.yml",
            "tests/fixtures/ingest/la_signinlogs_msticpy_aad_logons.jsonl",
            "--format",
            "sarif",
        ],
    );
    let sarif: Value = serde_json::from_str(&common::stdout(&out)).expect("SARIF");
    let rule = &sarif["runs"][0]["tool"]["driver"]["rules"][0];
    assert_eq!(rule["id"], "6f1d2a10-0001-4a00-8000-000000000001");
    assert!(
        rule.to_string().contains("Field maps, value lists"),
        "the description is the help: {rule}"
    );
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    assert_eq!(results.len(), 3, "repeated records are reported once");
    assert_eq!(results[0]["level"], "note", "informational is info");
}

/// A Sigma pattern's `|re|m` and `|re|s` flags are part of what is
/// compiled: `s` lets `.` match a newline in KQL too, and `m`'s line
/// anchors, which RE2 and Java read otherwise, are refused, not dropped.
#[test]
fn regex_flags_reach_the_compiled_queries() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rule = |id: &str, modifiers: &str, pattern: &str| {
        format!(
            "title: t\nid: {id}\nlogsource:\n  product: azure\n  service: signinlogs\ndetection:\n  sel:\n    UserAgent|{modifiers}: \"{pattern}\"\n  condition: sel\nlevel: low\n"
        )
    };
    std::fs::write(
        dir.path().join("s.yml"),
        rule("0c0c0c0c-0000-4000-8000-0000000000aa", "re|s", "a.b"),
    )
    .expect("write");
    std::fs::write(
        dir.path().join("m.yml"),
        rule("0c0c0c0c-0000-4000-8000-0000000000ab", "re|m", "^curl"),
    )
    .expect("write");
    let o = common::tollgate_in(
        dir.path(),
        &["compile", "--target", "kql", "--rules", "s.yml"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
    assert!(
        common::stdout(&o).contains(r"a[\\\\x{0}-\\\\x{10FFFF}]b"),
        "{}",
        common::stdout(&o)
    );
    let o = common::tollgate_in(
        dir.path(),
        &["compile", "--target", "kql", "--rules", "m.yml"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", common::stderr(&o));
    assert!(
        common::stderr(&o).contains("a line anchor of the"),
        "{}",
        common::stderr(&o)
    );
}
