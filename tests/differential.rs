//! The fast path gives exactly what the plain path gives.
//!
//! Plain: every key of every record parsed, one thread. Fast: only the keys
//! the rules read ([`ingest::Keep`] from [`RuleSet::projection`]), records
//! decoded and evaluated on several threads. Both run every rule of the
//! built-in pack, of `bench/rules12.yaml` and of generated variants over
//! generated sign-ins in each shape (with broken records mixed in) and over
//! the bundled examples, and must give the same outcomes, record by record:
//! the same findings (every field), the same unreadable records with the
//! same reasons, the same counts, the same detected formats.
//!
//! On every record, the rule set's evaluation (which skips the rules its
//! index of required sets rules out) also finds what evaluating each rule
//! on its own finds.

#[path = "../benches/support/mod.rs"]
mod support;

mod common;

use std::path::{Path, PathBuf};

use common::{Lcg, same};
use support::Shape;
use tollgate::engine::{Loader, RuleSet};

fn load(add: impl FnOnce(&mut Loader)) -> RuleSet {
    let mut loader = Loader::new();
    add(&mut loader);
    common::loaded(loader)
}

/// Generated records in one shape, with a few broken ones: a line cut
/// short, a line of junk, a record that is not an object, and a record
/// over two lines.
fn generated(shape: Shape, count: u64) -> Vec<u8> {
    let bytes = support::buffer(shape, count, 11);
    if shape == Shape::GraphPage {
        return bytes;
    }
    let text = String::from_utf8(bytes).expect("generated text is UTF-8");
    let mut out = String::new();
    for (i, line) in text.lines().enumerate() {
        // A value no rule reads that a full parse refuses, or a key twice.
        let with = |extra: &str| line.replacen('{', &format!("{{{extra}"), 1);
        match i % 97 {
            13 => out.push_str(line.get(..line.len() / 2).unwrap_or(line)),
            // A record over two lines, the first ending in `}`: read
            // ahead of as one line, then read again.
            29 => {
                out.push_str("{\"junk\": {}\n, ");
                out.push_str(line.get(1..).unwrap_or(line));
            }
            41 => out.push_str("[1, 2, 3]"),
            55 => out.push_str(&with(r#""junk": "\ud800", "#)),
            63 => out.push_str(&with(r#""junk": 1, "junk": 2, "#)),
            71 => out.push_str(&with(r#""junk": 1e400, "#)),
            77 => out.push_str("not json at all"),
            _ => out.push_str(line),
        }
        out.push('\n');
    }
    out.into_bytes()
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .filter(|p| {
            p.extension()
                .is_some_and(|x| ["json", "jsonl", "csv", "gz"].iter().any(|e| x == *e))
        })
        .collect();
    files.sort();
    files
}

#[test]
fn the_pack_gives_the_same_outcomes_both_ways_on_every_shape() {
    let set = load(|l| {
        l.add_builtin();
    });
    let mut findings = 0;
    for shape in Shape::ALL {
        findings += same(&set, shape.name(), &generated(shape, 600));
    }
    assert!(findings > 100, "the data exercises the rules: {findings}");
}

#[test]
fn the_benchmark_and_generated_rules_give_the_same_outcomes_both_ways() {
    let rules12 = load(|l| {
        l.add_source("rules12.yaml", support::RULES12);
    });
    let variants = support::rules(300, 3);
    let generated_rules = load(|l| {
        l.add_source("generated.yaml", &variants);
    });
    for set in [&rules12, &generated_rules] {
        let mut findings = 0;
        for shape in [Shape::Jsonl, Shape::LogAnalytics] {
            findings += same(set, shape.name(), &generated(shape, 400));
        }
        assert!(findings > 20, "{findings}");
    }
}

#[test]
fn the_bundled_and_real_logs_give_the_same_outcomes_both_ways() {
    let set = load(|l| {
        l.add_builtin();
    });
    let mut files = files_under(&root().join("examples"));
    files.extend(files_under(&root().join("tests/fixtures/ingest")));
    assert!(files.len() >= 6, "{files:?}");
    for file in files {
        let bytes = std::fs::read(&file).expect("read");
        same(&set, &file.display().to_string(), &bytes);
    }
}

#[test]
fn edge_records_read_the_same_both_ways() {
    let set = load(|l| {
        l.add_builtin();
        l.add_source(
            "raw.yaml",
            "id: T-RAW\ntitle: t\nseverity: low\nmatch:\n  raw.properties.foo: bar\n",
        );
    });
    let deep = format!(
        r#"{{"userPrincipalName": "a@b", "clientAppUsed": "IMAP4", "status": {{"errorCode": 0}}, "junk": {}1{}}}"#,
        "[".repeat(200),
        "]".repeat(200)
    );
    let allowed = format!(
        r#"{{"userPrincipalName": "a@b", "clientAppUsed": "IMAP4", "status": {{"errorCode": 0}}, "junk": {}1{}}}"#,
        "[".repeat(98),
        "]".repeat(98)
    );
    let lines = [
        r#"{"userPrincipalName": "a@b", "clientAppUsed": "IMAP4", "status": {"errorCode": 0}, "junk": "\ud800"}"#,
        r#"{"userPrincipalName": "a@b", "clientAppUsed": "IMAP4", "status": {"errorCode": 0}, "junk": 1e400}"#,
        &deep,
        // What the reader's scan reads itself: escaped surrogate pairs in
        // kept and skipped text, escaped keys, exponents in kept and
        // skipped numbers, and nesting it follows; an exponent whose range
        // only a full parse can check.
        r#"{"userPrincipalName": "\ud83d\ude00@b", "clientAppUsed": "IMAP\u0034", "status": {"errorCode": 0e5, "failureReason": "\uD83D\uDE00"}, "junk": "\ud83d\ude00"}"#,
        r#"{"userPrincipal\u004eame": "a@b", "client\u0041ppUsed": "IMAP4", "status": {"error\u0043ode": 0}, "junk": 2.5E-3}"#,
        r#"{"userPrincipalName": "a@b", "clientAppUsed": "POP3", "status": {"errorCode": 5.0126e4}, "location": {"geoCoordinates": {"latitude": 4.8e1}}, "junk": -1e+299}"#,
        r#"{"userPrincipalName": "a@b", "clientAppUsed": "POP3", "status": {"errorCode": 0}, "junk": 1e305}"#,
        &allowed,
        // A multi-line record with a bad escape: recovery re-reads line 2.
        "{\"clientAppUsed\": \"IMAP4\", \"status\": {\"errorCode\": 0}, \"junk\": \"\\ud800\", \"n\":\n{\"id\": \"inner\", \"clientAppUsed\": \"POP3\", \"status\": {\"errorCode\": 0}}}",
        // Repeated keys decide the shape by distinct keys.
        r#"{"Category": "ServicePrincipalSignInLogs", "Status": {"errorCode": 50126}, "x": 1, "x": 2}"#,
        // `properties` as JSON text, and reached through raw.
        r#"{"category": "SignInLogs", "properties": "{\"clientAppUsed\": \"IMAP4\", \"status\": {\"errorCode\": 0}}"}"#,
        r#"{"userPrincipalName": "a@b", "properties": {"foo": "bar"}}"#,
        r#"{"userPrincipalName": "a@b", "appliedConditionalAccessPolicies": [{"result": "success"}]}"#,
        // JSON text of the wrong kind for its field stays text: an object
        // field holding a list, a list holding a number.
        r#"{"clientAppUsed": "IMAP4", "status": "[{\"errorCode\": 0}]"}"#,
        r#"{"clientAppUsed": "IMAP4", "status": {"errorCode": 0}, "appliedConditionalAccessPolicies": "{\"result\": 7"}"#,
        // Framing: two records on a line; a line that ends in `}` inside
        // a record that goes on; blanks and a carriage return after a
        // record; a key that could announce a Graph page, and one that
        // does; a `}` that closes nothing.
        r#"{"clientAppUsed": "IMAP4", "status": {"errorCode": 0}} {"clientAppUsed": "POP3", "status": {"errorCode": 0}}"#,
        r#"{"clientAppUsed": "IMAP4", "status": {}"#,
        r#", "id": "joined"}"#,
        "{\"clientAppUsed\": \"IMAP4\", \"status\": {\"errorCode\": 0}}  \t\r",
        r#"{"clientAppUsed": "IMAP4", "status": {"errorCode": 0}, "Value": 1}"#,
        r#"{"VALUE": [{"clientAppUsed": "IMAP4", "status": {"errorCode": 0}}], "x": "}"}"#,
        r#"{"clientAppUsed": "IMAP4", "status": {"errorCode": 0}}}"#,
        r#"  {"clientAppUsed": "IMAP4", "status": {"errorCode": 0}, "text": "{"a": "}"}"}"#,
    ];
    let mut bytes = lines.join("\n").into_bytes();
    bytes.extend_from_slice(
        b"\n{\"clientAppUsed\": \"IMAP4\", \"status\": {\"errorCode\": 0}, \"junk\": \"\xff\"}\n",
    );
    let found = same(&set, "edge records", &bytes);
    assert!(found >= 2, "{found}");
    // A quantifier whose condition reads nothing of the element, alone:
    // no other rule reads the list.
    let any = load(|l| {
        l.add_source(
            "any.yaml",
            "id: T-ANY\ntitle: t\nseverity: low\nmatch:\n  appliedConditionalAccessPolicies: { any: { all: [] } }\n",
        );
    });
    assert!(same(&any, "edge records, T-ANY", &bytes) >= 1);
}

/// Records that repeat their keys share a layout, and what depends only on
/// the keys is worked out once for it: records of one layout whose values
/// send them to another catalog (a Graph call, a sign-in), another log or
/// another winner among spellings of one field, interleaved with other
/// layouts, read as each does alone.
#[test]
fn records_of_one_layout_read_the_same_both_ways() {
    let mut rules = String::new();
    let sign_in = [
        "location",
        "location.countryOrRegion",
        "ipAddress",
        "userPrincipalName",
        "status.errorCode",
        "createdDateTime",
        "raw.responseStatusCode",
        "raw.TenantId",
    ];
    // Keys typed in one catalog and unknown to the other.
    let call = [
        "location",
        "ipAddress",
        "requestUri",
        "responseStatusCode",
        "raw.createdDateTime",
        "raw.TenantId",
    ];
    for (logs, fields) in [("", &sign_in[..]), ("logs: [graphActivity]\n", &call[..])] {
        for field in fields {
            rules.push_str(&format!(
                "id: T-{n}\ntitle: t\nseverity: low\n{logs}match:\n  {field}: {{ exists: true }}\n---\n",
                n = rules.len()
            ));
        }
    }
    let set = load(|l| {
        l.add_builtin();
        l.add_source("fields.yaml", &rules);
    });
    let graph = |uri: &str, location: &str, ip: &str| {
        format!(
            r#"{{"requestUri": {uri}, "requestMethod": "GET", "location": {location}, "ipAddress": {ip}, "userPrincipalName": "a@b", "status": {{"errorCode": 0}}, "createdDateTime": "2025-03-01T11:00:00+01:00", "responseStatusCode": "200"}}"#
        )
    };
    let la = |log: &str| {
        format!(
            r#"{{"Type": "{log}", "TenantId": "t", "ResourceId": "/r", "UserPrincipalName": "a@b", "IPAddress": "198.51.100.1", "Location": "FR", "ResultType": "50126", "RequestUri": "https://graph.microsoft.com/v1.0/me", "RequestMethod": "GET"}}"#
        )
    };
    let call = graph(
        r#""https://graph.microsoft.com/v1.0/me""#,
        r#""West Europe""#,
        r#""203.0.113.5""#,
    );
    let sign_in = graph("null", r#"{"countryOrRegion": "FR"}"#, r#""203.0.113.5""#);
    let no_ip = graph("null", r#"{"countryOrRegion": "IE"}"#, "null");
    // Two spellings of one field: the winner depends on the values.
    let twice = |ip: &str| {
        format!(
            r#"{{"ipAddress": {ip}, "IPAddress": "192.0.2.9", "userPrincipalName": "a@b", "status": {{"errorCode": 0}}}}"#
        )
    };
    let first = twice(r#""203.0.113.5""#);
    let second = twice("null");
    let lines = [
        &call,
        &call,
        &sign_in,
        &no_ip,
        &call,
        &la("SigninLogs"),
        &la("MicrosoftGraphActivityLogs"),
        &la("NonInteractiveUserSignInLogs"),
        &la("SigninLogs"),
        &sign_in,
        &la("MicrosoftGraphActivityLogs"),
        &no_ip,
        &first,
        &second,
        &first,
        &call,
        &sign_in,
    ];
    let bytes = lines.map(String::as_str).join("\n").into_bytes();
    let found = same(&set, "records of one layout", &bytes);
    assert!(found >= lines.len(), "{found}");
}

/// Lines read ahead of without a scan, in batches on several threads: a
/// line that is not one record, far into the input (batches applied and
/// forgotten before it, others in flight after it), is read again from
/// there, and a file that ends inside a record still says so.
#[test]
fn a_line_found_late_to_be_no_record_is_read_again() {
    let set = load(|l| {
        l.add_builtin();
    });
    for at in [0, 700, 768, 2047, 2999] {
        let text = String::from_utf8(support::buffer(Shape::Jsonl, 3000, 5)).expect("UTF-8");
        let mut bytes = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if i == at {
                // Two records on a line, then one over two lines.
                bytes.extend_from_slice(format!("{line} {line}\n{{\"junk\": {{}}\n, ").as_bytes());
                bytes.extend_from_slice(line.get(1..).unwrap_or(line).as_bytes());
            } else {
                bytes.extend_from_slice(line.as_bytes());
            }
            bytes.push(b'\n');
        }
        bytes.extend_from_slice(br#"{"clientAppUsed": "IMAP4", "status": {}"#);
        let found = same(&set, &format!("misframed at {at}"), &bytes);
        assert!(found > 100, "{found}");
    }
}

/// A stream that gives its bytes, then fails once, then ends.
struct FailsAfter(std::io::Cursor<Vec<u8>>, bool);

impl std::io::Read for FailsAfter {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self.0.read(buf)? {
            0 if !self.1 => {
                self.1 = true;
                Err(std::io::Error::other("the disk went away"))
            }
            n => Ok(n),
        }
    }
}

/// A read that fails after a line read ahead of and then read again: the
/// failure is reported where the stream failed, as without reading ahead.
#[test]
fn a_failed_read_is_reported_after_reading_again() {
    let set = load(|l| {
        l.add_builtin();
    });
    let text = String::from_utf8(support::buffer(Shape::Jsonl, 2000, 5)).expect("UTF-8");
    let mut bytes = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if i == 1900 {
            bytes.extend_from_slice(b"{\"junk\": {}\n, ");
            bytes.extend_from_slice(line.get(1..).unwrap_or(line).as_bytes());
        } else {
            bytes.extend_from_slice(line.as_bytes());
        }
        bytes.push(b'\n');
    }
    let stream = |fast, threads| {
        let input = FailsAfter(std::io::Cursor::new(bytes.clone()), false);
        common::run_from(&set, Box::new(input), fast, threads)
    };
    let plain = stream(false, 1);
    assert!(
        plain.iter().any(|o| o.contains("the disk went away")),
        "{:?}",
        plain.last()
    );
    for threads in [1, 3] {
        assert_eq!(plain, stream(true, threads), "{threads} threads");
    }
}

#[test]
fn csv_edges_read_the_same_both_ways() {
    let set = load(|l| {
        l.add_builtin();
        l.add_source(
            "raw.yaml",
            "id: T-RAW\ntitle: t\nseverity: low\nmatch:\n  raw.Status_string: x\n",
        );
    });
    // A portal export: split dynamic columns (rows alternate which half
    // holds the value; some hold both, alike or not), a name the header
    // repeats, empty cells, a cell that is not UTF-8, a row of the wrong
    // width.
    let mut bytes = "\u{feff}TimeGenerated [UTC],Category,ResultType,ClientAppUsed,Status_dynamic,Status_string,AppDisplayName,AppDisplayName,UserPrincipalName\r\n"
        .as_bytes()
        .to_vec();
    for row in [
        r#"4/28/2021 2:08:45.221 PM,SignInLogs,0,IMAP4,"{""errorCode"":0}",,Teams,,a@b"#,
        r#"4/28/2021 2:08:46.221 PM,SignInLogs,0,IMAP4,,"{""errorCode"":0}",,Outlook,a@b"#,
        r#"4/28/2021 2:08:47.221 PM,SignInLogs,0,IMAP4,"{""errorCode"":0}","{""errorCode"":0}",Teams,Outlook,a@b"#,
        r#"4/28/2021 2:08:48.221 PM,SignInLogs,50126,POP3,"{""errorCode"":0}",x,Teams,,a@b"#,
        // The dynamic half alone, with no `ResultType` to fill it in.
        r#"4/28/2021 2:08:49.021 PM,SignInLogs,,IMAP4,"{""errorCode"":0,""x"":[1]}",,Teams,,a@b"#,
        r#",,,,,,,,"#,
        r#"4/28/2021 2:08:49.221 PM,SignInLogs,0,IMAP4"#,
    ] {
        bytes.extend_from_slice(row.as_bytes());
        bytes.extend_from_slice(b"\r\n");
    }
    bytes.extend_from_slice(b"4/28/2021 2:08:50.221 PM,SignInLogs,0,IMAP4,,,\xff,,a@b\r\n");
    let found = same(&set, "csv edges", &bytes);
    assert!(found >= 3, "{found}");
    // Rules that read a dynamic column in part (`status.errorCode`).
    let rules12 = load(|l| {
        l.add_source("rules12.yaml", support::RULES12);
    });
    let found = same(&rules12, "csv edges, 12 rules", &bytes);
    assert!(found >= 1, "{found}");
}

// ------------------------------------------------------ arbitrary records

/// One field of the catalog, as `tollgate schema --format json` lists it.
struct CatalogField {
    path: Vec<String>,
    aliases: Vec<String>,
    kind: String,
    values: Vec<String>,
    log: String,
}

fn catalog() -> Vec<CatalogField> {
    let json = tollgate::field_catalog(tollgate::CatalogFormat::Json).expect("catalog");
    let fields: Vec<serde_json::Value> = serde_json::from_str(&json).expect("catalog json");
    let text = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect()
    };
    fields
        .iter()
        .map(|f| CatalogField {
            path: f["field"]
                .as_str()
                .unwrap_or_default()
                .split('.')
                .map(str::to_string)
                .collect(),
            aliases: text(&f["aliases"]),
            kind: f["type"].as_str().unwrap_or_default().to_string(),
            values: text(&f["values"]),
            log: f["log"].as_str().unwrap_or_default().to_string(),
        })
        .collect()
}

/// A key as a record may spell it: as the catalog does, in another case,
/// or by an alias.
fn spelling(rng: &mut Lcg, name: &str, aliases: &[String]) -> String {
    match rng.below(10) {
        0 => name.to_uppercase(),
        1 => {
            let mut c = name.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect())
                .unwrap_or_default()
        }
        2 | 3 if !aliases.is_empty() => rng.pick(aliases).clone(),
        _ => name.to_string(),
    }
}

/// A value for a field of `kind`: mostly what Entra writes, often what it
/// might (codes as text, text in other cases, JSON held in a string), and
/// sometimes nonsense.
fn value(rng: &mut Lcg, kind: &str, values: &[String], depth: usize) -> serde_json::Value {
    use serde_json::json;
    if rng.chance(1) {
        return match rng.below(4) {
            0 => json!(null),
            1 => json!(""),
            2 => json!("  "),
            _ => any(rng, depth),
        };
    }
    match kind {
        "enum" if !values.is_empty() => match rng.below(5) {
            0 => json!(rng.pick(values).to_uppercase()),
            1 => json!(rng.below(4)),
            2 => json!(rng.below(4).to_string()),
            _ => json!(rng.pick(values)),
        },
        "integer" | "number" => match rng.below(7) {
            0 => json!(rng.pick(&[0, 50126, 50053, 500121, 53003, 50057])),
            1 => json!(rng.pick(&["0", "50126", " 50074 ", "x"])),
            2 => json!(-(rng.below(100) as i64)),
            3 => json!(rng.below(1000) as f64 + 0.5),
            4 => json!(1e20),
            _ => json!(rng.below(100_000)),
        },
        "boolean" => json!(rng.pick(&[
            json!(true),
            json!(false),
            json!("true"),
            json!("False"),
            json!(1)
        ])),
        "date-time" => json!(rng.pick(&[
            "2025-03-01T10:00:00Z",
            "2025-03-01T10:00:00.1234567Z",
            "2025-03-01 10:00:00",
            "3/1/2025, 10:00:00.000 AM",
            "yesterday",
        ])),
        k if k.starts_with("list of") => {
            let inner = k.trim_start_matches("list of ");
            let items: Vec<serde_json::Value> = (0..rng.below(4))
                .map(|_| value(rng, inner, values, depth + 1))
                .collect();
            match rng.below(6) {
                0 => json!(serde_json::to_string(&items).unwrap_or_default()),
                1 => items.into_iter().next().unwrap_or(json!(null)),
                _ => json!(items),
            }
        }
        // An object field's value, or its JSON text (as a Log Analytics
        // CSV writes it), of any kind.
        "object" | "dynamic" => match rng.below(4) {
            0 => json!(serde_json::to_string(&any(rng, depth)).unwrap_or_default()),
            _ => any(rng, depth),
        },
        _ => json!(rng.pick(&[
            "alice@contoso.com",
            "ALICE@CONTOSO.COM",
            "203.0.113.7",
            "2001:db8::1",
            "Office 365 Exchange Online",
            "Microsoft Azure CLI",
            "curl/8.0 \"quoted\" \\ back",
            "caf\u{e9} \u{1f600}",
            "00000002-0000-0ff1-ce00-000000000000",
            "72f988bf-86f1-41af-91ab-2d7cd011db47",
            "IMAP4",
            "Authenticated SMTP",
            "US",
        ])),
    }
}

/// Any JSON value, nested a little.
fn any(rng: &mut Lcg, depth: usize) -> serde_json::Value {
    use serde_json::json;
    match rng.below(if depth > 3 { 5 } else { 7 }) {
        0 => json!(null),
        1 => json!(rng.chance(5)),
        2 => json!(rng.below(1000)),
        3 => json!(format!("v{}", rng.below(50))),
        4 => json!(rng.below(1000) as f64 / 7.0),
        5 => {
            let items: Vec<_> = (0..rng.below(3)).map(|_| any(rng, depth + 1)).collect();
            json!(items)
        }
        _ => {
            let mut map = serde_json::Map::new();
            for _ in 0..rng.below(4) {
                map.insert(format!("k{}", rng.below(6)), any(rng, depth + 1));
            }
            serde_json::Value::Object(map)
        }
    }
}

/// One record as JSON text: catalog fields spelled any way, nested where
/// the catalog nests, unknown keys, a key sometimes written twice, in a
/// Graph, Log Analytics or diagnostic envelope.
fn arbitrary_record(rng: &mut Lcg, fields: &[CatalogField]) -> String {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for _ in 0..rng.below(24) + 1 {
        let f = rng.pick(fields);
        let v = value(rng, &f.kind, &f.values, 0);
        let (key, v) = match f.path.as_slice() {
            [name] => (spelling(rng, name, &f.aliases), v),
            [parent, rest @ ..] if rng.chance(8) => {
                let mut v = v;
                for child in rest.iter().rev() {
                    v = serde_json::json!({ child.as_str(): v });
                }
                // Sometimes in a list (a list of objects, as policies and
                // authentication steps come), with another element.
                if rng.chance(3) {
                    v = serde_json::json!([v, any(rng, 1)]);
                }
                // Sometimes as JSON text, as a Log Analytics CSV writes it.
                if rng.chance(3) {
                    v = serde_json::Value::from(v.to_string());
                }
                (parent.clone(), v)
            }
            // A flat alias of a nested field (`Location`), or the path
            // written out as one key.
            _ => match f.aliases.first() {
                Some(alias) => (alias.clone(), v),
                None => (f.path.join("."), v),
            },
        };
        pairs.push((key, v.to_string()));
    }
    if rng.chance(2) {
        pairs.push((format!("unknown{}", rng.below(5)), any(rng, 0).to_string()));
    }
    if rng.chance(1) && !pairs.is_empty() {
        let twice = rng.pick(&pairs).clone();
        pairs.push(twice);
    }
    let object = |pairs: &[(String, String)]| {
        let body: Vec<String> = pairs
            .iter()
            .map(|(k, v)| format!("{}: {v}", serde_json::Value::from(k.as_str())))
            .collect();
        format!("{{{}}}", body.join(", "))
    };
    match rng.below(6) {
        0 => {
            let mut top = vec![
                ("Type".to_string(), "\"SigninLogs\"".to_string()),
                (
                    "TimeGenerated".to_string(),
                    "\"2025-03-01T10:00:00Z\"".to_string(),
                ),
            ];
            top.extend(pairs);
            object(&top)
        }
        1 => {
            let inner = object(&pairs);
            let properties = if rng.chance(3) {
                serde_json::Value::from(inner).to_string()
            } else {
                inner
            };
            let category = rng.pick(&[
                "SignInLogs",
                "NonInteractiveUserSignInLogs",
                "ServicePrincipalSignInLogs",
                "MicrosoftGraphActivityLogs",
            ]);
            format!(
                r#"{{"time": "2025-03-01T10:00:00Z", "category": "{category}", "resultType": "{}", "callerIpAddress": "198.51.100.{}", "properties": {properties}}}"#,
                rng.pick(&["0", "50126", ""]),
                rng.below(255)
            )
        }
        _ => object(&pairs),
    }
}

/// Rules testing fields that may hold several values against sets, under
/// `not` and `any` and with `notIn`.
const LIST_SETS: &str = "\
id: T-LIST-OUT
title: t
severity: low
match:
  signInEventTypes: { notIn: [interactiveUser, nonInteractiveUser] }
---
id: T-LIST-NOT
title: t
severity: low
match:
  not:
    authenticationMethodsUsed: [Password, Text message]
---
id: T-LIST-ANY
title: t
severity: low
match:
  any:
    - riskEventTypes_v2: [unfamiliarFeatures, anonymizedIPAddress]
    - authenticationMethodsUsed: { notIn: [Password] }
---
id: T-RAW-OUT
title: t
severity: low
match:
  raw.unknown1: { notIn: [a, b] }
";

/// The fast path equals the plain path on records nobody wrote by hand:
/// catalog fields in any spelling, envelope and type, nested or flat, with
/// unknown and repeated keys, through the built-in pack, the benchmark
/// rules and a rule reading `raw.`. The generator is seeded: a failure
/// names the seed that shows it.
#[test]
fn arbitrary_records_read_the_same_both_ways() {
    let fields = catalog();
    assert!(fields.len() > 100, "{}", fields.len());
    let sets = [
        load(|l| {
            l.add_builtin();
        }),
        load(|l| {
            l.add_source("rules12.yaml", support::RULES12);
            l.add_source(
                "raw.yaml",
                "id: T-RAW\ntitle: t\nseverity: low\nmatch:\n  raw.unknown1: { exists: true }\n",
            );
            // Sets over fields that may hold several values: the rule
            // index answers a value outside a set by itself only for one.
            l.add_source("lists.yaml", LIST_SETS);
        }),
    ];
    // A rule per catalog field that fires when the field is there, with its
    // value as evidence: a field the fast path drops, or reads otherwise,
    // shows as a difference.
    let every_field: String = fields
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let logs = if f.log == "graphActivity" {
                "logs: [graphActivity]\n"
            } else {
                ""
            };
            format!(
                "id: T-FIELD-{i}\ntitle: t\nseverity: low\n{logs}match:\n  {}: {{ exists: true }}\n---\n",
                f.path.join(".")
            )
        })
        .collect();
    let [pack, rules12] = sets;
    let variants = support::rules(200, 5);
    let sets = [
        pack,
        rules12,
        load(|l| {
            l.add_source("generated.yaml", &variants);
        }),
        load(|l| {
            l.add_source("every-field.yaml", &every_field);
        }),
    ];
    let mut found = 0;
    for seed in 1..=8u64 {
        let mut rng = Lcg(seed);
        let lines: Vec<String> = (0..250)
            .map(|_| arbitrary_record(&mut rng, &fields))
            .collect();
        let bytes = lines.join("\n").into_bytes();
        for set in &sets {
            found += same(set, &format!("arbitrary records, seed {seed}"), &bytes);
        }
    }
    assert!(found > 50, "the records exercise the rules: {found}");
}
