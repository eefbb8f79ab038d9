//! Authoring diagnostics: a directory of broken rules gives every mistake
//! in one run, each at the right place; hostile rule files are refused
//! quickly and safely.

use tollgate::diag::{ErrorFormat, Level, render};
use tollgate::engine::Loader;

fn validate_dir(dir: &str) -> tollgate::engine::Validation {
    let mut loader = Loader::new();
    loader
        .add_path(std::path::Path::new(dir))
        .expect("fixture directory");
    loader.validate()
}

/// Every mistake the broken fixtures hold, in the order `validate` sorts
/// them: file, line, column, code.
const EXPECTED: &[(&str, usize, usize, &str)] = &[
    ("anchors.yaml", 4, 7, "tollgate::yaml-anchor"),
    ("duplicate-key.yaml", 6, 3, "tollgate::duplicate-key"),
    ("logic.yaml", 7, 7, "tollgate::never-true"),
    ("logic.yaml", 10, 14, "tollgate::always-true"),
    ("logic.yaml", 14, 37, "tollgate::unknown-record-field"),
    ("logic.yaml", 22, 5, "tollgate::test-failed"),
    ("mistakes.yaml", 1, 1, "tollgate::missing-key"),
    ("mistakes.yaml", 3, 1, "tollgate::unknown-key"),
    ("mistakes.yaml", 6, 3, "tollgate::unused-param"),
    ("mistakes.yaml", 9, 32, "tollgate::unknown-enum-value"),
    ("mistakes.yaml", 10, 16, "tollgate::unknown-field"),
    ("mistakes.yaml", 11, 31, "tollgate::type-mismatch"),
    ("mistakes.yaml", 12, 26, "tollgate::bad-cidr"),
    ("mistakes.yaml", 13, 37, "tollgate::bad-regex"),
    ("mistakes.yaml", 14, 25, "tollgate::unknown-operator"),
    ("mistakes.yaml", 15, 32, "tollgate::type-mismatch"),
    ("mistakes.yaml", 16, 28, "tollgate::undefined-param"),
    ("mistakes.yaml", 17, 12, "tollgate::unknown-field"),
    ("mistakes.yaml", 19, 5, "tollgate::duplicate-id"),
    ("not-a-mapping.yaml", 1, 1, "tollgate::rule-not-mapping"),
    ("syntax.yaml", 6, 1, "tollgate::yaml-syntax"),
    ("types.yaml", 1, 5, "tollgate::duplicate-id"),
    ("types.yaml", 4, 3, "tollgate::unused-param"),
    ("types.yaml", 4, 32, "tollgate::bad-param"),
    ("types.yaml", 7, 21, "tollgate::type-mismatch"),
    ("types.yaml", 8, 24, "tollgate::type-mismatch"),
    ("types.yaml", 9, 33, "tollgate::regex-too-large"),
    ("types.yaml", 10, 13, "tollgate::type-mismatch"),
];

#[test]
fn every_mistake_in_every_file_is_reported_at_its_place() {
    let rejected = validate_dir("tests/fixtures/broken");
    let got: Vec<(String, usize, usize, &str)> = rejected
        .diagnostics
        .iter()
        .map(|d| {
            let (line, col) = rejected.sources.line_col(d.span.source, d.span.range.start);
            let file = rejected
                .sources
                .name(d.span.source)
                .rsplit('/')
                .next()
                .unwrap_or("")
                .to_string();
            (file, line, col, d.code)
        })
        .collect();
    let want: Vec<(String, usize, usize, &str)> = EXPECTED
        .iter()
        .map(|(f, l, c, code)| (f.to_string(), *l, *c, *code))
        .collect();
    assert_eq!(got, want);
    // Duplicate ids show both places.
    let dup = rejected
        .diagnostics
        .iter()
        .find(|d| d.code == "tollgate::duplicate-id");
    assert!(dup.is_some_and(|d| d.related.len() == 1));
}

#[test]
fn the_human_rendering_reads_well() {
    let rejected = validate_dir("tests/fixtures/broken");
    let text = render(
        &rejected.diagnostics,
        &rejected.sources,
        ErrorFormat::Human {
            color: false,
            width: 100,
        },
    );
    insta::assert_snapshot!(text);
}

#[test]
fn every_diagnostic_has_a_label_and_help() {
    let rejected = validate_dir("tests/fixtures/broken");
    for d in &rejected.diagnostics {
        assert!(!d.label.is_empty(), "{} has no label", d.code);
        assert!(d.help.is_some(), "{} has no help", d.code);
        assert!(
            !d.message.ends_with('.'),
            "{}: messages have no final period",
            d.code
        );
    }
}

fn load_text(text: &str) -> Vec<(Level, &'static str)> {
    let mut loader = Loader::new();
    loader.add_source("hostile.yaml", text);
    loader
        .validate()
        .diagnostics
        .iter()
        .map(|d| (d.level, d.code))
        .collect()
}

#[test]
fn billion_laughs_is_refused_before_expansion() {
    let mut text = String::from(
        "id: X\ntitle: t\nseverity: low\na0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n",
    );
    for i in 1..12 {
        let prev = format!("*a{}", i - 1);
        text.push_str(&format!("a{i}: &a{i} [{}]\n", vec![prev; 10].join(", ")));
    }
    text.push_str("match: { clientAppUsed: IMAP4 }\n");
    assert_eq!(
        load_text(&text),
        vec![(Level::Error, "tollgate::yaml-anchor")]
    );
}

#[test]
fn ten_thousand_deep_nesting_is_refused() {
    let flow = format!(
        "id: X\nmatch: {}{}\n",
        "{a: ".repeat(10_000),
        "}".repeat(10_000)
    );
    assert_eq!(load_text(&flow), vec![(Level::Error, "tollgate::too-deep")]);
    let mut block = String::from("id: X\nmatch:\n");
    for depth in 1..=2_000 {
        block.push_str(&format!("{}- not:\n", "  ".repeat(depth)));
    }
    assert_eq!(
        load_text(&block),
        vec![(Level::Error, "tollgate::too-deep")]
    );
    // Deep `not` chains within the limit still work.
    let mut ok = String::from("id: X\ntitle: t\nseverity: low\nmatch:\n");
    for depth in 1..=20 {
        ok.push_str(&format!("{}not:\n", "  ".repeat(depth)));
    }
    ok.push_str(&format!("{}clientAppUsed: IMAP4\n", "  ".repeat(21)));
    assert_eq!(load_text(&ok), vec![]);
}

#[test]
fn huge_files_and_non_utf8_bytes_are_diagnostics() {
    let dir = tempfile::tempdir().expect("tempdir");
    let big = dir.path().join("big.yaml");
    std::fs::write(&big, "# padding\n".repeat(500_000)).expect("write");
    let bytes = dir.path().join("latin1.yaml");
    std::fs::write(
        &bytes,
        b"id: X\ntitle: caf\xe9\nseverity: low\nmatch: { clientAppUsed: IMAP4 }\n",
    )
    .expect("write");
    let mut loader = Loader::new();
    loader.add_path(dir.path()).expect("dir");
    let rejected = loader.validate();
    let codes: Vec<(&str, usize)> = rejected
        .diagnostics
        .iter()
        .map(|d| {
            (
                d.code,
                rejected
                    .sources
                    .line_col(d.span.source, d.span.range.start)
                    .0,
            )
        })
        .collect();
    assert_eq!(
        codes,
        vec![("tollgate::file-too-large", 1), ("tollgate::not-utf8", 2)]
    );
}

#[test]
fn huge_regexes_are_refused() {
    let text = "id: X\ntitle: t\nseverity: low\nmatch: { userAgent: { matches: \"(?:[a-z]{100}){200}\" } }\n";
    assert_eq!(
        load_text(text),
        vec![(Level::Error, "tollgate::regex-too-large")]
    );
}

/// A small deterministic generator, so failures reproduce.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

#[test]
fn arbitrary_bytes_and_mutated_rules_never_panic_the_loader() {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let seeds: Vec<&str> = tollgate::engine::BUILTIN_RULES
        .iter()
        .map(|(_, text)| *text)
        .collect();
    const PIECES: &[&str] = &[
        "{",
        "}",
        "[",
        "]",
        ":",
        "- ",
        "\n",
        "  ",
        "&a ",
        "*a",
        "!tag ",
        "$",
        "${",
        "'",
        "\"",
        "#",
        "---\n",
        "...\n",
        "not:",
        "any:",
        "all:",
        "eq:",
        "matches: (",
        "cidr: 1.2.3.4/99",
        "\u{feff}",
        "\t",
        "\\",
        "|",
        ">",
    ];
    for round in 0..1500 {
        let text: String = if round % 5 == 0 {
            let len = rng.below(300);
            let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            String::from_utf8_lossy(&bytes).into_owned()
        } else {
            let mut t = seeds[rng.below(seeds.len())].to_string();
            for _ in 0..1 + rng.below(6) {
                let mut at = rng.below(t.len() + 1);
                while !t.is_char_boundary(at) {
                    at -= 1;
                }
                match rng.below(3) {
                    0 => t.insert_str(at, PIECES[rng.below(PIECES.len())]),
                    1 => {
                        let mut end = (at + rng.below(20)).min(t.len());
                        while !t.is_char_boundary(end) {
                            end -= 1;
                        }
                        t.replace_range(at..end, "");
                    }
                    _ => {
                        let mut end = (at + rng.below(40)).min(t.len());
                        while !t.is_char_boundary(end) {
                            end -= 1;
                        }
                        let copy = t[at..end].to_string();
                        t.insert_str(at, &copy);
                    }
                }
            }
            t
        };
        let mut loader = Loader::new();
        loader.add_source("fuzz.yaml", &text);
        let rejected = loader.validate();
        // Rendering every diagnostic must not panic either.
        let _ = render(
            &rejected.diagnostics,
            &rejected.sources,
            ErrorFormat::Human {
                color: false,
                width: 80,
            },
        );
        let _ = render(&rejected.diagnostics, &rejected.sources, ErrorFormat::Plain);
    }
}
