//! Authoring diagnostics: plain data (file, byte span, code, message, label,
//! help) collected from every stage that reads rules, rendered for people
//! with miette, as plain text for logs, or as JSON for editors.
//!
//! Operational errors (a log that cannot be opened) and findings are not
//! diagnostics; they have their own types.

use std::fmt::Write as _;
use std::ops::Range;
use std::sync::Arc;

use serde::Serialize;

mod code;

pub use code::{Code, reference};

/// Index of a source file in [`Sources`].
pub type SourceId = usize;

/// A byte range in one source file.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Span {
    /// The file.
    pub source: SourceId,
    /// Byte range in its text.
    pub range: Range<usize>,
}

impl Span {
    /// A span of `range` in `source`.
    pub fn new(source: SourceId, range: Range<usize>) -> Span {
        Span { source, range }
    }
}

/// The rule files of a run, by [`SourceId`].
#[derive(Debug, Default, Clone)]
pub struct Sources {
    files: Vec<SourceFile>,
}

/// One source file: its name as shown to users and its text.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Path as given (or `builtin:rules/...`).
    pub name: String,
    /// The whole text.
    pub text: Arc<str>,
    /// The byte offset where each line after the first starts, for
    /// [`Sources::line_col`] (a rule file may hold a thousand rules, each
    /// with diagnostics and positions).
    line_starts: Arc<[usize]>,
}

impl Sources {
    /// Adds a file and returns its id.
    pub fn add(&mut self, name: impl Into<String>, text: impl Into<Arc<str>>) -> SourceId {
        let text: Arc<str> = text.into();
        let line_starts = memchr::memchr_iter(b'\n', text.as_bytes())
            .map(|i| i + 1)
            .collect();
        self.files.push(SourceFile {
            name: name.into(),
            text,
            line_starts,
        });
        self.files.len() - 1
    }

    /// How many files there are.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// A file by id.
    pub fn get(&self, id: SourceId) -> Option<&SourceFile> {
        self.files.get(id)
    }

    /// The file's name, or `?` for an unknown id.
    pub fn name(&self, id: SourceId) -> &str {
        self.get(id).map_or("?", |f| f.name.as_str())
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, id: SourceId, offset: usize) -> (usize, usize) {
        let Some(file) = self.get(id) else {
            return (0, 0);
        };
        let text = &file.text;
        let offset = offset.min(text.len());
        // Lines before the one holding `offset`: those that start at or
        // before it.
        let before = file.line_starts.partition_point(|&start| start <= offset);
        let line_start = match before.checked_sub(1) {
            Some(i) => file.line_starts.get(i).copied().unwrap_or(0),
            None => 0,
        };
        let col = text
            .get(line_start..offset)
            .map_or(0, |s| s.chars().count())
            + 1;
        (before + 1, col)
    }
}

/// Whether a diagnostic stops the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Worth fixing; never fails `validate` unless `--deny-warnings`.
    Warning,
    /// The rule cannot run.
    Error,
}

/// A label on a span other than the main one (the first definition of a
/// duplicate id, say).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Related {
    /// Where.
    pub span: Span,
    /// What is there.
    pub label: String,
}

/// One authoring mistake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub level: Level,
    /// Stable code such as `tollgate::unknown-field`.
    pub code: &'static str,
    /// Lowercase, no final period, user input in backticks.
    pub message: String,
    /// The offending key or value.
    pub span: Span,
    /// Short text under the span.
    pub label: String,
    /// What to do about it.
    pub help: Option<String>,
    /// Other places that explain it.
    pub related: Vec<Related>,
}

impl Diagnostic {
    /// An error.
    pub fn error(code: &'static str, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            level: Level::Error,
            code,
            message: message.into(),
            span,
            label: String::new(),
            help: None,
            related: Vec::new(),
        }
    }

    /// A warning.
    pub fn warning(code: &'static str, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            level: Level::Warning,
            ..Diagnostic::error(code, span, message)
        }
    }

    /// The kind of mistake, when the code is one of [`Code`]'s.
    pub fn kind(&self) -> Option<Code> {
        Code::from_code(self.code)
    }

    /// Sets the label under the span.
    pub fn label(mut self, label: impl Into<String>) -> Diagnostic {
        self.label = label.into();
        self
    }

    /// Sets the help line.
    pub fn help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// Sets the help line to `did you mean X?` when there is a suggestion.
    pub fn suggest(self, suggestion: Option<impl AsRef<str>>) -> Diagnostic {
        match suggestion {
            Some(s) => self.help(format!("did you mean `{}`?", s.as_ref())),
            None => self,
        }
    }

    /// Sets the help line to `did you mean X?` when there is a suggestion,
    /// else to `otherwise`.
    pub fn suggest_or(
        self,
        suggestion: Option<impl AsRef<str>>,
        otherwise: impl Into<String>,
    ) -> Diagnostic {
        match suggestion {
            Some(_) => self.suggest(suggestion),
            None => self.help(otherwise),
        }
    }

    /// Sets the help line to `hint`, led by `did you mean X?` when there is
    /// a suggestion.
    pub fn suggest_then(self, suggestion: Option<impl AsRef<str>>, hint: &str) -> Diagnostic {
        match suggestion {
            Some(s) => self.help(format!("did you mean `{}`? {hint}", s.as_ref())),
            None => self.help(hint),
        }
    }

    /// Adds a related span.
    pub fn related(mut self, span: Span, label: impl Into<String>) -> Diagnostic {
        self.related.push(Related {
            span,
            label: label.into(),
        });
        self
    }
}

/// How diagnostics are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorFormat {
    /// miette's graphical report with source snippets.
    Human {
        /// Colour (only on a terminal, and not with `NO_COLOR`).
        color: bool,
        /// Width to wrap at.
        width: usize,
    },
    /// `file:line:col: level[code]: message`, then indented label and help.
    Plain,
    /// One JSON object per line.
    Json,
}

/// How diagnostics are shown, as a caller names it (`--error-format`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[non_exhaustive]
pub enum ErrorStyle {
    /// For people: source excerpts, labels, help.
    #[default]
    Human,
    /// `file:line:col: level[code]: message` and indented notes.
    Plain,
    /// One JSON object per line.
    Json,
}

impl ErrorStyle {
    /// The format of this style; `color` for the human one, 100 columns
    /// wide.
    pub fn format(self, color: bool) -> ErrorFormat {
        match self {
            ErrorStyle::Human => ErrorFormat::Human { color, width: 100 },
            ErrorStyle::Plain => ErrorFormat::Plain,
            ErrorStyle::Json => ErrorFormat::Json,
        }
    }
}

/// `one` when `n` is 1, else `many`: the wording of counts in messages.
pub(crate) fn plural<'a>(n: impl TryInto<u64>, one: &'a str, many: &'a str) -> &'a str {
    if n.try_into().ok() == Some(1) {
        one
    } else {
        many
    }
}

/// Sorts diagnostics by file, then position, then message, so output is
/// stable and reads top to bottom.
pub fn sort(diagnostics: &mut [Diagnostic], sources: &Sources) {
    diagnostics.sort_by(|a, b| {
        (sources.name(a.span.source), a.span.range.start, &a.message).cmp(&(
            sources.name(b.span.source),
            b.span.range.start,
            &b.message,
        ))
    });
}

/// Renders diagnostics in the given format.
pub fn render(diagnostics: &[Diagnostic], sources: &Sources, format: ErrorFormat) -> String {
    let mut out = String::new();
    for d in diagnostics {
        match format {
            ErrorFormat::Human { color, width } => render_human(&mut out, d, sources, color, width),
            ErrorFormat::Plain => render_plain(&mut out, d, sources),
            ErrorFormat::Json => {
                let json = to_json(d, sources);
                out.push_str(&serde_json::to_string(&json).unwrap_or_default());
                out.push('\n');
            }
        }
    }
    out
}

/// Where the mistakes counted at the end of [`render_closed`] lie.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Within<'a> {
    /// Files of one kind (`"rule"`, `"config"`), counted.
    Files(&'a str),
    /// The settings: params and rule ids named on the command line or in
    /// the config.
    Settings,
}

/// The errors among `diagnostics`.
pub fn errors(diagnostics: &[Diagnostic]) -> usize {
    diagnostics
        .iter()
        .filter(|d| d.level == Level::Error)
        .count()
}

/// Renders `diagnostics` like [`render`], then, when some are errors and
/// the format is for people, closes with their count and what they stop:
/// `error: 2 mistakes in 1 rule file; no log was read`.
pub fn render_closed(
    diagnostics: &[Diagnostic],
    sources: &Sources,
    format: ErrorFormat,
    within: Within<'_>,
    consequence: &str,
) -> String {
    let mut out = render(diagnostics, sources, format);
    let errors = errors(diagnostics);
    if errors == 0 || matches!(format, ErrorFormat::Json) {
        return out;
    }
    let mistakes = plural(errors, "mistake", "mistakes");
    let _ = match within {
        Within::Files(kind) => {
            let files: std::collections::BTreeSet<_> = diagnostics
                .iter()
                .filter(|d| d.level == Level::Error)
                .map(|d| d.span.source)
                .collect();
            let n = files.len();
            writeln!(
                out,
                "error: {errors} {mistakes} in {n} {kind} {}; {consequence}",
                plural(n, "file", "files")
            )
        }
        Within::Settings => writeln!(
            out,
            "error: {errors} {mistakes} in the settings; {consequence}"
        ),
    };
    out
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::Error => "error",
        Level::Warning => "warning",
    }
}

/// `file:line:col` of where a span starts.
fn position(sources: &Sources, span: &Span) -> String {
    let (line, col) = sources.line_col(span.source, span.range.start);
    format!("{}:{line}:{col}", sources.name(span.source))
}

fn render_plain(out: &mut String, d: &Diagnostic, sources: &Sources) {
    let _ = writeln!(
        out,
        "{}: {}[{}]: {}",
        position(sources, &d.span),
        level_name(d.level),
        d.code,
        d.message
    );
    if !d.label.is_empty() {
        let _ = writeln!(out, "    {}", d.label);
    }
    for r in &d.related {
        let _ = writeln!(out, "    {}: {}", position(sources, &r.span), r.label);
    }
    if let Some(help) = &d.help {
        let _ = writeln!(out, "    help: {help}");
    }
}

#[derive(Serialize)]
struct JsonPos {
    file: String,
    line: usize,
    column: usize,
    #[serde(rename = "endLine")]
    end_line: usize,
    #[serde(rename = "endColumn")]
    end_column: usize,
}

#[derive(Serialize)]
struct JsonRelated {
    #[serde(flatten)]
    pos: JsonPos,
    label: String,
}

#[derive(Serialize)]
struct JsonDiagnostic {
    level: Level,
    code: &'static str,
    message: String,
    #[serde(flatten)]
    pos: JsonPos,
    label: String,
    help: Option<String>,
    related: Vec<JsonRelated>,
}

fn pos(span: &Span, sources: &Sources) -> JsonPos {
    let (line, column) = sources.line_col(span.source, span.range.start);
    let (end_line, end_column) = sources.line_col(span.source, span.range.end);
    JsonPos {
        file: sources.name(span.source).to_string(),
        line,
        column,
        end_line,
        end_column,
    }
}

fn to_json(d: &Diagnostic, sources: &Sources) -> JsonDiagnostic {
    JsonDiagnostic {
        level: d.level,
        code: d.code,
        message: d.message.clone(),
        pos: pos(&d.span, sources),
        label: d.label.clone(),
        help: d.help.clone(),
        related: d
            .related
            .iter()
            .map(|r| JsonRelated {
                pos: pos(&r.span, sources),
                label: r.label.clone(),
            })
            .collect(),
    }
}

fn render_human(out: &mut String, d: &Diagnostic, sources: &Sources, color: bool, width: usize) {
    use miette::{LabeledSpan, MietteDiagnostic, NamedSource, Severity};
    let Some(file) = sources.get(d.span.source) else {
        render_plain(out, d, sources);
        return;
    };
    let label = (!d.label.is_empty()).then(|| d.label.clone());
    let mut labels = vec![LabeledSpan::new_primary_with_span(
        label,
        clamp(&d.span.range, &file.text),
    )];
    // miette shows one source per report: related spans in the same file are
    // labels; those in other files are written as plain lines after it.
    let mut elsewhere = Vec::new();
    for r in &d.related {
        if r.span.source == d.span.source {
            labels.push(LabeledSpan::new_with_span(
                Some(r.label.clone()),
                clamp(&r.span.range, &file.text),
            ));
        } else {
            elsewhere.push(r);
        }
    }
    let mut diagnostic = MietteDiagnostic::new(d.message.clone())
        .with_code(d.code)
        .with_severity(match d.level {
            Level::Error => Severity::Error,
            Level::Warning => Severity::Warning,
        })
        .with_labels(labels);
    if let Some(help) = &d.help {
        diagnostic = diagnostic.with_help(help.clone());
    }
    let report = miette::Report::new(diagnostic)
        .with_source_code(NamedSource::new(file.name.clone(), file.text.clone()));
    let theme = if color {
        miette::GraphicalTheme::unicode()
    } else {
        miette::GraphicalTheme::unicode_nocolor()
    };
    let handler = miette::GraphicalReportHandler::new_themed(theme).with_width(width);
    let mut rendered = String::new();
    if handler
        .render_report(&mut rendered, report.as_ref())
        .is_err()
    {
        render_plain(out, d, sources);
        return;
    }
    out.push_str(&rendered);
    for r in elsewhere {
        let _ = writeln!(out, "  also: {}: {}", position(sources, &r.span), r.label);
    }
    out.push('\n');
}

/// Keeps a span inside the text and on character boundaries, so a renderer
/// never slices in the middle of a character.
fn clamp(range: &Range<usize>, text: &str) -> (usize, usize) {
    let mut start = range.start.min(text.len());
    while start > 0 && !text.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = range.end.clamp(start, text.len());
    while end < text.len() && !text.is_char_boundary(end) {
        end += 1;
    }
    (start, end - start)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_of_every_offset() {
        let text = "id: é\n\nmatch:\n  a: «b»\r\nend";
        let mut sources = Sources::default();
        let id = sources.add("a.yaml", text);
        for offset in (0..=text.len() + 2).filter(|o| text.is_char_boundary(*o) || *o > text.len())
        {
            // Counted from the start, as a reader would.
            let before = text.get(..offset.min(text.len())).unwrap_or("");
            let line = before.matches('\n').count() + 1;
            let start = before.rfind('\n').map_or(0, |i| i + 1);
            let col = before.get(start..).map_or(0, |s| s.chars().count()) + 1;
            assert_eq!(sources.line_col(id, offset), (line, col), "offset {offset}");
        }
        assert_eq!(sources.line_col(id, 0), (1, 1));
        assert_eq!(sources.line_col(99, 0), (0, 0));
    }

    #[test]
    fn plain_rendering_names_file_line_column_code_and_help() {
        let mut sources = Sources::default();
        let id = sources.add("rules/a.yaml", "id: x\nserverity: high\n");
        let d = Code::UnknownKey
            .error(Span::new(id, 6..15), "unknown key `serverity`")
            .label("not a rule key")
            .suggest(Some("severity"));
        let text = render(&[d], &sources, ErrorFormat::Plain);
        assert_eq!(
            text,
            "rules/a.yaml:2:1: error[tollgate::unknown-key]: unknown key `serverity`\n    not a rule key\n    help: did you mean `severity`?\n"
        );
    }

    #[test]
    fn json_rendering_is_one_object_per_line() {
        let mut sources = Sources::default();
        let id = sources.add("r.yaml", "a: b\n");
        let d = Code::UnusedParam.warning(Span::new(id, 3..4), "m");
        let text = render(&[d.clone(), d], &sources, ErrorFormat::Json);
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
            assert_eq!(v["level"], "warning");
            assert_eq!(v["line"], 1);
            assert_eq!(v["column"], 4);
        }
        assert_eq!(text.lines().count(), 2);
    }

    #[test]
    fn codes_read_back_and_are_distinct() {
        for (i, code) in Code::ALL.iter().enumerate() {
            assert_eq!(Code::from_code(code.as_str()), Some(*code));
            assert!(code.as_str().starts_with("tollgate::"));
            assert!(
                Code::ALL
                    .iter()
                    .skip(i + 1)
                    .all(|c| c.as_str() != code.as_str())
            );
        }
        assert_eq!(Code::from_code("tollgate::nope"), None);
    }

    /// The reference is generated; with `UPDATE_DOCS=1` this writes it,
    /// otherwise it fails when the checked-in file differs.
    #[test]
    fn the_diagnostics_reference_is_up_to_date() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/diagnostics.md");
        let want = reference();
        if std::env::var_os("UPDATE_DOCS").is_some_and(|v| v == "1") {
            std::fs::write(&path, &want).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            return;
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "{} is out of date; run `UPDATE_DOCS=1 cargo test` and commit it",
            path.display()
        );
    }

    /// Every example in the reference gives its code, except those about
    /// files and config, which a rule text alone cannot show.
    #[test]
    fn every_rule_example_gives_its_code() {
        let not_from_a_rule = [
            Code::FileTooLarge,
            Code::NotUtf8,
            Code::TooDeep,
            Code::Config,
            Code::NotExpressible,
        ];
        for code in Code::ALL {
            if not_from_a_rule.contains(code) {
                continue;
            }
            let mut loader = crate::engine::Loader::new();
            loader.add_source("example.yaml", code.example());
            let diagnostics = loader.validate().diagnostics;
            assert!(
                diagnostics.iter().any(|d| d.kind() == Some(*code)),
                "the example of {code} gives {:?}",
                diagnostics.iter().map(|d| d.code).collect::<Vec<_>>()
            );
        }
    }
}
