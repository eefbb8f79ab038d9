//! The context a Sigma document is read in: its file, the diagnostics
//! so far, and the small readers every part uses.

use crate::catalog::Field;
use crate::check::{Cond, Threshold};
use crate::diag::{Code, Diagnostic, SourceId, Sources, Span};
use crate::record::LogCategory;
use crate::syntax::{Node, NodeKind};

pub(super) struct Cx<'a> {
    pub(super) source: SourceId,
    pub(super) sources: &'a Sources,
    pub(super) diags: Vec<Diagnostic>,
    pub(super) root: &'static [Field],
}

pub(super) fn find<'n>(entries: &'n [(Node, Node)], key: &str) -> Option<&'n Node> {
    entries
        .iter()
        .find(|(k, _)| k.text() == Some(key))
        .map(|(_, v)| v)
}

impl Cx<'_> {
    pub(super) fn err(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    /// Whether an error has been reported on the document.
    pub(super) fn has_errors(&self) -> bool {
        self.diags
            .iter()
            .any(|d| d.level == crate::diag::Level::Error)
    }

    /// The value of a key every Sigma rule must have; when it is missing,
    /// an error at `at` (the rule's first key) with `help`.
    pub(super) fn required<'n>(
        &mut self,
        entries: &'n [(Node, Node)],
        key: &str,
        at: &Span,
        help: &str,
    ) -> Option<&'n Node> {
        let found = find(entries, key);
        if found.is_none() {
            self.err(
                Code::MissingKey
                    .error(at.clone(), format!("Sigma rule has no `{key}`"))
                    .label("this rule")
                    .help(help.to_string()),
            );
        }
        found
    }

    pub(super) fn file(&self) -> &str {
        self.sources.name(self.source)
    }

    pub(super) fn line_of(&self, span: &Span) -> u64 {
        self.sources.line_col(span.source, span.range.start).0 as u64
    }

    /// An unsupported feature: the message names the file, the line and
    /// the feature.
    pub(super) fn unsupported(&mut self, span: &Span, feature: &str, help: &str) {
        let line = self.line_of(span);
        let file = self.file().to_string();
        self.err(
            Code::SigmaUnsupported
                .error(
                    span.clone(),
                    format!("Sigma feature {feature} is not supported ({file}, line {line})"),
                )
                .label("not supported")
                .help(help.to_string()),
        );
    }

    pub(super) fn text(&mut self, n: &Node, key: &str) -> Option<String> {
        match n.scalar() {
            Some(s) => Some(s.text.clone()),
            None => {
                self.err(
                    Code::WrongType
                        .error(
                            n.span.clone(),
                            format!("`{key}` must be text, not {}", n.describe()),
                        )
                        .label("expected text"),
                );
                None
            }
        }
    }

    pub(super) fn texts(&mut self, n: &Node, key: &str) -> Vec<String> {
        match &n.kind {
            NodeKind::Seq(items) => items.iter().filter_map(|i| self.text(i, key)).collect(),
            NodeKind::Scalar(s) => vec![s.text.clone()],
            NodeKind::Map(_) => {
                self.err(
                    Code::WrongType
                        .error(n.span.clone(), format!("`{key}` must be a list of text"))
                        .label("expected a list"),
                );
                Vec::new()
            }
        }
    }

    /// The offset of a scalar's text in the file (after an opening quote).
    pub(super) fn text_start(&self, n: &Node) -> usize {
        let text = self
            .sources
            .get(self.source)
            .map(|f| f.text.clone())
            .unwrap_or_default();
        let start = n.span.range.start;
        match text.as_bytes().get(start) {
            Some(b'"' | b'\'') => start + 1,
            _ => start,
        }
    }
}

/// A detection rule as correlations use it.
#[derive(Debug, Clone)]
pub(super) struct Base {
    pub(super) id: String,
    pub(super) name: Option<String>,
    pub(super) logs: Vec<LogCategory>,
    pub(super) root: &'static [Field],
    pub(super) cond: Cond,
    /// Whether it is itself a correlation.
    pub(super) correlation: bool,
    /// For an `event_count` correlation of at least some records: that
    /// bound, its group-by fields and its timespan, so a temporal
    /// correlation can take it as a step with a count.
    pub(super) counted: Option<(Threshold, Vec<String>, i64)>,
}
