//! The `sequence:` key → [`Sequence`]: its steps (name, logs, key,
//! `match`, `count`, `absent`, `where`, `travel`) and that their keys line
//! up.

use crate::catalog::{Field, Resolved};
use crate::check::model::{Cond, CountCmp, Sequence, Step, Threshold};
use crate::check::refs::{WhereScope, comparable, type_of};
use crate::check::{RuleCx, find, wrong_type};
use crate::diag::Code;
use crate::record::LogCategory;
use crate::syntax::Node;

/// The keys of `sequence:`.
pub const SEQUENCE_KEYS: &[&str] = &["groupBy", "span", "ordered", "caseSensitive", "steps"];
/// The keys of a sequence step.
pub const STEP_KEYS: &[&str] = &[
    "name", "logs", "by", "match", "count", "absent", "where", "travel",
];
/// Most steps of a sequence (the engine keeps a step set in 63 bits).
pub const MAX_STEPS: usize = 63;
/// Names a step cannot have: message placeholders start with them
/// (`travel` only in a sequence where a step travels).
const RESERVED_STEP_NAMES: &[&str] = &["count", "window", "distinct"];

impl RuleCx<'_> {
    /// Reads `sequence:`. `rule_match` is the rule's own `match`, ANDed into
    /// every step; `rule_logs` the rule's logs, the steps' default.
    pub(in crate::check) fn sequence(
        &mut self,
        n: &Node,
        rule_logs: &[LogCategory],
        rule_match: Option<&Cond>,
    ) -> Option<Sequence> {
        let entries = self.mapping(n, "sequence", "`groupBy`, `span`, `steps`")?;
        self.known_keys(entries, SEQUENCE_KEYS, "sequence");
        let group_node = find(entries, "groupBy");
        // `groupBy` resolves in the catalog of each step that uses it,
        // once per catalog.
        let mut group_keys: Vec<(&'static [Field], Option<Vec<Resolved>>)> = Vec::new();
        let span = self.required_span(entries, n, "sequence");
        let ordered = self.flag(entries, "ordered", true);
        let case_sensitive = self.flag(entries, "caseSensitive", false);
        let Some(steps_node) = find(entries, "steps") else {
            self.err(
                Code::MissingKey
                    .error(n.span.clone(), "sequence has no `steps`")
                    .label("this sequence")
                    .help("add `steps:` with a `- name: ...` and `match: ...` for each step"),
            );
            return None;
        };
        let Some(items) = steps_node.seq() else {
            self.err(wrong_type(
                steps_node,
                format!(
                    "`steps` must be a list of steps, not {}",
                    steps_node.describe()
                ),
                "expected a list",
            ));
            return None;
        };
        if items.len() > MAX_STEPS {
            self.err(
                Code::BadStep
                    .error(
                        steps_node.span.clone(),
                        format!("a sequence has at most {MAX_STEPS} steps"),
                    )
                    .label(format!("{} steps", items.len()))
                    .help("split the sequence into several rules"),
            );
        }
        if items.len() < 2 {
            self.err(
                Code::BadStep
                    .error(
                        steps_node.span.clone(),
                        "a sequence needs two steps or more",
                    )
                    .label("one step")
                    .help("a count of one kind of record in a time span is a `window`"),
            );
        }
        // Names first, so a `where` can name any step (and be told which
        // are earlier).
        let mut names: Vec<(String, &'static [Field], bool)> = Vec::new();
        let mut heads = Vec::new();
        let travels = items.iter().any(|item| {
            item.map()
                .is_some_and(|step| find(step, "travel").is_some())
        });
        for (i, item) in items.iter().enumerate() {
            let Some(step) = item.map() else {
                self.err(wrong_type(
                    item,
                    format!("a step must be a mapping, not {}", item.describe()),
                    "expected `name`, `match`, ...",
                ));
                return None;
            };
            self.known_keys(step, STEP_KEYS, "step");
            let name = self.step_name(step, item, &names, i, travels);
            let logs = find(step, "logs").map_or_else(|| rule_logs.to_vec(), |l| self.logs(l));
            let fields = match find(step, "logs") {
                Some(l) => self.catalog_of(&logs, l),
                None => self.root,
            };
            let absent = self.flag(step, "absent", false);
            names.push((name.clone().unwrap_or_default(), fields, absent));
            heads.push((step, item, name, logs, fields, absent));
        }
        if !names.is_empty() && names.iter().all(|(_, _, absent)| *absent) {
            self.err(
                Code::BadStep
                    .error(steps_node.span.clone(), "every step of the sequence is absent")
                    .label("nothing to anchor the absence")
                    .help("a sequence needs a step that is present; `absent: true` marks the step that must not occur"),
            );
        }
        let mut steps = Vec::new();
        let mut ok = true;
        for (i, (step, item, name, logs, fields, absent)) in heads.into_iter().enumerate() {
            let span = find(step, "name").map_or_else(|| item.span.clone(), |n| n.span.clone());
            let name_text = name.clone().unwrap_or_else(|| format!("{}", i + 1));
            let by = match find(step, "by") {
                Some(b) => self.key_fields(b, fields, "by").map(Some),
                None => Some(None),
            };
            let key = match (&by, group_node) {
                (Some(Some(by)), _) => Some(by.clone()),
                (Some(None), Some(g)) => match group_keys.iter().find(|(f, _)| *f == fields) {
                    Some((_, key)) => key.clone(),
                    None => {
                        let key = self.key_fields(g, fields, "groupBy");
                        group_keys.push((fields, key.clone()));
                        key
                    }
                },
                (Some(None), None) => {
                    self.err(
                        Code::BadStep
                            .error(span.clone(), format!("step `{name_text}` has no key"))
                            .label("no `by` here and no `groupBy` in the sequence")
                            .help("add `groupBy: [FIELD]` to the sequence, or `by: [FIELD]` to every step"),
                    );
                    None
                }
                (None, _) => None,
            };
            let cond = match find(step, "match") {
                Some(m) => self.condition(m, fields, 0).inspect(|c| self.lint(c)),
                None => Some(Cond::All(Vec::new())),
            };
            let cond = match (cond, rule_match) {
                (Some(_), Some(_)) if fields != self.root => {
                    self.err(
                        Code::MixedLogs
                            .error(span.clone(), format!("the rule's `match` names fields of another log than step `{name_text}` reads"))
                            .label("a step of other logs")
                            .help("move the rule's `match` into the steps' own `match`"),
                    );
                    None
                }
                (Some(c), Some(r)) => Some(Cond::All(vec![r.clone(), c])),
                (None, _) => None,
                (c, None) => c,
            };
            let count_node = find(step, "count");
            let count = match count_node {
                Some(c) => self.threshold(c, "count"),
                None => Some(Threshold {
                    cmp: CountCmp::Gte,
                    value: 1,
                    span: span.clone(),
                }),
            };
            if !absent
                && let (Some(c), Some(t)) = (count_node, &count)
                && t.at_least().is_none_or(|n| n == 0)
            {
                self.err(
                    Code::BadThreshold
                        .error(c.span.clone(), format!("step `{name_text}` must count one record at least"))
                        .label("a step counts a least number of records")
                        .help("write `count: { gte: N }` or `{ gt: N }` with N of 1 or more (`gt: 0` at least); a step that must not occur is `absent: true`"),
                );
                ok = false;
            }
            if absent
                && let (Some(c), Some(t)) = (count_node, &count)
                && !(t.value == 1 && matches!(t.cmp, CountCmp::Gte | CountCmp::Eq))
            {
                self.err(
                    Code::BadStep
                        .error(c.span.clone(), format!("absent step `{name_text}` has a count"))
                        .label("an absent step counts nothing")
                        .help("remove `count`: an absent step holds when no record of it lies within the span"),
                );
                ok = false;
            }
            let where_ = match find(step, "where") {
                Some(w) => {
                    self.where_scope = Some(WhereScope {
                        steps: names.clone(),
                        current: i,
                    });
                    let c = self.condition(w, fields, 0);
                    self.where_scope = None;
                    // The engine decides a `where` one pair of records
                    // (this step's, an earlier step's) at a time.
                    if let Some(c) = &c {
                        for part in c.conjuncts() {
                            let read = part.steps_read();
                            if read.len() > 1 {
                                self.err(
                                    Code::BadFieldRef
                                        .error(
                                            crate::check::lints::span_of(part),
                                            format!(
                                                "one condition of the `where` reads steps `{}`",
                                                read.join("` and `")
                                            ),
                                        )
                                        .label("several earlier steps in one condition")
                                        .help("compare with one earlier step per condition, and AND the conditions"),
                                );
                                ok = false;
                            }
                        }
                    }
                    c.map(Some)
                }
                None => Some(None),
            };
            let travel = match step.iter().find(|(k, _)| k.text() == Some("travel")) {
                Some((k, t)) => self.travel(k, t, &names, i, fields).map(Some),
                None => Some(None),
            };
            match (name, by, key, cond, count, where_, travel) {
                (
                    Some(name),
                    Some(by),
                    Some(key),
                    Some(cond),
                    Some(count),
                    Some(where_),
                    Some(travel),
                ) => steps.push(Step {
                    name,
                    logs,
                    by,
                    key,
                    cond,
                    count,
                    absent,
                    where_,
                    travel,
                    span,
                }),
                _ => ok = false,
            }
        }
        if ok {
            self.same_keys(&steps);
        }
        // The sequence's `groupBy` as its first step to use it reads it.
        let group_by = match group_node {
            Some(g) => match group_keys.into_iter().next() {
                Some((_, key)) => Some(key?),
                None => Some(self.key_fields(g, self.root, "groupBy")?),
            },
            None => None,
        };
        let span = span?;
        ok.then_some(Sequence {
            group_by,
            span,
            ordered,
            case_sensitive,
            steps,
        })
    }

    /// Every step's key has as many fields as the first's, of comparable
    /// types.
    fn same_keys(&mut self, steps: &[Step]) {
        let Some(first) = steps.first() else {
            return;
        };
        for step in steps.iter().skip(1) {
            if step.key.len() != first.key.len() {
                self.err(
                    Code::BadStep
                        .error(
                            step.span.clone(),
                            format!(
                                "step `{}` has a key of {} field(s), and step `{}` of {}",
                                step.name,
                                step.key.len(),
                                first.name,
                                first.key.len()
                            ),
                        )
                        .label("keys of different lengths")
                        .help("every step's key has the same fields, position by position"),
                );
                continue;
            }
            for (a, b) in first.key.iter().zip(&step.key) {
                if !comparable(a, b) {
                    self.err(
                        Code::BadStep
                            .error(
                                step.span.clone(),
                                format!(
                                    "key field `{}` of step `{}` ({}) cannot be compared with `{}` of step `{}` ({})",
                                    b.path,
                                    step.name,
                                    type_of(b),
                                    a.path,
                                    first.name,
                                    type_of(a)
                                ),
                            )
                            .label("keys of different types")
                            .help("key fields at one position hold the same kind of value, such as an id with an id"),
                    );
                }
            }
        }
    }

    /// A step's name: present, an identifier, not reserved, unique.
    fn step_name(
        &mut self,
        step: &[(Node, Node)],
        item: &Node,
        earlier: &[(String, &'static [Field], bool)],
        index: usize,
        travels: bool,
    ) -> Option<String> {
        let Some(n) = find(step, "name") else {
            self.err(
                Code::BadStep
                    .error(
                        item.span.clone(),
                        format!("step {} has no `name`", index + 1),
                    )
                    .label("this step")
                    .help("add `name: ...`; a `where` and the message name steps"),
            );
            return None;
        };
        let name = self.string(n, "name")?;
        let ident = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ident {
            self.err(
                Code::BadStep
                    .error(n.span.clone(), format!("step name `{name}` is not a name"))
                    .label("letters, digits and `_`, not starting with a digit")
                    .help("name steps like `failures` or `success`"),
            );
            return None;
        }
        if RESERVED_STEP_NAMES.contains(&name.as_str()) || (travels && name == "travel") {
            self.err(
                Code::BadStep
                    .error(n.span.clone(), format!("`{name}` cannot name a step"))
                    .label("a message placeholder")
                    .help("`count`, `window` and `distinct` are message placeholders, and `travel` in a sequence where a step travels; choose another name"),
            );
            return None;
        }
        if earlier.iter().any(|(e, _, _)| *e == name) {
            self.err(
                Code::BadStep
                    .error(n.span.clone(), format!("two steps are named `{name}`"))
                    .label("second step with this name")
                    .help("step names are unique in a sequence"),
            );
            return None;
        }
        Some(name)
    }
}
