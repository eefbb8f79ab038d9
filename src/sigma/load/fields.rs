//! Field names as Sigma writes them (Log Analytics columns) resolved in
//! the catalog.

use super::cx::Cx;
use crate::catalog::{self, FieldPath, Resolved};
use crate::diag::{Code, Span};

impl Cx<'_> {
    /// A field name as Sigma writes it (a Log Analytics column, any case):
    /// the catalog's field, or `raw.NAME` with a warning.
    pub(super) fn field(&mut self, name: &str, at: &Span) -> Resolved {
        if name.split('.').any(|seg| seg.trim().is_empty()) {
            self.err(
                Code::SigmaValue
                    .error(at.clone(), format!("`{name}` is not a field name"))
                    .label("empty name or segment")
                    .help("write a Log Analytics column, such as `ResultType` or `DeviceDetail.isCompliant`"),
            );
            return Resolved {
                path: FieldPath::new(name.split('.'), true),
                field: None,
            };
        }
        // Diagnostic-settings records hold the sign-in under `properties`,
        // which ingest unwraps: `properties.X` is `X`, known or not.
        let name = name
            .get(..11)
            .filter(|p| p.eq_ignore_ascii_case("properties."))
            .and_then(|_| name.get(11..))
            .unwrap_or(name);
        match catalog::resolve_in(self.root, name) {
            Ok(r) => r,
            Err(e) => {
                self.err(
                    Code::SigmaRawField
                        .warning(
                            at.clone(),
                            format!(
                                "field `{name}` is not in the catalog; it is read as `raw.{name}`"
                            ),
                        )
                        .label("unknown field")
                        .suggest_or(
                            e.suggestion,
                            "the record key is looked up as written, ignoring case",
                        ),
                );
                Resolved {
                    path: FieldPath::new(name.split('.'), true),
                    field: None,
                }
            }
        }
    }
}
