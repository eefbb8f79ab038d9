//! Which rules a record can match, told before the rules run: the
//! single-record rules and the steps of the window and sequence rules
//! (which records take part in them), in one index.
//!
//! Most rules require some field to equal one of a few constants
//! (`appDisplayName: Azure Portal`, `status.errorCode: 0`,
//! `clientAppUsed: [IMAP4, POP3]`). Such a condition, when every other one
//! is joined to it by `all`, must hold for the rule to match. The index
//! gathers the sets of these conditions field by field, each constant
//! mapped to the conditions whose set holds it, so one lookup per value of
//! a record tells which of them hold, and a rule with one that does not is
//! not evaluated. A field is looked up the first time a rule asks about it
//! in a record: a rule set whose rules mostly fail on their first
//! condition does no more than before.
//!
//! The lookup is the one the sets themselves answer ([`Constants::get`]),
//! on the values evaluation itself visits ([`eval::visit_test`]), so a rule
//! skipped is a rule that does not match. A rule not skipped passes those
//! conditions: what is left of it is evaluated as without the index.
//! `tests/differential.rs` compares the two on every record it reads.

use crate::compile::{Constants, Matcher, Node, Test, ValueSet};
use crate::eval::{self, Scope};

/// The required sets of a rule set's rules, by field.
#[derive(Debug, Default)]
pub(super) struct RuleIndex {
    /// One per field (and way of comparing text) some required set is on.
    fields: Vec<FieldSets>,
    /// For each rule, in order, its required conditions, and its condition
    /// without them.
    rules: Vec<(Box<[Need]>, Node)>,
    /// How many required conditions there are, in all rules.
    conditions: usize,
}

/// A required condition: the number of its field, then its own.
type Need = (u32, u32);

/// The required sets on one field.
#[derive(Debug)]
struct FieldSets {
    /// The first condition read on the field: where its values are.
    test: Test,
    /// Each constant, with the conditions whose set holds it.
    constants: Constants<Vec<u32>>,
}

/// What the index knows of one record: the fields looked up, the
/// conditions that hold.
pub(super) struct Hits {
    fields: Bits,
    conditions: Bits,
}

/// A set of small numbers, on the stack up to 1,024.
enum Bits {
    Small([u64; 16]),
    Large(Vec<u64>),
}

impl RuleIndex {
    /// The index of the conditions `roots` (rule `i` of the index is the
    /// `i`th), whose record-level tests are interned
    /// ([`crate::compile::intern_tops`]).
    pub(super) fn new<'a>(roots: impl IntoIterator<Item = &'a Node>) -> RuleIndex {
        let mut index = RuleIndex::default();
        for root in roots {
            let mut needs = Vec::new();
            let rest = split(root, &mut |test, set| {
                let id = index.conditions as u32;
                index.conditions += 1;
                let fields = &mut index.fields;
                let at = fields.iter().position(|f| {
                    f.test.path == test.path
                        && f.test.as_text == test.as_text
                        && f.constants.case_sensitive() == set.case_sensitive()
                });
                let at = at.unwrap_or_else(|| {
                    fields.push(FieldSets {
                        test: test.clone(),
                        constants: Constants::new(set.case_sensitive()),
                    });
                    fields.len() - 1
                });
                needs.push((at as u32, id));
                let Some(field) = fields.get_mut(at) else {
                    unreachable!("found or added just above")
                };
                for c in set.constants() {
                    field.constants.entry(c, Vec::new).push(id);
                }
            });
            index.rules.push((needs.into_boxed_slice(), rest));
        }
        index
    }

    /// Room for what the index learns of one record.
    pub(super) fn hits(&self) -> Hits {
        Hits {
            fields: Bits::new(self.fields.len()),
            conditions: Bits::new(self.conditions),
        }
    }

    /// What is left to evaluate of rule number `rule` on the record of
    /// `scope`, once the conditions it requires hold: `None` when one does
    /// not (the rule does not match). Looks up the fields it requires that
    /// no rule asked about yet, marking in `hits` every condition on them
    /// that holds.
    #[inline]
    pub(super) fn rest(&self, rule: usize, scope: Scope<'_>, hits: &mut Hits) -> Option<&Node> {
        let (needs, rest) = self.rules.get(rule)?;
        for &(field, id) in needs.iter() {
            if !hits.fields.contains(field) {
                hits.fields.insert(field);
                self.mark(field, scope, &mut hits.conditions);
            }
            if !hits.conditions.contains(id) {
                return None;
            }
        }
        Some(rest)
    }

    /// Marks the conditions on field number `field` that hold on a record.
    fn mark(&self, field: u32, scope: Scope<'_>, conditions: &mut Bits) {
        let Some(field) = self.fields.get(field as usize) else {
            return;
        };
        eval::visit_test(&field.test, scope, &mut |v| {
            for &id in field.constants.get(v).into_iter().flatten() {
                conditions.insert(id);
            }
            false
        });
    }
}

impl Bits {
    fn new(len: usize) -> Bits {
        let words = len.div_ceil(64);
        if words <= 16 {
            Bits::Small([0; 16])
        } else {
            Bits::Large(vec![0; words])
        }
    }

    fn words(&self) -> &[u64] {
        match self {
            Bits::Small(words) => words,
            Bits::Large(words) => words,
        }
    }

    #[inline]
    fn contains(&self, n: u32) -> bool {
        let word = self.words().get(n as usize / 64);
        word.is_some_and(|w| w & (1 << (n % 64)) != 0)
    }

    #[inline]
    fn insert(&mut self, n: u32) {
        let words = match self {
            Bits::Small(words) => &mut words[..],
            Bits::Large(words) => &mut words[..],
        };
        if let Some(w) = words.get_mut(n as usize / 64) {
            *w |= 1 << (n % 64);
        }
    }
}

/// Calls `f` on each test of a record's own fields that must hold for
/// `node` to hold and that asks for a value in a set (the tests of `node`
/// itself and of its `all` children, not those under `any` or `not`), and
/// gives `node` without them: when they hold, it holds exactly when `node`
/// does.
fn split<'a>(node: &'a Node, f: &mut impl FnMut(&'a Test, &'a ValueSet)) -> Node {
    match node {
        Node::All(children) => Node::All(
            children
                .iter()
                .map(|c| split(c, f))
                .filter(|c| !matches!(c, Node::All(left) if left.is_empty()))
                .collect(),
        ),
        Node::Test(test) => match (&test.matcher, test.top) {
            (Matcher::In(set), Some(_)) => {
                f(test, set);
                // `all` of nothing holds.
                Node::All(Box::new([]))
            }
            _ => node.clone(),
        },
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::engine::Loader;

    const RULES: &str = r#"
id: T-1
title: required sets on two fields
severity: low
match:
  appDisplayName: [Azure Portal, My Apps]
  status.errorCode: 0
  not:
    clientAppUsed: IMAP4
---
id: T-2
title: a set under any is not required
severity: low
match:
  any:
    - appDisplayName: Azure Portal
    - ipAddress: { cidr: [10.0.0.0/8] }
---
id: T-3
title: a required boolean, a required number written as text
severity: low
match:
  isInteractive: true
  riskLevelDuringSignIn: { in: [high, "50"] }
"#;

    /// The rules a record may match, by id, and what is left of each.
    fn candidates(record: serde_json::Value) -> Vec<(String, String)> {
        let mut loader = Loader::new();
        loader.add_source("rules.yaml", RULES);
        let set = loader
            .load()
            .unwrap_or_else(|_| unreachable!("the rules load"));
        let record = crate::ingest::normalize(record).unwrap_or_else(|_| unreachable!());
        let tops = eval::Tops::new(&set.tops);
        let scope = Scope::Record(&record.fields, Some(&tops));
        let mut hits = set.index.hits();
        (set.rules.iter().enumerate())
            .filter_map(|(i, rule)| {
                let rest = set.index.rest(i, scope, &mut hits)?;
                Some((rule.info.id.to_string(), format!("{rest:?}")))
            })
            .collect()
    }

    fn ids(found: &[(String, String)]) -> Vec<&str> {
        found.iter().map(|(id, _)| id.as_str()).collect()
    }

    #[test]
    fn a_record_outside_a_required_set_rules_its_rule_out() {
        let found = candidates(json!({
            "appDisplayName": "AZURE PORTAL", "status": {"errorCode": "0"},
            "isInteractive": "true", "riskLevelDuringSignIn": 50
        }));
        assert_eq!(ids(&found), ["T-1", "T-2", "T-3"]);
        // What is left of T-1 is its `not`; of T-3, nothing; T-2 whole.
        let rest = |id: &str| found.iter().find(|(i, _)| i == id).map(|(_, r)| r.clone());
        let t1 = rest("T-1").unwrap_or_default();
        assert!(t1.starts_with("All([Not(") && t1.contains("clientAppUsed"));
        assert!(!t1.contains("appDisplayName") && !t1.contains("errorCode"));
        assert_eq!(rest("T-3").as_deref(), Some("All([])"));
        assert!(rest("T-2").unwrap_or_default().contains("Any("));

        let found = candidates(json!({
            "appDisplayName": "Outlook", "status": {"errorCode": 0},
            "isInteractive": false, "riskLevelDuringSignIn": "high"
        }));
        assert_eq!(ids(&found), ["T-2"]);
        // A required field that is absent rules its rule out too.
        assert_eq!(
            ids(&candidates(json!({"appDisplayName": "My Apps"}))),
            ["T-2"]
        );
    }
}
