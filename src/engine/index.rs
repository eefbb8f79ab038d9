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
//! conditions: what is left of it is evaluated as without the index, except
//! that its other tests of a record field against a set (under `any` or
//! `not`: `not: { crossTenantAccessType: [passthrough, ...] }`) are
//! conditions of the index too, answered by the same lookup of the field's
//! values instead of one lookup per rule. So are the text patterns in what
//! is left (`contains`, `startsWith`, `endsWith`, `matches`, each one
//! regex): those of all rules on one field run as one [`RegexSet`] over
//! each of the field's values, the first time a rule asks, which tells
//! every pattern that matches in one pass. And an `any` quantifier over a
//! list requires of the record the sets its element requires, read along
//! the path through the list ([`hoist`]), so a rule made of one is not
//! evaluated on a record where no element can hold. `tests/differential.rs`
//! compares the two on every record it reads.

use std::borrow::Cow;

use regex::{Regex, RegexSet, RegexSetBuilder};

use crate::catalog::FieldPath;
use crate::check::Quantifier;
use crate::check::pattern::REGEX_SIZE_LIMIT;
use crate::compile::{Constants, Matcher, Node, Test, ValueSet, text};
use crate::eval::{self, Scope};
use crate::record::LogCategory;

/// The sets of a rule set's rules, by field: those each rule requires and
/// those in what is left of it.
#[derive(Debug, Default)]
pub(super) struct RuleIndex {
    /// One per field (and way of comparing text) some set is on.
    fields: Vec<FieldSets>,
    /// One per field some text pattern is on.
    patterns: Vec<FieldPatterns>,
    /// For each rule, in order, its required conditions, and its condition
    /// without them.
    rules: Vec<(Box<[Need]>, Rest)>,
    /// How many conditions there are, in all rules.
    conditions: usize,
    /// For each condition, the single-record rules whose first required
    /// condition it is.
    anchored: Vec<Box<[u32]>>,
    /// For each log a rule can read ([`log_number`]), the single-record
    /// rules that read it.
    by_log: [Anchors; LOGS],
}

/// The logs rules name ([`LogCategory::RULE_NAMES`]).
const LOGS: usize = 5;

/// The single-record rules that read one log, and how to tell which of them
/// a record of it can match.
#[derive(Debug, Default)]
struct Anchors {
    /// The rules that read the log.
    reads: Vec<u64>,
    /// Those of them that require nothing: each may match any record.
    free: Vec<u64>,
    /// The fields of the first required condition of the others, looked up
    /// in every record of the log: a rule whose first required condition
    /// holds is a candidate ([`RuleIndex::candidates`]).
    fields: Box<[u32]>,
}

/// A condition of the index: the number of its field, then its own.
type Need = (u32, u32);

/// What is left of a rule once its required conditions hold.
#[derive(Debug)]
enum Rest {
    /// Evaluated as it is.
    Node(Node),
    /// Every one holds.
    All(Box<[Rest]>),
    /// Some one holds.
    Any(Box<[Rest]>),
    /// It does not hold.
    Not(Box<Rest>),
    /// A test of a record field against a set: a condition of the index.
    Set(Need),
    /// A test that a record field has a value outside a set: the
    /// condition of the index that a value is in it, and the test.
    NotIn(Need, Node),
    /// A test of a record field against a text pattern: a condition of the
    /// index, its field numbered among the fields of patterns.
    Pattern(Need),
}

/// The sets on one field.
#[derive(Debug)]
struct FieldSets {
    /// The first condition read on the field: where its values are.
    test: Test,
    /// Each constant, with the conditions whose set holds it.
    constants: Constants<Vec<u32>>,
}

/// The text patterns on one field.
#[derive(Debug)]
struct FieldPatterns {
    /// The first test read on the field: where its values are.
    test: Test,
    /// Each pattern, in the order of their conditions.
    patterns: Vec<Pattern>,
    /// All of them at once: built when there are two or more and their
    /// union is within the size limit (else each runs alone).
    set: Option<RegexSet>,
}

/// A text pattern of the index.
#[derive(Debug)]
struct Pattern {
    /// The regex, built with the case rule below.
    regex: Regex,
    case_sensitive: bool,
    /// Its condition.
    condition: u32,
}

/// What the index knows of one record: the fields looked up, the
/// conditions that hold.
pub(super) struct Hits {
    /// The single-record rules whose first required condition holds.
    anchored: Bits,
    fields: Bits,
    /// The fields looked up that have one value, and more than one.
    one: Bits,
    many: Bits,
    /// The fields of patterns whose values were run through their set.
    patterns: Bits,
    conditions: Bits,
}

/// A set of small numbers, on the stack up to 1,024.
enum Bits {
    Small([u64; 16]),
    Large(Vec<u64>),
}

impl RuleIndex {
    /// The index of the conditions of the single-record rules `rules`
    /// (with the logs each reads), then of `steps`: rule `i` of the index
    /// is the `i`th of them all. Their record-level tests are interned
    /// ([`crate::compile::intern_tops`]).
    pub(super) fn new<'a>(
        rules: impl IntoIterator<Item = (&'a Node, &'a [LogCategory])>,
        steps: impl IntoIterator<Item = &'a Node>,
    ) -> RuleIndex {
        let mut index = RuleIndex::default();
        let mut logs = Vec::new();
        for (root, reads) in rules {
            index.push(root);
            logs.push(reads);
        }
        for root in steps {
            index.push(root);
        }
        let mut anchored = vec![Vec::new(); index.conditions];
        let words = logs.len().div_ceil(64);
        for (number, anchors) in index.by_log.iter_mut().enumerate() {
            anchors.reads = vec![0; words];
            anchors.free = vec![0; words];
            let mut fields = Vec::new();
            for (rule, reads) in logs.iter().enumerate() {
                if !reads.iter().any(|log| log_number(log) == Some(number)) {
                    continue;
                }
                set_bit(&mut anchors.reads, rule);
                match index.rules.get(rule).and_then(|(needs, _)| needs.first()) {
                    None => set_bit(&mut anchors.free, rule),
                    Some(&(field, _)) => {
                        if !fields.contains(&field) {
                            fields.push(field);
                        }
                    }
                }
            }
            anchors.fields = fields.into_boxed_slice();
        }
        for (rule, (needs, _)) in index.rules.iter().enumerate().take(logs.len()) {
            if let Some(rules) = needs
                .first()
                .and_then(|&(_, id)| anchored.get_mut(id as usize))
            {
                rules.push(rule as u32);
            }
        }
        index.anchored = anchored.into_iter().map(Vec::into_boxed_slice).collect();
        for field in &mut index.patterns {
            field.set = pattern_set(&field.patterns);
        }
        index
    }

    /// Adds the next rule (or step) of the index.
    fn push(&mut self, root: &Node) {
        let mut needs = Vec::new();
        let rest = split(root, &mut |test, set| needs.push(self.add(&test, set)));
        let rest = self.rest_of(rest);
        self.rules.push((needs.into_boxed_slice(), rest));
    }

    /// Calls `f`, in order, with each single-record rule that reads `log`
    /// and may hold on the record of `scope`: those that require nothing,
    /// and those whose first required condition holds (every field of
    /// such a condition is looked up first). A rule left out does not
    /// hold; whether one given does is [`RuleIndex::holds`].
    #[inline]
    pub(super) fn candidates(
        &self,
        log: &LogCategory,
        scope: Scope<'_>,
        hits: &mut Hits,
        f: &mut impl FnMut(usize, &mut Hits),
    ) {
        let Some(anchors) = log_number(log).and_then(|n| self.by_log.get(n)) else {
            return;
        };
        for &field in &anchors.fields {
            self.look_up(field, scope, hits);
        }
        // Rules evaluated may look up more fields: those mark only rules
        // of other logs (the first fields of this log's are looked up).
        for (w, (&reads, &free)) in anchors.reads.iter().zip(&anchors.free).enumerate() {
            let anchored = hits.anchored.words().get(w).copied().unwrap_or(0);
            let mut word = reads & (free | anchored);
            while word != 0 {
                let bit = word.trailing_zeros() as usize;
                word &= word - 1;
                f(w * 64 + bit, hits);
            }
        }
    }

    /// A new condition's number.
    fn condition(&mut self) -> u32 {
        let id = self.conditions as u32;
        self.conditions += 1;
        id
    }

    /// Adds the condition that `test`'s values hold one of `set`.
    fn add(&mut self, test: &Test, set: &ValueSet) -> Need {
        let id = self.condition();
        let case_sensitive = set.case_sensitive();
        let (at, field) = entry(
            &mut self.fields,
            |f| reads_alike(&f.test, test) && f.constants.case_sensitive() == case_sensitive,
            || FieldSets {
                test: test.clone(),
                constants: Constants::new(case_sensitive),
            },
        );
        for c in set.constants() {
            field.constants.entry(c, Vec::new).push(id);
        }
        (at, id)
    }

    /// Adds the condition that a value of `test`'s field matches `regex`.
    fn add_pattern(&mut self, test: &Test, regex: &Regex, case_sensitive: bool) -> Need {
        let condition = self.condition();
        let (at, field) = entry(
            &mut self.patterns,
            |f| reads_alike(&f.test, test),
            || FieldPatterns {
                test: test.clone(),
                patterns: Vec::new(),
                set: None,
            },
        );
        field.patterns.push(Pattern {
            regex: regex.clone(),
            case_sensitive,
            condition,
        });
        (at, condition)
    }

    /// `node` with its tests of a record field against a set or a text
    /// pattern (those not inside a quantifier) made conditions of the
    /// index.
    fn rest_of(&mut self, node: Node) -> Rest {
        if !has_index_test(&node) {
            return Rest::Node(node);
        }
        match node {
            Node::All(children) => {
                Rest::All(children.into_iter().map(|c| self.rest_of(c)).collect())
            }
            Node::Any(children) => {
                Rest::Any(children.into_iter().map(|c| self.rest_of(c)).collect())
            }
            Node::Not(child) => Rest::Not(Box::new(self.rest_of(*child))),
            Node::Test(test) => match &test.matcher {
                Matcher::In(set) if test.top.is_some() => Rest::Set(self.add(&test, set)),
                Matcher::Regex {
                    regex,
                    case_sensitive,
                } if test.top.is_some() => {
                    Rest::Pattern(self.add_pattern(&test, regex, *case_sensitive))
                }
                Matcher::NotIn(set) if test.top.is_some() => {
                    let need = self.add(&test, set);
                    Rest::NotIn(need, Node::Test(test))
                }
                _ => Rest::Node(Node::Test(test)),
            },
            other => Rest::Node(other),
        }
    }

    /// Room for what the index learns of one record.
    pub(super) fn hits(&self) -> Hits {
        Hits {
            anchored: Bits::new(self.by_log.first().map_or(0, |a| a.reads.len() * 64)),
            fields: Bits::new(self.fields.len()),
            one: Bits::new(self.fields.len()),
            many: Bits::new(self.fields.len()),
            patterns: Bits::new(self.patterns.len()),
            conditions: Bits::new(self.conditions),
        }
    }

    /// Whether rule number `rule` holds on the record of `scope`: its
    /// required conditions first, then what is left of it. Looks up the
    /// fields of its conditions that no rule asked about yet, marking in
    /// `hits` every condition on them that holds.
    #[inline]
    pub(super) fn holds(&self, rule: usize, scope: Scope<'_>, hits: &mut Hits) -> bool {
        self.required(rule, scope, hits)
            .is_some_and(|rest| self.rest_holds(rest, scope, hits))
    }

    /// What is left of rule number `rule` when its required conditions
    /// hold on the record of `scope`; `None` when one does not.
    #[inline]
    fn required(&self, rule: usize, scope: Scope<'_>, hits: &mut Hits) -> Option<&Rest> {
        let (needs, rest) = self.rules.get(rule)?;
        needs
            .iter()
            .all(|&need| self.hit(need, scope, hits))
            .then_some(rest)
    }

    /// Whether a condition of the index holds.
    #[inline]
    fn hit(&self, (field, id): Need, scope: Scope<'_>, hits: &mut Hits) -> bool {
        self.look_up(field, scope, hits);
        hits.conditions.contains(id)
    }

    /// Looks up the values of field number `field`, unless done already.
    #[inline]
    fn look_up(&self, field: u32, scope: Scope<'_>, hits: &mut Hits) {
        if !hits.fields.contains(field) {
            hits.fields.insert(field);
            self.mark(field, scope, hits);
        }
    }

    fn rest_holds(&self, rest: &Rest, scope: Scope<'_>, hits: &mut Hits) -> bool {
        match rest {
            Rest::Node(node) => eval::matches(node, scope),
            Rest::All(children) => children.iter().all(|c| self.rest_holds(c, scope, hits)),
            Rest::Any(children) => children.iter().any(|c| self.rest_holds(c, scope, hits)),
            Rest::Not(child) => !self.rest_holds(child, scope, hits),
            Rest::Set(need) => self.hit(*need, scope, hits),
            // Some value is outside the set: with one value, told by the
            // index; with more, by the test itself.
            Rest::NotIn((field, id), test) => {
                self.look_up(*field, scope, hits);
                if hits.many.contains(*field) {
                    eval::matches(test, scope)
                } else {
                    hits.one.contains(*field) && !hits.conditions.contains(*id)
                }
            }
            Rest::Pattern(need) => self.pattern_hit(*need, scope, hits),
        }
    }

    /// Whether a value of a field matches the pattern of condition `id`:
    /// told by running the field's set over its values, once a record,
    /// or by that pattern alone where the field has no set.
    fn pattern_hit(&self, (number, id): Need, scope: Scope<'_>, hits: &mut Hits) -> bool {
        let Some(field) = self.patterns.get(number as usize) else {
            return false;
        };
        let Some(set) = &field.set else {
            let at = (field.patterns).binary_search_by_key(&id, |p| p.condition);
            return at
                .ok()
                .and_then(|at| field.patterns.get(at))
                .is_some_and(|p| {
                    eval::visit_test(&field.test, scope, &mut |v| {
                        text(v).is_some_and(|t| p.regex.is_match(&t))
                    })
                });
        };
        if !hits.patterns.contains(number) {
            hits.patterns.insert(number);
            eval::visit_test(&field.test, scope, &mut |v| {
                if let Some(t) = text(v) {
                    for i in set.matches(&t).iter() {
                        if let Some(p) = field.patterns.get(i) {
                            hits.conditions.insert(p.condition);
                        }
                    }
                }
                false
            });
        }
        hits.conditions.contains(id)
    }

    /// Marks the conditions on field number `field` that hold on a record.
    fn mark(&self, number: u32, scope: Scope<'_>, hits: &mut Hits) {
        let Some(field) = self.fields.get(number as usize) else {
            return;
        };
        let mut values = 0usize;
        eval::visit_test(&field.test, scope, &mut |v| {
            values += 1;
            for &id in field.constants.get(v).into_iter().flatten() {
                hits.conditions.insert(id);
                for &rule in self.anchored.get(id as usize).into_iter().flatten() {
                    hits.anchored.insert(rule);
                }
            }
            false
        });
        match values {
            0 => {}
            1 => hits.one.insert(number),
            _ => hits.many.insert(number),
        }
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

/// The number of a log rules can read, in [`LogCategory::RULE_NAMES`].
fn log_number(log: &LogCategory) -> Option<usize> {
    match log {
        LogCategory::Interactive => Some(0),
        LogCategory::NonInteractive => Some(1),
        LogCategory::ServicePrincipal => Some(2),
        LogCategory::ManagedIdentity => Some(3),
        LogCategory::GraphActivity => Some(4),
        LogCategory::Other(_) => None,
    }
}

fn set_bit(words: &mut [u64], n: usize) {
    if let Some(w) = words.get_mut(n / 64) {
        *w |= 1 << (n % 64);
    }
}

/// The entry of `entries` that is `alike`, or a `new` one added last, and
/// its number.
fn entry<T>(
    entries: &mut Vec<T>,
    alike: impl Fn(&T) -> bool,
    new: impl FnOnce() -> T,
) -> (u32, &mut T) {
    let at = match entries.iter().position(alike) {
        Some(at) => at,
        None => {
            entries.push(new());
            entries.len() - 1
        }
    };
    match entries.get_mut(at) {
        Some(entry) => (at as u32, entry),
        None => unreachable!("found or added above"),
    }
}

/// Whether two tests read the same values of a record: the same path, read
/// the same way.
fn reads_alike(a: &Test, b: &Test) -> bool {
    a.path == b.path && a.as_text == b.as_text
}

/// The set of `patterns`, with the size limit of one rule's pattern;
/// `None` for fewer than two, or a union over the limit. Each regex was
/// built with its case rule as a setting; in the set, that rule is a flag
/// of a group around it.
fn pattern_set(patterns: &[Pattern]) -> Option<RegexSet> {
    if patterns.len() < 2 {
        return None;
    }
    let written = patterns.iter().map(|p| {
        let flag = if p.case_sensitive { "-i" } else { "i" };
        format!("(?{flag}:{})", p.regex.as_str())
    });
    RegexSetBuilder::new(written)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .build()
        .ok()
}

/// Whether `node` has a test of a record field against a set or a text
/// pattern outside any quantifier.
fn has_index_test(node: &Node) -> bool {
    match node {
        Node::All(children) | Node::Any(children) => children.iter().any(has_index_test),
        Node::Not(child) => has_index_test(child),
        Node::Test(test) => {
            matches!(
                test.matcher,
                Matcher::In(_) | Matcher::NotIn(_) | Matcher::Regex { .. }
            ) && test.top.is_some()
        }
        Node::Compare(_) | Node::Quant { .. } => false,
    }
}

/// Calls `f` on each test of a record's own fields that must hold for
/// `node` to hold and that asks for a value in a set (the tests of `node`
/// itself and of its `all` children, not those under `any` or `not`), and
/// gives `node` without them: when they hold, it holds exactly when `node`
/// does. An `any` quantifier among them stays in `node`, and gives `f`
/// the tests it requires of every element it holds on ([`hoist`]).
fn split<'a>(node: &'a Node, f: &mut impl FnMut(Cow<'a, Test>, &'a ValueSet)) -> Node {
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
                f(Cow::Borrowed(test), set);
                // `all` of nothing holds.
                Node::All(Box::new([]))
            }
            _ => node.clone(),
        },
        Node::Quant {
            quantifier: Quantifier::Any,
            path,
            inner,
            ..
        } => {
            hoist(path, inner, f);
            node.clone()
        }
        other => other.clone(),
    }
}

/// Calls `f` with tests of the record that hold whenever some element of
/// the list at `list` holds `inner`: for each test of a field of the
/// element that `inner` requires (itself, its `all` children, the same
/// within an `any` quantifier of the element) and that asks for a value in
/// a set, the same test of the path through the list. That path reads the
/// field in every element (and in every list the walk meets, where the
/// quantifier reads only the list at its own path), so it sees every value
/// the element's test sees, and more: when it fails, no element holds.
/// Paths of `raw.` keys and tests of values as JSON text are left out.
fn hoist<'a>(list: &FieldPath, inner: &'a Node, f: &mut impl FnMut(Cow<'a, Test>, &'a ValueSet)) {
    let through = |path: &FieldPath| {
        FieldPath::new(
            list.segments().iter().chain(path.segments()).cloned(),
            false,
        )
    };
    match inner {
        _ if list.is_raw() => {}
        Node::All(children) => children.iter().for_each(|c| hoist(list, c, f)),
        Node::Test(test) if test.path.is_raw() || test.as_text => {}
        Node::Test(test) => {
            if let Matcher::In(set) = &test.matcher {
                let path = through(&test.path);
                f(
                    Cow::Owned(Test {
                        path,
                        top: None,
                        ..Test::clone(test)
                    }),
                    set,
                );
            }
        }
        Node::Quant {
            quantifier: Quantifier::Any,
            path,
            inner,
            ..
        } if !path.is_raw() && !path.segments().is_empty() => hoist(&through(path), inner, f),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::engine::{Loader, RuleSet};

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
---
id: T-4
title: a value outside a set, on a field of one value
severity: low
match:
  location.countryOrRegion: { notIn: [FR, DE] }
---
id: T-5
title: a value outside a set, on a list
severity: low
match:
  signInEventTypes: { notIn: [interactiveUser] }
"#;

    /// The rules a record may match, by id, and what is left of each.
    fn candidates(record: serde_json::Value) -> Vec<(String, String)> {
        let mut loader = Loader::new();
        loader.add_source("rules.yaml", RULES);
        let set = loader
            .load()
            .unwrap_or_else(|_| unreachable!("the rules load"));
        let record = crate::ingest::normalize(record).unwrap_or_else(|_| unreachable!());
        let tops = eval::Tops::new(&set.tops, &record.fields);
        let scope = Scope::Record(&record.fields, Some(&tops));
        let mut hits = set.index.hits();
        (set.rules.iter().enumerate())
            .filter_map(|(i, rule)| {
                let rest = set.index.required(i, scope, &mut hits)?;
                let holds = set.index.rest_holds(rest, scope, &mut hits);
                Some((rule.info.id.to_string(), format!("{holds} {rest:?}")))
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
        assert_eq!(ids(&found), ["T-1", "T-2", "T-3", "T-4", "T-5"]);
        // What is left of T-1 is its `not`, answered by the index too; of
        // T-3, nothing; T-2 whole, its set answered by the index and its
        // range evaluated.
        let rest = |id: &str| found.iter().find(|(i, _)| i == id).map(|(_, r)| r.clone());
        let t1 = rest("T-1").unwrap_or_default();
        assert!(t1.starts_with("true All([Not(Set("), "{t1}");
        assert!(!t1.contains("appDisplayName") && !t1.contains("errorCode"));
        assert_eq!(rest("T-3").as_deref(), Some("true Node(All([]))"));
        let t2 = rest("T-2").unwrap_or_default();
        assert!(
            t2.starts_with("true Any([Set(") && t2.contains("ipAddress"),
            "{t2}"
        );
        // No value is outside a set of none.
        assert!(rest("T-4").is_some_and(|r| r.starts_with("false NotIn(")));

        let found = candidates(json!({
            "appDisplayName": "Outlook", "status": {"errorCode": 0},
            "isInteractive": false, "riskLevelDuringSignIn": "high"
        }));
        assert_eq!(ids(&found), ["T-2", "T-4", "T-5"]);
        // A required field that is absent rules its rule out too.
        assert_eq!(
            ids(&candidates(json!({"appDisplayName": "My Apps"}))),
            ["T-2", "T-4", "T-5"]
        );
    }

    #[test]
    fn patterns_on_one_field_run_together_as_each_alone() {
        // Text patterns on three fields, with and without case, on text and
        // on a list; each rule as the index tells it and as its own
        // condition does.
        let rules = r#"
id: P-1
title: contains, ignoring case
severity: low
match:
  userAgent: { contains: [python, "CURL/"] }
---
id: P-2
title: contains, with case
severity: low
match:
  userAgent: { contains: Python, caseSensitive: true }
---
id: P-3
title: a regex, with case
severity: low
match:
  userAgent: { matches: "^Mozilla/[0-9]", caseSensitive: true }
---
id: P-4
title: ends with, under not
severity: low
match:
  not:
    userAgent: { endsWith: "(KHTML)" }
---
id: P-5
title: one pattern alone on its field
severity: low
match:
  appDisplayName: { startsWith: "azure " }
---
id: P-6
title: patterns on a list
severity: low
match:
  any:
    - signInEventTypes: { startsWith: nonInteractive }
    - signInEventTypes: { endsWith: "User", caseSensitive: true }
"#;
        let set = load(rules);
        assert_eq!(set.index.patterns.len(), 3);
        assert!(
            set.index
                .patterns
                .iter()
                .filter(|f| f.set.is_some())
                .count()
                == 2
        );
        let records = [
            json!({"userAgent": "python-requests/2.31", "signInEventTypes": ["interactiveUser"]}),
            json!({"userAgent": "Python-urllib/3.11", "appDisplayName": "Azure Portal"}),
            json!({"userAgent": "Mozilla/5.0 (KHTML)", "signInEventTypes": ["NONINTERACTIVEUSER"]}),
            json!({"userAgent": "mozilla/5.0 (khtml)", "signInEventTypes": ["x", "nonInteractiveuser"]}),
            json!({"userAgent": "curl/8.1", "appDisplayName": "azure"}),
            json!({"appDisplayName": "AZURE CLI", "signInEventTypes": []}),
        ];
        // Neither always nor never.
        let held = held_as_alone(&set, records);
        assert!((8..30).contains(&held), "{held}");
    }

    #[test]
    fn what_an_element_requires_rules_out_a_record_where_no_element_has_it() {
        let rules = r#"
id: Q-1
title: an element with two fields
severity: low
match:
  appliedConditionalAccessPolicies:
    any:
      displayName: [Block legacy, Require MFA]
      result: failure
---
id: Q-2
title: an element with one field or another
severity: low
match:
  appliedConditionalAccessPolicies:
    any:
      any:
        - displayName: Block legacy
        - result: failure
---
id: Q-3
title: every element, none of them
severity: low
match:
  all:
    - appliedConditionalAccessPolicies: { all: { result: success } }
    - authenticationDetails: { none: { succeeded: false } }
---
id: Q-4
title: an element of an element
severity: low
match:
  appliedConditionalAccessPolicies:
    any:
      enforcedGrantControls: { any: { in: [Mfa] } }
---
id: Q-5
title: scalars of a list
severity: low
match:
  signInEventTypes: { any: { in: [interactiveUser] } }
"#;
        let set = load(rules);
        // Q-1, Q-4 and Q-5 are told by the index, Q-2 and Q-3 not.
        let required: Vec<bool> = (set.index.rules.iter())
            .map(|(needs, _)| !needs.is_empty())
            .collect();
        assert_eq!(required, [true, false, false, true, true]);
        let policy = |name: &str, result: &str, grants: serde_json::Value| json!({"displayName": name, "result": result, "enforcedGrantControls": grants});
        let records = [
            json!({"appliedConditionalAccessPolicies": [
                policy("Block legacy", "success", json!(["Block"])),
                policy("Other", "failure", json!("Mfa")),
            ], "signInEventTypes": "interactiveUser"}),
            json!({"appliedConditionalAccessPolicies": [
                policy("require mfa", "FAILURE", json!(["mfa"])),
            ], "authenticationDetails": [{"succeeded": true}]}),
            json!({"appliedConditionalAccessPolicies": policy("Block legacy", "failure", json!([])),
                "signInEventTypes": ["x", "interactiveUser"]}),
            json!({"appliedConditionalAccessPolicies": [],
                "authenticationDetails": [{"succeeded": false}]}),
            json!({"appliedConditionalAccessPolicies":
                [[policy("Require MFA", "failure", json!(null))]]}),
            json!({"appliedConditionalAccessPolicies": "Block legacy"}),
            json!({}),
        ];
        let held = held_as_alone(&set, records);
        assert!((6..30).contains(&held), "{held}");
    }

    fn load(rules: &str) -> RuleSet {
        let mut loader = Loader::new();
        loader.add_source("rules.yaml", rules);
        loader
            .load()
            .unwrap_or_else(|_| unreachable!("the rules load"))
    }

    /// How many times a rule of `set` holds on one of `records`, each as
    /// the index tells it and as its own condition does, which must agree.
    fn held_as_alone(set: &RuleSet, records: impl IntoIterator<Item = serde_json::Value>) -> usize {
        let mut held = 0;
        for record in records {
            let record = crate::ingest::normalize(record).unwrap_or_else(|_| unreachable!());
            let tops = eval::Tops::new(&set.tops, &record.fields);
            let scope = Scope::Record(&record.fields, Some(&tops));
            let mut hits = set.index.hits();
            for (i, rule) in set.rules.iter().enumerate() {
                let indexed = set.index.holds(i, scope, &mut hits);
                let alone = eval::matches(&rule.root, Scope::Record(&record.fields, None));
                assert_eq!(indexed, alone, "{} on {:?}", rule.info.id, record.fields);
                held += usize::from(indexed);
            }
        }
        held
    }

    #[test]
    fn a_value_outside_a_set_is_told_on_one_value_and_on_many() {
        let holds = |record: serde_json::Value, id: &str| {
            let found = candidates(record);
            let rest = found.into_iter().find(|(i, _)| i == id).map(|(_, r)| r);
            // The rule requires nothing: it is always a candidate.
            assert!(rest.is_some(), "{id} is a candidate");
            rest.is_some_and(|r| r.starts_with("true"))
        };
        let country = |c: &str| json!({"appDisplayName": "x", "location": {"countryOrRegion": c}});
        assert!(!holds(country("FR"), "T-4"));
        assert!(!holds(country("de"), "T-4"));
        assert!(holds(country("US"), "T-4"));
        let types = |t: serde_json::Value| json!({"appDisplayName": "x", "signInEventTypes": t});
        assert!(!holds(types(json!(["interactiveUser"])), "T-5"));
        assert!(holds(types(json!(["nonInteractiveUser"])), "T-5"));
        assert!(holds(
            types(json!(["interactiveUser", "nonInteractiveUser"])),
            "T-5"
        ));
        assert!(!holds(
            types(json!(["interactiveUser", "InteractiveUser"])),
            "T-5"
        ));
        assert!(!holds(types(json!([])), "T-5"));
    }
}
