//! Reader tests: layouts, exact lines and indexes, recovery from bad input,
//! gzip, the real exports in `tests/fixtures/ingest`, and arbitrary bytes.

use std::io::{Cursor, Write};
use std::path::Path;

use serde_json::{Value, json};

use super::*;
use crate::record::{Location, LogCategory};

fn reader(bytes: &[u8], limit: usize) -> Reader {
    reader_as(bytes, limit, InputFormat::Auto)
}

/// A reader of `bytes` with the given record size limit and format.
fn reader_as(bytes: &[u8], limit: usize, format: InputFormat) -> Reader {
    let options = Options {
        format,
        ..Options::default()
    };
    reader_with(bytes, limit, options)
}

/// A reader of `bytes` with the given record size limit and options.
fn reader_with(bytes: &[u8], limit: usize, options: Options) -> Reader {
    buffered("test".into(), Cursor::new(bytes.to_vec()), limit, options)
}

/// Reads everything, checking that indexes run from 0 without gaps.
fn read_all(mut reader: Reader) -> (Vec<Item>, String) {
    let mut items = Vec::new();
    for item in reader.by_ref() {
        let index = match &item {
            Item::Record(_, loc) => Some(loc.record),
            Item::Unreadable(p) | Item::NotSignIn(p) => p.record,
        };
        assert_eq!(index, Some(items.len() as u64), "indexes must not skip");
        items.push(item);
    }
    let format = reader.format();
    (items, format)
}

fn read(bytes: &[u8]) -> (Vec<Item>, String) {
    read_all(reader(bytes, frame::DEFAULT_LIMIT))
}

/// The outline (see [`outline`]) of what `bytes` read as.
fn outlined(bytes: &[u8]) -> Vec<String> {
    outline(&read(bytes).0)
}

/// One line per item: `line:index id` for records, `line:index ! reason`
/// for unreadable ones.
fn outline(items: &[Item]) -> Vec<String> {
    items
        .iter()
        .map(|item| match item {
            Item::Record(r, loc) => {
                let id = r.fields.get("id").and_then(Value::as_str).unwrap_or("-");
                format!("{}:{} {id}", loc.line, loc.record)
            }
            Item::Unreadable(p) => {
                format!("{}:{} ! {}", p.line, p.record.unwrap_or(99), p.reason)
            }
            Item::NotSignIn(p) => {
                format!("{}:{} ? {}", p.line, p.record.unwrap_or(99), p.reason)
            }
        })
        .collect()
}

/// The records read, with where each starts.
fn located(items: &[Item]) -> Vec<(&Record, &Location)> {
    items
        .iter()
        .filter_map(|i| match i {
            Item::Record(r, loc) => Some((r.as_ref(), loc)),
            Item::Unreadable(_) | Item::NotSignIn(_) => None,
        })
        .collect()
}

fn records(items: &[Item]) -> Vec<&Record> {
    located(items).into_iter().map(|(r, _)| r).collect()
}

/// Checks what a read gave: the outline (see [`outline`]) of its items
/// and the format it names; `what` tells the input in a failure. Gives the
/// items for further checks.
fn assert_read(
    what: &str,
    (items, format): (Vec<Item>, String),
    want: &[&str],
    want_format: &str,
) -> Vec<Item> {
    assert_eq!(outline(&items), want, "{what}");
    assert_eq!(format, want_format, "{what}");
    items
}

#[test]
fn layouts_are_read_and_named() {
    // What is read, the outline of what it reads as, the format named.
    let cases: &[(&str, &[u8], &[&str], &str)] = &[
        (
            "JSON lines with blank lines",
            b"{\"id\":\"a\"}\n{\"id\":\"b\"}\n\n   \n{\"id\":\"c\"}",
            &["1:0 a", "2:1 b", "5:2 c"],
            "jsonl (graph)",
        ),
        (
            "a pretty-printed array",
            b"[\n  {\n    \"id\": \"a\",\n    \"status\": {\"errorCode\": 0}\n  },\n  {\n    \"id\": \"b\"\n  }\n]\n",
            &["2:0 a", "6:1 b"],
            "json-array (graph)",
        ),
        (
            "the container key in any case, and several pages",
            b"{\"Value\": [{\"id\":\"a\"}]}\n{\"VALUE\": [{\"id\":\"b\"}], \"@odata.nextLink\": \"x\"}\n",
            &["1:0 a", "2:1 b"],
            "graph-page (graph)",
        ),
        (
            "a `value` that is not an array is a plain record",
            b"{\"id\":\"a\",\"value\":5}\n{\"records\":\"x\",\"id\":\"b\"}\n",
            &["1:0 a", "2:1 b"],
            "jsonl (graph)",
        ),
        (
            "pretty-printed objects one after another",
            b"{\n  \"id\": \"a\"\n}\n{\n  \"id\": \"b\",\n  \"x\": [\n    {\"y\": 1}\n  ]\n}\n",
            &["1:0 a", "4:1 b"],
            "jsonl (graph)",
        ),
        (
            "mixed layouts are all named",
            b"{\"id\":\"a\"}\n[{\"id\":\"b\"}]\n{\"value\":[{\"id\":\"c\"}]}\n",
            &["1:0 a", "2:1 b", "3:2 c"],
            "jsonl+json-array+graph-page (graph)",
        ),
        (
            "a broken element in a pretty array resyncs inside the array",
            b"[\n  {\n    \"id\": \"a\",\n    \"x\": \"cut\n  },\n  {\n    \"id\": \"b\",\n    \"n\": {\n      \"k\": 1\n    }\n  }\n]\n{\"id\":\"c\"}\n",
            &[
                "2:0 ! line 4 ends inside a string (cut line?) (lines 2 to 5 skipped)",
                "6:1 b",
                "13:2 c",
            ],
            "json-array+jsonl (graph)",
        ),
        (
            "binary junk is one problem per region",
            b"\x00\x01\x02garbage\n\x00\x00\n\xff\xfe\n{\"id\":\"a\"}\nnot json\n",
            &[
                "1:0 ! not JSON (binary data?) (lines 1 to 3 skipped)",
                "4:1 a",
                "5:2 ! not JSON at column 2: expected ident",
            ],
            "jsonl (graph)",
        ),
        (
            "nothing but binary junk",
            b"\x00\x00\x00\x00",
            &["1:0 ! not JSON (binary data?)"],
            "unknown",
        ),
        ("empty input", b"", &[], "empty"),
        (
            "a BOM and blank lines only",
            b"\xEF\xBB\xBF\r\n  \n",
            &[],
            "empty",
        ),
        (
            "a line of junk before JSON lines is not a header",
            b"exported by a tool, version 2\n{\"id\":\"a\"}\n",
            &["1:0 ! not JSON at column 1: expected value", "2:1 a"],
            "jsonl (graph)",
        ),
    ];
    for (what, input, want, format) in cases {
        assert_read(what, read(input), want, format);
    }
}

#[test]
fn damaged_input_is_reported_and_reading_goes_on() {
    // What is read and the outline of what it reads as.
    let cases: &[(&str, &[u8], &[&str])] = &[
        (
            "a one-line array",
            br#"[{"id":"a"},{"id":"b"}, {"id":"c"}]"#,
            &["1:0 a", "1:1 b", "1:2 c"],
        ),
        (
            "a BOM and CRLF line ends",
            b"\xEF\xBB\xBF{\"id\":\"a\"}\r\n\r\n{\"id\":\"b\"}\r\n",
            &["1:0 a", "3:1 b"],
        ),
        (
            "a syntax error after a BOM, with CRLF line ends",
            b"\xEF\xBB\xBF{\"id\":\"a\" \"x\":1}\r\n{\"id\":\"b\"}\r\n",
            &[
                "1:0 ! invalid JSON at column 11: expected `,` or `}`",
                "2:1 b",
            ],
        ),
        (
            "a syntax error points at the column",
            b"{\"a\": 1 \"b\": 2}\n{\"id\":\"b\"}\n",
            &[
                "1:0 ! invalid JSON at column 9: expected `,` or `}`",
                "2:1 b",
            ],
        ),
        (
            "an error on a later line of a pretty record",
            b"{\n  \"a\": 1,\n  \"b\": tru\n}\n{\"id\":\"b\"}\n",
            &[
                "1:0 ! invalid JSON at the end of line 3: expected ident",
                "5:1 b",
            ],
        ),
        (
            "JSON lines cut after a complete value: the next line starts a record",
            b"{\"id\":\"a\"}\n{\"id\":\"b\",\"x\":1\n{\"id\":\"c\"}\n{\"id\":\"d\"}\n",
            &[
                "1:0 a",
                "2:1 ! record is not closed before the next record starts on line 3",
                "3:2 c",
                "4:3 d",
            ],
        ),
        (
            "JSON lines cut inside a string",
            b"{\"id\":\"a\"}\n{\"id\":\"b\",\"x\":\"abc\n{\"id\":\"c\"}\n",
            &[
                "1:0 a",
                "2:1 ! the line ends inside a string (cut line?)",
                "3:2 c",
            ],
        ),
        (
            // The junk line after the cut one is named with it, not lost.
            "JSON lines cut inside a string, then a line that is no record",
            b"{\"id\":\"a\"}\n{\"id\":\"b\",\"x\":\"abc\nmore junk\n{\"id\":\"c\"}\n",
            &[
                "1:0 a",
                "2:1 ! the line ends inside a string (cut line?) (lines 2 to 3 skipped)",
                "4:2 c",
            ],
        ),
        (
            "JSON lines cut inside a string, then junk to the end",
            b"{\"id\":\"a\"}\n{\"id\":\"b\",\"x\":\"abc\nmore\njunk",
            &[
                "1:0 a",
                "2:1 ! the line ends inside a string (cut line?) (lines 2 to 4 skipped)",
            ],
        ),
        (
            // The next line is taken as that value at first, then scanned
            // again as a record of its own.
            "JSON lines cut where a value was due",
            b"{\"id\":\"a\"}\n{\"id\":\"b\",\"x\":[1,\n{\"id\":\"c\"}\n{\"id\":\"d\"}\n",
            &[
                "1:0 a",
                "2:1 ! record is not closed before the next record starts on line 3",
                "3:2 c",
                "4:3 d",
            ],
        ),
        (
            "a cut line inside a pretty record skips to the next record",
            b"{\n  \"a\": \"x\n  y\",\n  \"b\": {\n  }\n}\n{\"id\":\"c\"}\n",
            &[
                "1:0 ! line 2 ends inside a string (cut line?) (lines 1 to 6 skipped)",
                "7:1 c",
            ],
        ),
        (
            "an invalid element with balanced brackets is skipped alone",
            b"[{\"id\":\"a\"}, {\"id\": x}, {\"id\":\"c\"}]",
            &[
                "1:0 a",
                "1:1 ! invalid JSON at column 21: expected value",
                "1:2 c",
            ],
        ),
        (
            "records must be objects",
            b"\"hello\"\n42\n{\"id\":\"a\"}\n[1, \"x\", {\"id\":\"b\"}, [2], null]\n",
            &[
                "1:0 ! record is not a JSON object but a string",
                "2:1 ! record is not a JSON object but a number",
                "3:2 a",
                "4:3 ! record is not a JSON object but a number",
                "4:4 ! record is not a JSON object but a string",
                "4:5 b",
                "4:6 ! record is not a JSON object but an array",
                "4:7 ! record is not a JSON object but null",
            ],
        ),
        (
            "a file truncated inside a record",
            b"{\"id\":\"a\"}\n{\"id\":\"b\",\"status\":{\"errorCode\":",
            &["1:0 a", "2:1 ! file ends inside a record (truncated?)"],
        ),
        (
            "a file truncated inside the array of records",
            b"{\"value\":[{\"id\":\"a\"},\n",
            &[
                "1:0 a",
                "2:1 ! file ends inside the array of records (truncated?)",
            ],
        ),
        (
            "damage to the envelope",
            b"{\"value\":[{\"id\":\"a\"}], oops}\n{\"id\":\"b\"}\n",
            &[
                "1:0 a",
                "1:1 ! unexpected `o` in the object around the records",
                "2:2 b",
            ],
        ),
    ];
    for (what, input, want) in cases {
        assert_eq!(outlined(input), *want, "{what}");
    }
}

#[test]
fn graph_page_with_context_before_value() {
    let text = r#"{
  "@odata.context": "https://graph.microsoft.com/beta/$metadata#auditLogs/signIns",
  "value": [
    {
      "id": "a",
      "createdDateTime": "2024-01-01T00:00:00Z"
    },
    { "id": "b" }
  ],
  "@odata.nextLink": "https://graph.microsoft.com/beta/auditLogs/signIns?$skiptoken=x"
}
"#;
    let got = read(text.as_bytes());
    let items = assert_read(
        "a Graph page",
        got,
        &["4:0 a", "8:1 b"],
        "graph-page (graph)",
    );
    let rec = records(&items);
    assert_eq!(
        rec.first().and_then(|r| r.fields.get("createdDateTime")),
        Some(&json!("2024-01-01T00:00:00.0000000Z"))
    );
}

#[test]
fn event_hub_batch_of_diagnostic_records() {
    let text = r#"{"records": [
{"time": "2025-01-01T00:00:00Z", "category": "SignInLogs", "operationName": "Sign-in activity", "properties": {"id": "a"}},
{"time": "2025-01-01T00:00:01Z", "category": "NonInteractiveUserSignInLogs", "properties": {"id": "b"}}
]}"#;
    let got = read(text.as_bytes());
    let want = ["2:0 a", "3:1 b"];
    let items = assert_read("an Event Hub batch", got, &want, "event-hub (diagnostic)");
    let cats: Vec<_> = records(&items).iter().map(|r| r.category.clone()).collect();
    assert_eq!(
        cats,
        [LogCategory::Interactive, LogCategory::NonInteractive]
    );
}

#[test]
fn lines_that_never_close_are_not_replayed_forever() {
    // Each line opens a value the next line fills: every failed record
    // could be replayed from its second line. The replay budget keeps this
    // linear; what is not replayed is reported with the truncated record.
    let text = "{\"a\":\n".repeat(50_000);
    let (items, _) = read(text.as_bytes());
    assert!(!items.is_empty() && items.len() < 100, "{}", items.len());
    assert!(items.iter().all(|i| matches!(i, Item::Unreadable(_))));
}

#[test]
fn invalid_utf8_in_a_string() {
    let (items, _) = read(b"{\"id\":\"a\"}\n{\"id\":\"b\xff\xfe\"}\n{\"id\":\"c\"}\n");
    let out = outline(&items);
    assert_eq!(out.len(), 3, "{out:?}");
    assert!(
        out.get(1)
            .is_some_and(|s| s.starts_with("2:1 ! invalid JSON at column"))
    );
    assert_eq!(out.get(2).map(String::as_str), Some("3:2 c"));
}

#[test]
fn deep_nesting_does_not_overflow() {
    let depth = 10_000;
    let mut text = Vec::new();
    for _ in 0..depth {
        text.extend_from_slice(b"{\"a\":");
    }
    text.push(b'1');
    text.extend(std::iter::repeat_n(b'}', depth));
    text.extend_from_slice(b"\n");
    text.extend(std::iter::repeat_n(b'[', depth));
    text.extend(std::iter::repeat_n(b']', depth));
    text.extend_from_slice(b"\n{\"id\":\"ok\"}\n");
    assert_eq!(
        outlined(&text),
        [
            "1:0 ! record is nested too deeply (more than 128 levels)",
            "2:1 ! record is nested too deeply (more than 128 levels)",
            "3:2 ok"
        ]
    );
}

#[test]
fn records_over_the_limit_are_reported_not_buffered() {
    let big = format!("{{\"id\":\"big\",\"pad\":\"{}\"}}", "x".repeat(1000));
    let text = format!("{{\"id\":\"a\"}}\n{big}\n{{\"id\":\"b\"}}\n[{big}, {{\"id\":\"c\"}}]\n");
    let (items, _) = read_all(reader(text.as_bytes(), 200));
    assert_eq!(
        outline(&items),
        [
            "1:0 a",
            "2:1 ! record is larger than 200 bytes",
            "3:2 b",
            "4:3 ! record is larger than 200 bytes",
            "4:4 c"
        ]
    );
    // A long line of junk is not buffered either.
    let junk = format!("{}\n{{\"id\":\"d\"}}\n", "z".repeat(1000));
    let (items, _) = read_all(reader(junk.as_bytes(), 200));
    assert_eq!(
        outline(&items),
        ["1:0 ! not JSON: a line longer than 200 bytes", "2:1 d"]
    );
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    assert!(enc.write_all(bytes).is_ok());
    enc.finish().unwrap_or_default()
}

#[test]
fn gzip_is_detected_by_magic_bytes() {
    let mut data = gzip(b"{\"id\":\"a\"}\n");
    data.extend(gzip(b"{\"id\":\"b\"}\n"));
    let got = read_all(from_reader("x.json".into(), Box::new(Cursor::new(data))));
    assert_read(
        "two gzip members",
        got,
        &["1:0 a", "2:1 b"],
        "jsonl (graph)",
    );
}

#[test]
fn corrupt_gzip_stops_the_file_with_a_problem() {
    let mut data = gzip(&b"{\"id\":\"a\"}\n".repeat(1000));
    let len = data.len();
    if let Some(mid) = data.get_mut(20..len - 8) {
        mid.iter_mut().for_each(|b| *b ^= 0x5a);
    }
    assert_eq!(
        outlined(&data),
        ["1:0 ! cannot read the input: corrupt deflate stream"]
    );
    // Damage further in: what came before is read, then the file stops.
    let text: Vec<u8> = (0..20_000)
        .flat_map(|i| format!("{{\"id\":\"{i}\"}}\n").into_bytes())
        .collect();
    let mut data = gzip(&text);
    let len = data.len();
    if let Some(tail) = data.get_mut(len / 2..len - 8) {
        tail.iter_mut().for_each(|b| *b ^= 0x5a);
    }
    let (items, _) = read(&data);
    assert!(matches!(items.first(), Some(Item::Record(..))));
    let last = outline(&items).pop().unwrap_or_default();
    assert!(
        last.contains("! cannot read the rest of the input: "),
        "{last}"
    );
}

/// A read that fails while the lines after a broken record are skipped
/// comes after that record's report, which is not lost.
#[test]
fn a_failed_read_after_a_broken_record_keeps_its_report() {
    let mut text = b"{\"id\":\"a\"}\n{\"id\":\"b\",\"x\":\"cut\n".to_vec();
    for i in 0..20_000u32 {
        text.extend(format!("junk {}\n", i.wrapping_mul(2_654_435_761)).into_bytes());
    }
    let mut data = gzip(&text);
    data.truncate(data.len() / 2);
    let (items, _) = read(&data);
    let lines = outline(&items);
    assert_eq!(
        lines.first().map(String::as_str),
        Some("1:0 a"),
        "{lines:?}"
    );
    assert_eq!(
        lines.get(1).map(String::as_str),
        Some("2:1 ! the line ends inside a string (cut line?)"),
        "{lines:?}"
    );
    assert!(
        lines
            .last()
            .is_some_and(|l| l.contains("! cannot read the rest of the input: ")),
        "{lines:?}"
    );
}

#[test]
fn open_reads_files_and_gzip_whatever_the_name() {
    let dir = tempfile::tempdir().ok();
    let Some(dir) = dir else { return };
    let plain = dir.path().join("a.log.gz");
    let zipped = dir.path().join("b.json");
    assert!(std::fs::write(&plain, b"{\"id\":\"a\"}\n").is_ok());
    assert!(std::fs::write(&zipped, gzip(b"{\"id\":\"b\"}\n")).is_ok());
    for (path, want) in [(&plain, "1:0 a"), (&zipped, "1:0 b")] {
        let reader = open(path, "p".into());
        assert!(reader.is_ok());
        if let Ok(reader) = reader {
            let (items, _) = read_all(reader);
            assert_eq!(outline(&items), [want]);
        }
    }
    assert!(open(&dir.path().join("missing.json"), "m".into()).is_err());
    // A directory opens on some systems but cannot be read.
    if let Ok(reader) = open(dir.path(), "d".into()) {
        let (items, _) = read_all(reader);
        let out = outline(&items);
        assert!(
            out.iter()
                .all(|s| s.starts_with("1:0 ! cannot read the input: is a directory")),
            "{out:?}"
        );
    }
}

#[test]
fn layouts_are_remembered_in_order() {
    let r = reader(b"[{}]\n{\"records\":[{}]}\n", 1000);
    let mut r = r;
    for _ in r.by_ref() {}
    assert_eq!(r.layouts(), [Shape::JsonArray, Shape::EventHub]);
}

// The real exports: every record read, nothing unreadable.

const REAL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/ingest");

/// Reads a real export, checking that it holds `count` records and
/// nothing else.
fn read_real(name: &str, count: usize) -> Option<Vec<Item>> {
    let path = Path::new(REAL).join(name);
    let reader = open(&path, name.into());
    assert!(reader.is_ok(), "cannot open {}", path.display());
    let items = read_all(reader.ok()?).0;
    assert!(unreadable(&items).is_empty(), "{:?}", unreadable(&items));
    assert_eq!(records(&items).len(), count);
    Some(items)
}

fn unreadable(items: &[Item]) -> Vec<&Problem> {
    items
        .iter()
        .filter_map(|i| match i {
            Item::Unreadable(p) | Item::NotSignIn(p) => Some(p),
            Item::Record(..) => None,
        })
        .collect()
}

/// Each dotted path of `expected` holds its value in `fields`.
fn assert_fields(fields: &crate::record::Fields, expected: &[(&str, Value)]) {
    for (path, want) in expected {
        let mut parts = path.split('.');
        let first = parts.next().and_then(|p| fields.get(p));
        let got = parts.fold(first, |v, p| v.and_then(|v| v.get(p)));
        assert_eq!(got, Some(want), "{path}");
    }
}

#[test]
fn real_log_analytics_rows() {
    let Some(items) = read_real("la_signinlogs_msticpy_aad_logons.jsonl", 86) else {
        return;
    };
    let recs = records(&items);
    let lines: Vec<u64> = located(&items).iter().map(|(_, loc)| loc.line).collect();
    assert_eq!(lines, (1..=86).collect::<Vec<u64>>());
    for r in &recs {
        assert_eq!(r.category, LogCategory::Interactive);
        assert!(
            r.fields
                .get("status")
                .and_then(|s| s.get("errorCode"))
                .is_some_and(Value::is_i64)
        );
        assert!(
            r.fields
                .get("authenticationDetails")
                .is_some_and(Value::is_array)
        );
        assert!(
            r.fields
                .get("createdDateTime")
                .and_then(Value::as_str)
                .is_some_and(|t| t.len() == 28 && t.ends_with('Z'))
        );
        // The resource path column stays apart from the Graph resourceId.
        assert!(
            r.fields
                .get("ResourceId")
                .and_then(Value::as_str)
                .is_some_and(|s| s.starts_with("/tenants/"))
        );
        assert!(
            r.fields
                .get("resourceId")
                .and_then(Value::as_str)
                .is_some_and(|s| !s.starts_with('/'))
        );
    }
    let Some(first) = recs.first() else { return };
    assert_eq!(
        first
            .fields
            .get("appliedConditionalAccessPolicies")
            .and_then(Value::as_array)
            .map(Vec::len),
        Some(12)
    );
    assert_fields(
        &first.fields,
        &[
            ("status", json!({"errorCode": 0})),
            ("location.countryOrRegion", json!("US")),
            ("authenticationDetails", json!([])),
            ("processingTimeInMilliseconds", json!(366)),
            ("isInteractive", json!(true)),
            ("ipAddress", json!("24.13.212.221")),
            ("userPrincipalName", json!("ctfuser3@seccxp.ninja")),
            ("createdDateTime", json!("2020-05-20T18:19:04.0000000Z")),
            ("resourceId", json!("797f4846-ba00-4fd7-ba43-dac1f8f63013")),
            ("riskEventTypes_v2", json!([])),
            ("authenticationMethodsUsed", json!([])),
            // Columns the catalog lacks are kept under their own names.
            ("Type", json!("SigninLogs")),
            ("Level", json!("4")),
            ("Latitude", json!(42.9971809387207)),
        ],
    );
    // Some rows hold their authentication steps as JSON text.
    let steps = recs
        .iter()
        .filter_map(|r| {
            r.fields
                .get("authenticationDetails")
                .and_then(Value::as_array)
        })
        .find(|a| !a.is_empty());
    let step = steps.and_then(|s| s.first());
    assert!(
        step.and_then(|s| s.get("succeeded"))
            .is_some_and(Value::is_boolean)
    );
    assert!(
        step.and_then(|s| s.get("authenticationStepDateTime"))
            .and_then(Value::as_str)
            .is_some_and(|t| t.len() == 28 && t.ends_with('Z'))
    );
}

#[test]
fn real_diagnostic_record() {
    let Some(items) = read_real("diag_noninteractive_real_pseudonymized_1rec.json", 1) else {
        return;
    };
    let recs = records(&items);
    let Some(r) = recs.first() else { return };
    assert_eq!(r.category, LogCategory::NonInteractive);
    let f = &r.fields;
    assert_fields(
        f,
        &[
            ("status.errorCode", json!(50097)),
            ("createdDateTime", json!("2025-02-01T16:26:24.6955459Z")),
            ("resourceId", json!("00000003-0000-0000-c000-000000000000")),
            ("location.countryOrRegion", json!("CN")),
            ("autonomousSystemNumber", json!(4134)),
            // Envelope keys stay as extras; the ones properties repeats give way.
            ("Level", json!(4)),
            ("operationName", json!("Sign-in activity")),
            ("category", json!("NonInteractiveUserSignInLogs")),
            ("tenantId", json!("a2164b8e-d052-4f10-8352-fa46f761a964")),
            ("resultType", json!("50097")),
            // Keys the catalog lacks are kept.
            (
                "tokenProtectionStatusDetails.signInSessionStatusCode",
                json!(1004),
            ),
        ],
    );
    let policies = f
        .get("appliedConditionalAccessPolicies")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    assert_eq!(policies.len(), 30);
    assert!(
        policies
            .iter()
            .all(|p| p.get("conditionsSatisfied").is_some_and(Value::is_i64))
    );
    assert!(f.get("properties").is_none());
}

// Robustness: arbitrary bytes never panic, always end, and account for
// every record.

/// A small deterministic pseudo-random generator (xorshift64*), so that a
/// failure reproduces; its state is not 0.
pub(super) struct Rng(pub(super) u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// A number below `n` (0 when `n` is 0).
    pub(super) fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// A byte of `alphabet`, which is not empty.
    fn pick(&mut self, alphabet: &[u8]) -> u8 {
        alphabet[self.below(alphabet.len())]
    }

    /// Changes `bytes` at one place at or after `from`: a byte replaced by
    /// one of `noise`, a byte removed, one inserted, or the rest cut.
    fn mutate(&mut self, bytes: &mut Vec<u8>, from: usize, noise: &[u8]) {
        let at = from + self.below(bytes.len().saturating_sub(from));
        match self.below(4) {
            0 => {
                if at < bytes.len() {
                    bytes[at] = self.pick(noise);
                }
            }
            1 => {
                if at < bytes.len() {
                    bytes.remove(at);
                }
            }
            2 => bytes.insert(at.min(bytes.len()), self.pick(noise)),
            _ => bytes.truncate(at),
        }
    }

    /// Fewer than `max_len` bytes (a random count), each given by `byte`.
    fn bytes(&mut self, max_len: usize, mut byte: impl FnMut(&mut Rng) -> u8) -> Vec<u8> {
        let len = self.below(max_len);
        (0..len).map(|_| byte(self)).collect()
    }

    /// `seed` changed at one to eight places (see [`Rng::mutate`]), each
    /// at or after the offset `from` gives for the bytes so far.
    fn mutated(&mut self, seed: &[u8], noise: &[u8], from: impl Fn(&[u8]) -> usize) -> Vec<u8> {
        let mut bytes = seed.to_vec();
        for _ in 0..1 + self.below(8) {
            let from = from(&bytes);
            self.mutate(&mut bytes, from, noise);
        }
        bytes
    }
}

/// The record size limit of a robustness round: `small` every `every`th
/// round, so that records over the limit are met too; 1 MiB otherwise.
fn limit_of(round: usize, every: usize, small: usize) -> usize {
    if round.is_multiple_of(every) {
        small
    } else {
        1 << 20
    }
}

/// In CSV a line starts at most one item, even after a quote never
/// closed makes its lines be read again.
fn assert_one_item_a_line_at_most(items: &[Item], bytes: &[u8]) {
    let lines = bytes.iter().filter(|b| **b == b'\n').count();
    assert!(
        items.len() <= lines + 1,
        "{}",
        String::from_utf8_lossy(bytes)
    );
}

/// Reads `bytes` and checks the accounting; gives the item count.
fn check_reads(bytes: &[u8], limit: usize) -> usize {
    let (items, _) = read_all(reader(bytes, limit));
    // A record or problem per item, never more items than bytes can hold.
    assert!(items.len() <= bytes.len() + 1);
    items.len()
}

#[test]
fn arbitrary_bytes_are_read_without_panic() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    const ALPHABET: &[u8] = b"{}[]\":,\\ \n\r\tabtrufalsen0123456789-.eE\x00\xff\xef\xbb\xbf";
    for round in 0..600 {
        let bytes = rng.bytes(300, |rng| {
            if round % 3 == 0 {
                rng.next() as u8
            } else {
                rng.pick(ALPHABET)
            }
        });
        check_reads(&bytes, limit_of(round, 2, 64));
    }
}

#[test]
fn mutated_real_records_are_read_without_panic() {
    let mut seeds: Vec<Vec<u8>> = Vec::new();
    for name in [
        "la_signinlogs_msticpy_aad_logons.jsonl",
        "diag_noninteractive_real_pseudonymized_1rec.json",
    ] {
        let text = std::fs::read(Path::new(REAL).join(name));
        assert!(text.is_ok(), "cannot read {name}");
        if let Ok(text) = text {
            // A few records' worth keeps the test fast.
            let cut = text
                .iter()
                .enumerate()
                .filter(|(_, b)| **b == b'\n')
                .nth(3)
                .map_or(text.len(), |(i, _)| i + 1);
            let mut text = text;
            text.truncate(cut);
            seeds.push(text);
        }
    }
    seeds.push(
        br#"{"value":[{"id":"a","status":{"errorCode":0}},{"id":"b"}],"@odata.nextLink":"x"}"#
            .to_vec(),
    );
    seeds.push(b"[\n  {\n    \"id\": \"a\"\n  },\n  {\n    \"id\": \"b\"\n  }\n]\n".to_vec());
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    const NOISE: &[u8] = b"{}[]\":,\\\n\x00";
    for (round, seed) in seeds.iter().cycle().take(150).enumerate() {
        let bytes = rng.mutated(seed, NOISE, |_| 0);
        check_reads(&bytes, limit_of(round, 4, 4096));
    }
}

fn read_as(bytes: &[u8], format: InputFormat) -> (Vec<Item>, String) {
    read_all(reader_as(bytes, frame::DEFAULT_LIMIT, format))
}

const LA_CSV: &str = "\u{feff}TenantId,TimeGenerated [UTC],Id,Type,ResultType,Status_dynamic,Status_string\r\n\
    w,\"4/28/2021, 2:08:45.221 PM\",a,SigninLogs,0,\"{\r\n\"\"errorCode\"\": 0\r\n}\",\r\n\
    w,\"4/28/2021, 2:09:45.221 PM\",b,AADNonInteractiveUserSignInLogs,50126,,\"{\"\"errorCode\"\": 50126}\"\r\n";

#[test]
fn csv_is_told_by_its_header_not_its_name() {
    let want = ["2:0 a", "5:1 b"];
    let items = assert_read("CSV", read(LA_CSV.as_bytes()), &want, "csv (log-analytics)");
    let r = records(&items);
    assert_eq!(r[0].category, LogCategory::Interactive);
    assert_eq!(r[0].fields["status"], json!({"errorCode": 0}));
    assert_eq!(r[1].category, LogCategory::NonInteractive);
    assert_eq!(r[1].fields["status"], json!({"errorCode": 50126}));
    // The same, compressed.
    let got = read(&gzip(LA_CSV.as_bytes()));
    assert_read("gzip CSV", got, &want, "csv (log-analytics)");
}

/// A stream that gives at most three bytes a read, so a row's quotes and
/// line breaks fall on every side of a chunk's end.
struct Trickle(Cursor<Vec<u8>>, usize);

impl std::io::Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.1 += 1;
        let n = buf.len().min(1 + self.1 % 3);
        self.0.read(buf.get_mut(..n).unwrap_or_default())
    }
}

#[test]
fn csv_rows_read_the_same_in_any_chunks() {
    let mut bytes = LA_CSV.as_bytes().to_vec();
    // A cell of two quotes (each written twice) and a line break.
    bytes.extend_from_slice(
        "w,\"4/28/2021, 2:10:45.221 PM\",c,SigninLogs,0,\"\"\"\"\"\r\n\",\r\n".as_bytes(),
    );
    let want = ["2:0 a", "5:1 b", "6:2 c"];
    assert_read("CSV at once", read(&bytes), &want, "csv (log-analytics)");
    let trickle = Trickle(Cursor::new(bytes), 0);
    let got = read_all(from_reader("test".into(), Box::new(trickle)));
    assert_read("CSV a few bytes a read", got, &want, "csv (log-analytics)");
}

#[test]
fn admin_center_csv_is_named_so() {
    let text = "Date (UTC),Request ID,Username,Status,Sign-in error code\n\
        2025-03-02T08:11:00Z,r1,a@b.c,Success,\n";
    let got = read(text.as_bytes());
    let items = assert_read("admin center CSV", got, &["2:0 r1"], "csv (admin-center)");
    let r = records(&items);
    assert_eq!(r[0].fields["status"], json!({"errorCode": 0}));
    assert_eq!(r[0].fields["Status"], "Success");
    assert_eq!(
        r[0].fields["createdDateTime"],
        "2025-03-02T08:11:00.0000000Z"
    );
}

#[test]
fn a_line_of_junk_before_json_lines_is_not_a_header() {
    let (items, format) = read(b"exported by a tool, version 2\n{\"id\":\"a\"}\n");
    assert_eq!(
        outline(&items),
        ["1:0 ! not JSON at column 1: expected value", "2:1 a"]
    );
    assert_eq!(format, "jsonl (graph)");
}

#[test]
fn the_input_format_forces_a_reader() {
    // Forced JSON: the CSV lines are junk.
    let (items, _) = read_as(LA_CSV.as_bytes(), InputFormat::Json);
    assert!(records(&items).is_empty());
    // Forced CSV: a header the detection would not take (an empty cell).
    let got = read_as(b"id,,x\na,1,2\n", InputFormat::Csv);
    assert_read("forced CSV", got, &["2:0 a"], "csv (graph)");
    // Auto reads that as JSON junk.
    let (items, _) = read_as(b"id,,x\na,1,2\n", InputFormat::Auto);
    assert!(records(&items).is_empty());
    assert_eq!("jsonl".parse::<InputFormat>(), Ok(InputFormat::Json));
    assert_eq!("CSV".parse::<InputFormat>(), Ok(InputFormat::Csv));
    assert!("xml".parse::<InputFormat>().is_err());
}

#[test]
fn mutated_csv_is_read_without_panic() {
    let admin = "Date (UTC),Request ID,Username,Location,Status,Sign-in error code\r\n\
        2025-03-02T08:11:00Z,r1,a@b.c,\"Lyon, ARA, FR\",Success,0\r\n\
        2025-03-02T08:12:00Z,r2,b@b.c,\"Paris, , FR\",Failure,50126\r\n";
    let seeds = [LA_CSV.as_bytes().to_vec(), admin.as_bytes().to_vec()];
    let mut rng = Rng(0xA076_1D64_78BD_642F);
    const NOISE: &[u8] = b"\",\r\n{}[]a\xff\x00";
    for (round, seed) in seeds.iter().cycle().take(400).enumerate() {
        // Leave the header alone mostly, so the rows are read as CSV.
        let from = |bytes: &[u8]| {
            if round % 5 == 0 {
                0
            } else {
                60.min(bytes.len())
            }
        };
        let bytes = rng.mutated(seed, NOISE, from);
        let limit = limit_of(round, 4, 64);
        check_reads(&bytes, limit);
        let (items, format) = read_all(reader(&bytes, limit));
        if format.starts_with("csv") {
            assert_one_item_a_line_at_most(&items, &bytes);
        }
    }
}

#[test]
fn arbitrary_bytes_read_as_csv_without_panic() {
    let mut rng = Rng(0xE703_7ED1_A0B4_28DB);
    const ALPHABET: &[u8] = b"\",\r\n ab{}\x00\xff\xef\xbb\xbf";
    for round in 0..400 {
        let bytes = rng.bytes(200, |rng| rng.pick(ALPHABET));
        let limit = limit_of(round, 2, 16);
        let (items, _) = read_all(reader_as(&bytes, limit, InputFormat::Csv));
        assert_one_item_a_line_at_most(&items, &bytes);
    }
}

#[test]
fn records_with_no_known_field_are_not_sign_ins_whether_read_in_part_or_whole() {
    let text = concat!(
        "{\"foo\": 1}\n",
        "{\"time\": \"2025-01-01T00:00:00Z\", \"category\": \"SignInLogs\", \"operationName\": \"Sign-in activity\", \"properties\": {\"foo\": 1}}\n",
        "{\"time\": \"2025-01-01T00:00:00Z\", \"category\": \"SignInLogs\", \"operationName\": \"Sign-in activity\", \"properties\": {\"riskState\": \"none\"}}\n",
        "{\"time\": \"2025-01-01T00:00:00Z\", \"category\": \"SignInLogs\", \"operationName\": \"Sign-in activity\", \"properties\": \"{\\\"riskState\\\": \\\"none\\\"}\"}\n",
        "{\"TimeGenerated\": \"2025-01-01T00:00:00Z\", \"Type\": \"SigninLogs\", \"TenantId\": \"t\", \"Other\": 1}\n",
        "{\"TimeGenerated\": \"2025-01-01T00:00:00Z\", \"Type\": \"SigninLogs\", \"Location\": \"FR\"}\n",
        "{\"RequestUri\": \"https://graph.microsoft.com/v1.0/me\", \"RequestMethod\": \"GET\"}\n",
    );
    let expected = ["?", "?", "r", "r", "?", "r", "r"];
    let kinds = |items: &[Item]| -> Vec<&'static str> {
        items
            .iter()
            .map(|i| match i {
                Item::Record(..) => "r",
                Item::NotSignIn(p) => {
                    assert_eq!(p.reason, NOT_SIGN_IN);
                    "?"
                }
                Item::Unreadable(_) => "!",
            })
            .collect()
    };
    let (whole, _) = read(text.as_bytes());
    assert_eq!(kinds(&whole), expected);
    // Read in part, keeping only what one unrelated field needs: the keys
    // skipped still count.
    let keep = Keep::new([&["clientAppUsed".to_string()][..]], []);
    let options = Options {
        keep: Some(std::sync::Arc::new(keep)),
        ..Options::default()
    };
    let part = reader_with(text.as_bytes(), frame::DEFAULT_LIMIT, options);
    let (part, _) = read_all(part);
    assert_eq!(kinds(&part), expected);
}
