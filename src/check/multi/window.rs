//! The `window:` key → [`Window`]: key fields, span, count threshold and
//! `distinct` fields.

use crate::check::model::Window;
use crate::check::{RuleCx, find, wrong_type};
use crate::diag::Code;
use crate::syntax::Node;

/// The keys of `window:`.
pub const WINDOW_KEYS: &[&str] = &["groupBy", "span", "count", "distinct", "caseSensitive"];

impl RuleCx<'_> {
    /// Reads `window:`.
    pub(in crate::check) fn window(&mut self, n: &Node) -> Option<Window> {
        let entries = self.mapping(n, "window", "`groupBy`, `span`, `count`, `distinct`")?;
        self.known_keys(entries, WINDOW_KEYS, "window");
        let group_by = find(entries, "groupBy").map_or(Some(Vec::new()), |g| {
            self.key_fields(g, self.root, "groupBy")
        });
        let span = self.required_span(entries, n, "window");
        let count = find(entries, "count").map(|c| self.threshold(c, "count"));
        let mut distinct = Vec::new();
        let mut ok = true;
        if let Some(d) = find(entries, "distinct") {
            match d.map() {
                Some(fields) if !fields.is_empty() => {
                    for (key, value) in fields {
                        let field = self.resolve(key, self.root);
                        let threshold = self.threshold(value, "distinct");
                        match (field, threshold) {
                            (Some(f), Some(t)) if self.scalar_field(&f, key) => {
                                distinct.push((f, t))
                            }
                            _ => ok = false,
                        }
                    }
                }
                _ => {
                    self.err(
                        wrong_type(
                            d,
                            format!(
                                "`distinct` must be a mapping of fields to thresholds, not {}",
                                d.describe()
                            ),
                            "expected `field: { gte: N }`",
                        )
                        .help("write `distinct: { userPrincipalName: { gte: 5 } }`"),
                    );
                    ok = false;
                }
            }
        }
        if count.is_none() && find(entries, "distinct").is_none() {
            self.err(
                Code::BadThreshold
                    .error(n.span.clone(), "a window needs `count`, `distinct` or both")
                    .label("nothing to count")
                    .help("add `count: { gte: 10 }` (records in the window) or `distinct: { FIELD: { gte: 5 } }`"),
            );
            ok = false;
        }
        let case_sensitive = self.flag(entries, "caseSensitive", false);
        let count = match count {
            Some(Some(t)) => Some(t),
            Some(None) => return None,
            None => None,
        };
        let (group_by, span) = (group_by?, span?);
        ok.then_some(Window {
            group_by,
            span,
            count,
            distinct,
            case_sensitive,
        })
    }
}
