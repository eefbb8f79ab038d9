//! Syntax: rule file text → spanned YAML documents.
//!
//! Takes the text of a rule file and gives one [`Node`] tree per YAML
//! document, every node carrying the byte span of its text, or diagnostics
//! for what is not valid YAML. This is the only module that knows YAML.
//!
//! Rule files come from pull requests, so the parser is hostile-input safe:
//! anchors and aliases (the "billion laughs" bomb), tags and duplicate keys
//! are refused, files and nesting depth are bounded, and a panic inside the
//! YAML library is turned into a diagnostic.

use std::ops::Range;

use marked_yaml::{LoadError, LoaderOptions, Marker};

use crate::diag::{Code, Diagnostic, SourceId, Span};

/// Largest rule file read, in bytes.
pub const MAX_FILE_BYTES: usize = 4 << 20;
/// Deepest nesting of mappings and sequences accepted.
pub const MAX_DEPTH: usize = 64;

/// A YAML value with where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The value's text (for a mapping or sequence, its whole extent).
    pub span: Span,
    /// The value.
    pub kind: NodeKind,
}

/// The three kinds of YAML value.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    /// A scalar, untyped until [`Node::scalar`] reads it.
    Scalar(Scalar),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in written order; keys are scalar nodes.
    Map(Vec<(Node, Node)>),
}

/// A scalar's text and whether it was written plain (unquoted).
#[derive(Debug, Clone, PartialEq)]
pub struct Scalar {
    /// The text after YAML unescaping and folding.
    pub text: String,
    /// Written without quotes or block indicators, so `true`, `12` and
    /// `null` mean a boolean, a number and null.
    pub plain: bool,
}

/// A scalar read with YAML 1.2's core schema.
#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    /// `null`, `~` or nothing.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A whole number.
    Int(i64),
    /// Another number.
    Float(f64),
    /// Text (every quoted scalar).
    Str(String),
}

impl Scalar {
    /// The typed value of the scalar.
    pub fn lit(&self) -> Lit {
        let t = self.text.as_str();
        if !self.plain {
            return Lit::Str(self.text.clone());
        }
        match t {
            "" | "~" | "null" | "Null" | "NULL" => return Lit::Null,
            "true" | "True" | "TRUE" => return Lit::Bool(true),
            "false" | "False" | "FALSE" => return Lit::Bool(false),
            _ => {}
        }
        if let Ok(i) = t.parse::<i64>() {
            return Lit::Int(i);
        }
        let numeric = t
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'))
            && t.bytes().any(|b| b.is_ascii_digit());
        if numeric && let Ok(f) = t.parse::<f64>() {
            return Lit::Float(f);
        }
        Lit::Str(self.text.clone())
    }
}

impl Node {
    /// The scalar, if this is one.
    pub fn scalar(&self) -> Option<&Scalar> {
        match &self.kind {
            NodeKind::Scalar(s) => Some(s),
            _ => None,
        }
    }

    /// The scalar's text, if this is a scalar.
    pub fn text(&self) -> Option<&str> {
        self.scalar().map(|s| s.text.as_str())
    }

    /// The entries, if this is a mapping.
    pub fn map(&self) -> Option<&[(Node, Node)]> {
        match &self.kind {
            NodeKind::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// The items, if this is a sequence.
    pub fn seq(&self) -> Option<&[Node]> {
        match &self.kind {
            NodeKind::Seq(items) => Some(items),
            _ => None,
        }
    }

    /// What kind of value this is, for messages.
    pub fn describe(&self) -> &'static str {
        match &self.kind {
            NodeKind::Map(_) => "a mapping",
            NodeKind::Seq(_) => "a list",
            NodeKind::Scalar(s) => match s.lit() {
                Lit::Null => "null",
                Lit::Bool(_) => "a boolean",
                Lit::Int(_) | Lit::Float(_) => "a number",
                Lit::Str(_) => "a string",
            },
        }
    }

    /// The value as JSON, with scalars typed by the core schema (used for
    /// test records written in rules).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match &self.kind {
            NodeKind::Scalar(s) => match s.lit() {
                Lit::Null => Value::Null,
                Lit::Bool(b) => Value::Bool(b),
                Lit::Int(i) => Value::from(i),
                Lit::Float(f) => serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number),
                Lit::Str(s) => Value::String(s),
            },
            NodeKind::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            NodeKind::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.text().unwrap_or_default().to_string(), v.to_json()))
                    .collect(),
            ),
        }
    }
}

/// One YAML document of a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// The document's top-level value.
    pub root: Node,
}

/// Parses every document of a rule file. Documents that fail to parse give
/// diagnostics; the others are returned, so one bad rule does not hide the
/// mistakes of its neighbours.
pub fn parse(source: SourceId, text: &str) -> (Vec<Document>, Vec<Diagnostic>) {
    let mut docs = Vec::new();
    let mut diags = Vec::new();
    if text.len() > MAX_FILE_BYTES {
        diags.push(
            Code::FileTooLarge
                .error(
                    Span::new(source, 0..0),
                    format!(
                        "rule file is {} bytes, more than the {} MiB limit",
                        text.len(),
                        MAX_FILE_BYTES >> 20
                    ),
                )
                .help("split the rules into several files"),
        );
        return (docs, diags);
    }
    for range in split_documents(text) {
        let chunk = text.get(range.clone()).unwrap_or("");
        if is_blank_yaml(chunk) {
            continue;
        }
        match parse_document(source, chunk, range.start) {
            Ok((root, duplicate)) => {
                diags.extend(duplicate);
                docs.push(Document { root });
            }
            Err(d) => diags.push(*d),
        }
    }
    (docs, diags)
}

/// Whether a document holds nothing but `---`, comments and blank lines.
fn is_blank_yaml(chunk: &str) -> bool {
    chunk.lines().all(|l| {
        let t = l.trim();
        t.is_empty() || t.starts_with('#') || t == "---" || t == "..."
    })
}

/// Splits a file into document ranges at `---` and `...` lines (which YAML
/// only allows at the start of a line, outside of any value).
fn split_documents(text: &str) -> Vec<Range<usize>> {
    let mut ranges = Vec::new();
    let mut start = 0;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end_matches(['\n', '\r']);
        let marker = |m: &str| {
            bare == m || bare.starts_with(&format!("{m} ")) || bare.starts_with(&format!("{m}\t"))
        };
        if marker("---") && offset > start {
            ranges.push(start..offset);
            start = offset;
        } else if marker("...") {
            ranges.push(start..offset);
            start = offset + line.len();
        }
        offset += line.len();
    }
    if start < text.len() {
        ranges.push(start..text.len());
    }
    ranges
}

/// Maps marked-yaml's character indices to byte offsets in the file.
struct Offsets<'a> {
    chunk: &'a str,
    base: usize,
    /// For each character of more than one byte: the index of the
    /// character after it, and the bytes beyond one per character up to
    /// there (empty for ASCII text, where characters are bytes).
    wide: Vec<(usize, usize)>,
}

impl<'a> Offsets<'a> {
    fn new(chunk: &'a str, base: usize) -> Offsets<'a> {
        let mut wide = Vec::new();
        let mut extra = 0;
        for (i, c) in chunk.chars().enumerate() {
            if c.len_utf8() > 1 {
                extra += c.len_utf8() - 1;
                wide.push((i + 1, extra));
            }
        }
        Offsets { chunk, base, wide }
    }

    /// The byte offset of a marker's character (markers count characters).
    fn byte(&self, marker: &Marker) -> usize {
        self.byte_of(marker.character())
    }

    /// The byte offset of the character at index `chars` of the chunk.
    fn byte_of(&self, chars: usize) -> usize {
        let before = self.wide.partition_point(|&(after, _)| after <= chars);
        let extra = before
            .checked_sub(1)
            .and_then(|i| self.wide.get(i))
            .map_or(0, |&(_, extra)| extra);
        self.base + (chars + extra).min(self.chunk.len())
    }

    /// The span of a scalar that starts at `start` (marked-yaml records only
    /// the start of scalars): through the closing quote, or the value's text
    /// on its first line.
    fn scalar_span(&self, source: SourceId, marker: Option<&Marker>, text: &str) -> Span {
        let Some(marker) = marker else {
            return Span::new(source, self.base..self.base);
        };
        let start = self.byte(marker);
        let rest = self.chunk.get(start - self.base..).unwrap_or("");
        let line = rest.split(['\n', '\r']).next().unwrap_or("");
        let len = match line.as_bytes().first() {
            Some(b'"') => closing_quote(line, b'"'),
            Some(b'\'') => closing_quote(line, b'\''),
            Some(b'|' | b'>') => line.len(),
            _ => text.len().min(line.len()),
        };
        Span::new(source, start..start + len)
    }
}

/// Length of a quoted scalar through its closing quote on this line (the
/// whole line when the scalar goes on past it).
fn closing_quote(line: &str, quote: u8) -> usize {
    let bytes = line.as_bytes();
    let mut i = 1;
    while let Some(&b) = bytes.get(i) {
        if b == b'\\' && quote == b'"' {
            i += 2;
            continue;
        }
        if b == quote {
            if quote == b'\'' && bytes.get(i + 1) == Some(&b'\'') {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    line.len()
}

/// One document's tree; with the mistake of a key written twice, if there
/// is one (the tree then holds one of the two values, so the rest of the
/// document is still checked and every other mistake reported with it).
fn parse_document(
    source: SourceId,
    chunk: &str,
    base: usize,
) -> Result<(Node, Option<Diagnostic>), Box<Diagnostic>> {
    let offsets = Offsets::new(chunk, base);
    if let Some(at) = too_deep(chunk) {
        return Err(Box::new(
            Code::TooDeep
                .error(
                    Span::new(source, base + at..base + at + 1),
                    format!("nesting is deeper than {MAX_DEPTH} levels"),
                )
                .label("too deep")
                .help("no rule needs this much nesting; flatten the condition"),
        ));
    }
    let parse = |duplicates_are_errors: bool| {
        let options = LoaderOptions::default()
            .error_on_duplicate_keys(duplicates_are_errors)
            .prevent_coercion(true);
        // marked-yaml asserts on states it believes unreachable; a rule
        // file is untrusted, so a panic in it becomes a diagnostic instead
        // of a crash.
        std::panic::catch_unwind(|| marked_yaml::parse_yaml_with_options(0, chunk, options))
    };
    let parsed = parse(true);
    let parsed = match parsed {
        Ok(result) => result,
        Err(_) => {
            return Err(Box::new(
                Code::YamlSyntax
                    .error(
                        Span::new(source, base..base),
                        "the YAML parser failed on this document",
                    )
                    .help("check the document for unusual YAML constructs"),
            ));
        }
    };
    match parsed {
        Ok(node) => Ok((convert(source, &node, &offsets), None)),
        Err(e @ LoadError::DuplicateKey(_)) => {
            let duplicate = load_error(source, &e, &offsets);
            match parse(false) {
                Ok(Ok(node)) => Ok((convert(source, &node, &offsets), Some(duplicate))),
                _ => Err(Box::new(duplicate)),
            }
        }
        Err(e) => Err(Box::new(load_error(source, &e, &offsets))),
    }
}

/// Finds where flow brackets or block indentation nest deeper than
/// [`MAX_DEPTH`], before the parser builds (and later drops, recursively)
/// a tree that deep.
fn too_deep(chunk: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote: Option<u8> = None;
    let mut line_start = true;
    let mut indent = 0usize;
    for (i, b) in chunk.bytes().enumerate() {
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None => match b {
                b'"' | b'\'' => quote = Some(b),
                b'[' | b'{' => {
                    depth += 1;
                    if depth > MAX_DEPTH {
                        return Some(i);
                    }
                }
                b']' | b'}' => depth = depth.saturating_sub(1),
                b'#' => quote = Some(b'\n'),
                _ => {}
            },
        }
        if b == b'\n' {
            line_start = true;
            indent = 0;
            if quote == Some(b'\n') {
                quote = None;
            }
            continue;
        }
        if line_start {
            if b == b' ' || b == b'-' {
                indent += 1;
                // Block nesting costs at least one column a level.
                if indent > MAX_DEPTH * 8 {
                    return Some(i);
                }
            } else {
                line_start = false;
            }
        }
    }
    None
}

fn convert(source: SourceId, node: &marked_yaml::Node, offsets: &Offsets<'_>) -> Node {
    use marked_yaml::Node as Y;
    match node {
        Y::Scalar(s) => Node {
            span: offsets.scalar_span(source, s.span().start(), s.as_str()),
            kind: NodeKind::Scalar(Scalar {
                text: s.as_str().to_string(),
                plain: s.may_coerce(),
            }),
        },
        Y::Sequence(items) => Node {
            span: container_span(source, items.span(), offsets),
            kind: NodeKind::Seq(items.iter().map(|n| convert(source, n, offsets)).collect()),
        },
        Y::Mapping(map) => Node {
            span: container_span(source, map.span(), offsets),
            kind: NodeKind::Map(
                map.iter()
                    .map(|(k, v)| {
                        let key = Node {
                            span: offsets.scalar_span(source, k.span().start(), k.as_str()),
                            kind: NodeKind::Scalar(Scalar {
                                text: k.as_str().to_string(),
                                plain: k.may_coerce(),
                            }),
                        };
                        (key, convert(source, v, offsets))
                    })
                    .collect(),
            ),
        },
    }
}

fn container_span(source: SourceId, span: &marked_yaml::Span, offsets: &Offsets<'_>) -> Span {
    let start = span.start().map_or(offsets.base, |m| offsets.byte(m));
    let end = span.end().map_or(start, |m| offsets.byte(m)).max(start);
    Span::new(source, start..end)
}

fn load_error(source: SourceId, e: &LoadError, offsets: &Offsets<'_>) -> Diagnostic {
    let at = |m: &Marker| {
        let b = offsets.byte(m);
        Span::new(source, b..b + 1)
    };
    match e {
        LoadError::TopLevelMustBeMapping(m) | LoadError::TopLevelMustBeSequence(m) => {
            Code::RuleNotMapping
                .error(at(m), "a rule must be a YAML mapping")
                .label("expected `key: value` lines here")
                .help("start the rule with `id: ...`, `title: ...`, `severity: ...`, `match: ...`")
        }
        LoadError::UnexpectedAnchor(m) => Code::YamlAnchor
            .error(at(m), "YAML anchors and aliases are not allowed in rules")
            .label("anchor or alias")
            .help("write the value out; use `params` to share values between conditions"),
        LoadError::MappingKeyMustBeScalar(m) => Code::YamlSyntax
            .error(at(m), "mapping keys must be plain names")
            .label("a list or mapping used as a key")
            .help("write keys as plain names such as `clientAppUsed`"),
        LoadError::UnexpectedTag(m) => Code::YamlTag
            .error(at(m), "YAML tags are not allowed in rules")
            .label("tag")
            .help("remove the `!tag`; values are typed by the field they are compared with"),
        LoadError::ScanError(m, scan) => Code::YamlSyntax
            .error(at(m), format!("invalid YAML: {}", scan.info()))
            .label("here")
            .help("check the quotes, brackets and indentation around this point"),
        LoadError::DuplicateKey(inner) => {
            let key = inner.key.as_str();
            let span = offsets.scalar_span(source, inner.key.span().start(), key);
            let first = offsets.scalar_span(source, inner.prev_key.span().start(), key);
            Code::DuplicateKey
                .error(span, format!("duplicate key `{key}`"))
                .label("written again here")
                .related(first, "first written here")
                .help("a mapping may name each key once; merge the two entries")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(text: &str) -> Vec<Document> {
        let (docs, diags) = parse(0, text);
        assert!(diags.is_empty(), "{diags:?}");
        docs
    }

    fn span_text<'a>(text: &'a str, node: &Node) -> &'a str {
        text.get(node.span.range.clone()).unwrap_or("<bad span>")
    }

    #[test]
    fn character_indices_give_the_bytes_of_their_characters() {
        for text in [
            "",
            "plain ascii",
            "é",
            "aé€😀b",
            "€€ x 😀\n ü",
            "ünïcödé — ok",
        ] {
            for base in [0, 7] {
                let offsets = Offsets::new(text, base);
                let mut expected: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
                expected.push(text.len());
                expected.push(text.len());
                for (chars, byte) in expected.into_iter().enumerate() {
                    assert_eq!(offsets.byte_of(chars), base + byte, "{text:?} at {chars}");
                }
            }
        }
    }

    #[test]
    fn scalars_are_typed_by_the_core_schema_unless_quoted() {
        let text = "a: 0\nb: '0'\nc: true\nd: \"x\"\ne: ~\nf: 1.5\ng: 1.2.3\n";
        let docs = parse_ok(text);
        let lits: Vec<Lit> = docs[0]
            .root
            .map()
            .unwrap()
            .iter()
            .map(|(_, v)| v.scalar().unwrap().lit())
            .collect();
        assert_eq!(
            lits,
            vec![
                Lit::Int(0),
                Lit::Str("0".into()),
                Lit::Bool(true),
                Lit::Str("x".into()),
                Lit::Null,
                Lit::Float(1.5),
                Lit::Str("1.2.3".into())
            ]
        );
    }

    #[test]
    fn spans_cover_the_exact_key_and_value() {
        let text = "id: X\nmatch:\n  status.errorCode: \"50126\"\n  café: ok\n";
        let docs = parse_ok(text);
        let m = docs[0].root.map().unwrap();
        let (k, v) = &m[1].1.map().unwrap()[0];
        assert_eq!(span_text(text, k), "status.errorCode");
        assert_eq!(span_text(text, v), "\"50126\"");
        let (k, v) = &m[1].1.map().unwrap()[1];
        assert_eq!(span_text(text, k), "café");
        assert_eq!(span_text(text, v), "ok");
    }

    #[test]
    fn several_documents_keep_their_file_offsets() {
        let text = "id: A\n---\nid: B\n...\n---\n# only a comment\n";
        let docs = parse_ok(text);
        assert_eq!(docs.len(), 2);
        let v = &docs[1].root.map().unwrap()[0].1;
        assert_eq!(v.text(), Some("B"));
        assert_eq!(span_text(text, v), "B");
    }

    #[test]
    fn duplicate_keys_point_at_both() {
        let text = "id: A\ntitle: x\nid: B\n";
        let (docs, diags) = parse(0, text);
        assert_eq!(diags.len(), 1);
        assert_eq!(diags[0].kind(), Some(Code::DuplicateKey));
        assert_eq!(diags[0].span.range, 15..17);
        assert_eq!(diags[0].related[0].span.range, 0..2);
        // The document is still given, for its other mistakes.
        assert_eq!(docs.len(), 1);
        let keys: Vec<&str> = docs[0]
            .root
            .map()
            .unwrap_or_default()
            .iter()
            .filter_map(|(k, _)| k.text())
            .collect();
        assert!(keys.contains(&"title"), "{keys:?}");
    }

    #[test]
    fn alias_bombs_are_refused() {
        let text = "a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n";
        let (docs, diags) = parse(0, text);
        assert!(docs.is_empty());
        assert_eq!(diags[0].kind(), Some(Code::YamlAnchor));
    }

    #[test]
    fn deep_nesting_is_refused_without_overflow() {
        let text = format!("a: {}{}\n", "[".repeat(10_000), "]".repeat(10_000));
        let (_, diags) = parse(0, &text);
        assert_eq!(diags[0].kind(), Some(Code::TooDeep));
        let block: String = (0..1_000)
            .map(|i| format!("{}k:\n", " ".repeat(i)))
            .collect();
        let (_, diags) = parse(0, &block);
        assert_eq!(diags[0].kind(), Some(Code::TooDeep));
    }

    #[test]
    fn a_scalar_document_is_not_a_rule() {
        let (_, diags) = parse(0, "just text\n");
        assert_eq!(diags[0].kind(), Some(Code::RuleNotMapping));
    }

    #[test]
    fn syntax_errors_point_into_the_document() {
        let text = "id: A\n---\nid: [unclosed\n";
        let (docs, diags) = parse(0, text);
        assert_eq!(docs.len(), 1);
        assert_eq!(diags[0].kind(), Some(Code::YamlSyntax));
        assert!(diags[0].span.range.start >= 10);
    }
}
