//! Sigma rule documents → checked rules, or every mistake with its span.
//!
//! A detection rule becomes a single-record [`CheckedRule`] whose condition
//! is built from the rule's `detection` (search identifiers, values and
//! modifiers, the `condition` expression); an aggregation (`| count(...)
//! by ...`) or a correlation rule becomes a window or a sequence. What
//! Sigma says and tollgate cannot run is an error naming the feature.

mod correlation;
mod cx;
mod detection;
mod document;
mod fields;
mod values;

pub use document::log_of_service;

use crate::catalog;
use crate::check::CheckedRule;
use crate::diag::{Diagnostic, SourceId, Sources, Span};
use crate::syntax::{Document, Node, NodeKind};
use cx::Base;
use cx::{Cx, find};

/// Whether a document is a Sigma rule: it has `logsource`, `detection` or
/// `correlation`, keys tollgate's own rules do not have.
pub fn is_sigma(root: &Node) -> bool {
    root.map().is_some_and(|entries| {
        entries
            .iter()
            .any(|(k, _)| matches!(k.text(), Some("logsource" | "detection" | "correlation")))
    })
}

/// What checking one Sigma document gave.
#[derive(Debug)]
pub struct Outcome {
    /// The rule, when it has no error (and is not a rule only a correlation
    /// uses).
    pub rule: Option<CheckedRule>,
    /// Its id and where it is written, for duplicate ids.
    pub id: Option<(String, Span)>,
    /// Errors and warnings.
    pub diags: Vec<Diagnostic>,
}

/// Checks the Sigma documents of a load, in order: detection rules first
/// so that correlation rules can name them. Gives one outcome per
/// document, in the order given.
pub fn check_all(docs: &[(SourceId, &Document)], sources: &Sources) -> Vec<Outcome> {
    let mut outcomes: Vec<Option<Outcome>> = docs.iter().map(|_| None).collect();
    let mut bases: Vec<Base> = Vec::new();
    // Correlations may name correlations written before them.
    let (correlations, detections): (Vec<_>, Vec<_>) =
        docs.iter().enumerate().partition(|(_, (_, doc))| {
            doc.root
                .map()
                .is_some_and(|entries| find(entries, "correlation").is_some())
        });
    for (i, (source, doc)) in detections.into_iter().chain(correlations) {
        let mut cx = Cx {
            source: *source,
            sources,
            diags: Vec::new(),
            root: catalog::SIGN_IN,
        };
        let (rule, id) = cx.rule(&doc.root, &mut bases);
        if let Some(slot) = outcomes.get_mut(i) {
            *slot = Some(Outcome {
                rule,
                id,
                diags: cx.diags,
            });
        }
    }
    // A rule a correlation uses does not run alone unless it says
    // `generate: true` (the Sigma correlation specification's default).
    let used: Vec<String> = docs
        .iter()
        .filter_map(|(_, d)| d.root.map())
        .filter(|e| find(e, "correlation").is_some())
        .filter(|e| {
            find(e, "correlation")
                .and_then(Node::map)
                .and_then(|c| find(c, "generate"))
                .is_none_or(|g| g.text() != Some("true"))
        })
        .flat_map(|e| {
            find(e, "correlation")
                .and_then(Node::map)
                .and_then(|c| find(c, "rules"))
                .map(|r| match &r.kind {
                    NodeKind::Seq(items) => items
                        .iter()
                        .filter_map(|n| n.text().map(str::to_string))
                        .collect(),
                    NodeKind::Scalar(s) => vec![s.text.clone()],
                    NodeKind::Map(_) => Vec::new(),
                })
                .unwrap_or_default()
        })
        .collect();
    outcomes
        .into_iter()
        .zip(docs)
        .map(|(o, (_, doc))| {
            let mut o = o.unwrap_or(Outcome {
                rule: None,
                id: None,
                diags: Vec::new(),
            });
            let entries = doc.root.map().unwrap_or_default();
            let named = |key: &str| find(entries, key).and_then(Node::text).map(str::to_string);
            let referenced = [named("id"), named("name")]
                .into_iter()
                .flatten()
                .any(|n| used.contains(&n));
            if referenced {
                o.rule = None;
            }
            o
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{Cond, Shape};
    use crate::diag::Code;
    use crate::engine::Loader;

    fn checked(text: &str) -> (Vec<CheckedRule>, Vec<Diagnostic>) {
        let mut loader = Loader::new();
        loader.add_source("sigma.yml", text);
        let c = loader.check();
        (c.rules().to_vec(), c.diagnostics().to_vec())
    }

    const HEAD: &str = "title: t\nid: 0e000000-0000-4000-8000-000000000001\nlogsource:\n  product: azure\n  service: signinlogs\n";

    #[test]
    fn diagnostic_settings_names_resolve_without_their_properties_prefix() {
        let (rules, diags) = checked(&format!(
            "{HEAD}detection:\n  sel:\n    properties.authenticationProtocol: deviceCode\n  condition: sel\n"
        ));
        assert!(diags.is_empty(), "{diags:?}");
        let Cond::Pred(p) = &rules[0].cond else {
            panic!("one predicate")
        };
        assert_eq!(p.field.path.to_string(), "authenticationProtocol");
        // A name the catalog lacks loses the prefix too: ingest unwrapped it.
        let (rules, diags) = checked(&format!(
            "{HEAD}detection:\n  sel:\n    properties.message: Device Code\n  condition: sel\n"
        ));
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert!(diags[0].message.contains("`raw.message`"), "{diags:?}");
        let Cond::Pred(p) = &rules[0].cond else {
            panic!("one predicate")
        };
        assert_eq!(p.field.path.to_string(), "raw.message");
    }

    #[test]
    fn placeholders_are_named_with_the_file() {
        let (rules, diags) = checked(&format!(
            "{HEAD}detection:\n  sel:\n    IPAddress|expand:\n      - '%office_ips%'\n      - '%vpn%'\n  condition: sel\n"
        ));
        assert!(rules.is_empty());
        let d = diags
            .iter()
            .find(|d| d.kind() == Some(Code::SigmaPlaceholder))
            .unwrap();
        assert!(
            d.message.contains("`%office_ips%`, `%vpn%`"),
            "{}",
            d.message
        );
        assert!(d.message.contains("sigma.yml"), "{}", d.message);
    }

    #[test]
    fn a_rule_a_correlation_names_does_not_run_alone() {
        let text = format!(
            "{HEAD}name: base\ndetection:\n  sel:\n    ResultType: 50126\n  condition: sel\n---\ntitle: c\nid: 0e000000-0000-4000-8000-000000000002\ncorrelation:\n  type: event_count\n  rules: [base]\n  group-by: [IPAddress]\n  timespan: 5m\n  condition: {{ gte: 3 }}\n"
        );
        let (rules, diags) = checked(&text);
        assert!(diags.is_empty(), "{diags:?}");
        let ids: Vec<&str> = rules.iter().map(|r| r.info.id.as_ref()).collect();
        assert_eq!(ids, ["0e000000-0000-4000-8000-000000000002"]);
        assert!(matches!(rules[0].shape, Shape::Window(_)));
        let generate = text.replace(
            "  condition: { gte: 3 }",
            "  generate: true\n  condition: { gte: 3 }",
        );
        assert_eq!(checked(&generate).0.len(), 2);
    }
}
