//! Templates: a rule's `message:` text → [`Piece`]s.
//!
//! Takes the message and gives literal text and `{field}` references
//! resolved against the rule's catalog; `{{` and `}}` are literal braces.

use super::RuleCx;
use super::model::{Piece, Shape};
use crate::catalog;
use crate::diag::{Code, Span};
use crate::syntax::Node;

impl RuleCx<'_> {
    /// Reads a message; for a multi-record rule (`multi`), the
    /// placeholders are those its findings can fill (see
    /// [`RuleCx::multi_piece`]).
    pub(super) fn template(&mut self, n: &Node, multi: Option<&Shape>) -> Option<Vec<Piece>> {
        let text = self.string(n, "message")?;
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut rest = text.as_str();
        let mut ok = true;
        while let Some(i) = rest.find(['{', '}']) {
            let (before, after) = rest.split_at(i);
            literal.push_str(before);
            if let Some(tail) = after.strip_prefix("{{") {
                literal.push('{');
                rest = tail;
            } else if let Some(tail) = after.strip_prefix("}}") {
                literal.push('}');
                rest = tail;
            } else if let Some(tail) = after.strip_prefix('{') {
                let Some((name, after_field)) = tail.split_once('}') else {
                    self.err(
                        Code::BadMessage
                            .error(n.span.clone(), "message has a `{` that is never closed")
                            .label("in this message")
                            .help("close it with `}`, or write `{{` for a literal brace"),
                    );
                    return None;
                };
                let name = name.trim();
                if let Some(shape) = multi {
                    match self.multi_piece(name, shape) {
                        Ok(piece) => {
                            if !literal.is_empty() {
                                pieces.push(Piece::Text(std::mem::take(&mut literal)));
                            }
                            pieces.push(piece);
                        }
                        Err((message, help)) => {
                            let span = self.find_in_source(n, &format!("{{{name}"), 1, name.len());
                            self.err(
                                Code::MessageField
                                    .error(span, message)
                                    .label("not something this finding has")
                                    .help(help),
                            );
                            ok = false;
                        }
                    }
                    rest = after_field;
                    continue;
                }
                match catalog::resolve_in(self.root, name) {
                    Ok(r) => {
                        if !literal.is_empty() {
                            pieces.push(Piece::Text(std::mem::take(&mut literal)));
                        }
                        pieces.push(Piece::Field(r));
                    }
                    Err(e) => {
                        let span = self.find_in_source(n, &format!("{{{name}"), 1, name.len());
                        self.err(
                            Code::UnknownField
                                .error(span, format!("message names unknown field `{name}`"))
                                .label(format!("not in the {} catalog", self.catalog_name()))
                                .suggest(e.suggestion),
                        );
                        ok = false;
                    }
                }
                rest = after_field;
            } else if let Some(tail) = after.strip_prefix('}') {
                // A lone `}`: keep it as text.
                literal.push('}');
                rest = tail;
            } else {
                // `find` stopped at a brace and both kinds are handled
                // above; were it otherwise, the rest is kept as text.
                break;
            }
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            pieces.push(Piece::Text(literal));
        }
        ok.then_some(pieces)
    }

    /// The span of `needle` in the source at or after `n`, skipping `skip`
    /// bytes and covering `len`; the node's own span when not found (a
    /// folded block scalar does not keep its text as written).
    pub(super) fn find_in_source(&self, n: &Node, needle: &str, skip: usize, len: usize) -> Span {
        let text = self.sources.get(self.source).map(|f| f.text.clone());
        let found = text.as_deref().and_then(|t| {
            t.get(n.span.range.start..)
                .and_then(|rest| rest.find(needle))
                .map(|i| n.span.range.start + i + skip)
        });
        match found {
            Some(start) => Span::new(self.source, start..start + len),
            None => n.span.clone(),
        }
    }
}
