//! The reference page of a rule set, in Markdown: what `tollgate rules
//! --format markdown` prints and `rules/README.md` holds for the built-in
//! pack.

use crate::engine::RuleSet;

/// A declared param, for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamDoc {
    /// Its name.
    pub name: String,
    /// Its type.
    pub ty: String,
    /// Whether it is required (it then has no default).
    pub required: bool,
    /// Its default, in backquotes, or `none`.
    pub default: String,
    /// What it means.
    pub description: String,
}

impl ParamDoc {
    /// `required`, or `default VALUE`.
    pub fn requirement(&self) -> String {
        if self.required {
            "required".to_string()
        } else {
            format!("default {}", self.default)
        }
    }
}

/// A rule's declared params, from its text.
pub fn params_of(rules: &RuleSet, source: &str, id: &str) -> Vec<ParamDoc> {
    use crate::syntax::{self, Node};
    use serde_json::Value;

    let sources = rules.sources();
    let Some(file) = (0..sources.len())
        .filter_map(|i| sources.get(i).map(|f| (i, f)))
        .find(|(_, f)| f.name == source)
    else {
        return Vec::new();
    };
    let (docs, _) = syntax::parse(file.0, &file.1.text);
    let field = |node: &Node, key: &str| -> Option<Node> {
        node.map()?
            .iter()
            .find(|(k, _)| k.text() == Some(key))
            .map(|(_, v)| v.clone())
    };
    let Some(params) = docs
        .iter()
        .find(|d| {
            field(&d.root, "id").and_then(|n| n.text().map(str::to_string)) == Some(id.to_string())
        })
        .and_then(|d| field(&d.root, "params"))
    else {
        return Vec::new();
    };
    let text = |node: Option<Node>| {
        node.and_then(|n| n.text().map(str::to_string))
            .unwrap_or_default()
    };
    params
        .map()
        .unwrap_or_default()
        .iter()
        .map(|(name, def)| {
            let default = match field(def, "default").map(|d| d.to_json()) {
                None => "none".to_string(),
                Some(Value::Array(items)) => format!(
                    "`[{}]`",
                    items
                        .iter()
                        .map(Value::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                Some(other) => format!("`{other}`"),
            };
            ParamDoc {
                name: name.text().unwrap_or_default().to_string(),
                ty: text(field(def, "type")),
                required: field(def, "required").and_then(|n| n.to_json().as_bool()) == Some(true),
                default,
                description: text(field(def, "description")),
            }
        })
        .collect()
}

/// How `tollgate rules` lists the rules (see [`rules_text`] and
/// [`rules_markdown`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[non_exhaustive]
pub enum ListFormat {
    /// A line per rule and per param.
    Text,
    /// The rules' metadata as a JSON array.
    Json,
    /// The rule reference, in Markdown.
    Markdown,
}

/// The rules listed in `format`, those that wait for a param included.
pub fn rule_list(rules: &RuleSet, format: ListFormat) -> Result<String, serde_json::Error> {
    Ok(match format {
        ListFormat::Json => {
            let all: Vec<&crate::finding::RuleInfo> = rules.all_infos().collect();
            serde_json::to_string_pretty(&all)? + "\n"
        }
        ListFormat::Text => rules_text(rules),
        ListFormat::Markdown => rules_markdown(rules),
    })
}

/// The rules as a list for a terminal: a line per rule (id, severity,
/// title, logs) and a line per param, saying which ones a rule waits for.
/// Rules that wait for a param are listed too.
pub fn rules_text(rules: &RuleSet) -> String {
    use std::fmt::Write as _;
    let all: Vec<&crate::finding::RuleInfo> = rules.all_infos().collect();
    let width = all.iter().map(|r| r.id.len()).max().unwrap_or(0);
    let mut text = String::new();
    for r in &all {
        let _ = writeln!(
            text,
            "{:width$}  {:8}  {}  [{}]",
            r.id,
            r.severity.name(),
            r.title,
            r.logs.join(", ")
        );
        let waits = rules
            .waiting()
            .iter()
            .find(|w| w.info.id == r.id)
            .map(|w| w.params.clone())
            .unwrap_or_default();
        for p in params_of(rules, &r.source, &r.id) {
            let unset = if waits.contains(&p.name) {
                ", not set: the rule waits for it"
            } else {
                ""
            };
            let _ = writeln!(
                text,
                "{:width$}    param {}: {}, {}{unset}",
                "",
                p.name,
                p.ty,
                p.requirement()
            );
        }
    }
    text
}

/// A reference page of the rules, in Markdown: a summary table, then one
/// section per rule (severity, logs, parameters with their defaults,
/// description, tags, references), sorted by id. For the built-in pack it
/// ends with the detections that wait for rules over many records.
/// `rules/README.md` is this page for the built-in pack.
pub fn rules_markdown(rules: &RuleSet) -> String {
    /// The detections over many records the pack does not have yet.
    const AWAITING: &str = "\
## Not in the pack yet

Detections over many records that the rule language can express (windows,
sequences, absent steps, travel) but that the pack does not carry yet,
with the rules that catch part of each meanwhile. Password spray
(TG-AUTH-014), brute force then success (TG-AUTH-015), MFA fatigue
(TG-AUTH-016), disabled-account probing (TG-AUTH-017, several disabled
accounts from one address; TG-AUTH-019, one disabled account across
several applications), distributed password cracking (TG-AUTH-018),
Graph calls whose token no sign-in shows (TG-GA-006), one session from
several addresses (TG-RISK-010) and impossible travel (TG-RISK-011) are in
the pack.

| detection | what it needs | rules meanwhile |
|---|---|---|
| Mass mailbox collection by one application | app-only `GET users/{id}/messages` (or `.../mailFolders/.../messages`) by one `appId` on many distinct mailboxes within an hour | TG-GA-004 |
| Directory reconnaissance through Graph | one `appId`, `userId` or `signInActivityId` paging through users, groups, service principals, applications and role assignments within minutes, as AzureHound and ROADrecon do | TG-AUTH-009 |
| Graph call from another address than its sign-in | a Graph activity row whose `ipAddress` differs from that of the sign-in whose `uniqueTokenIdentifier` equals its `signInActivityId` (token theft and replay) | TG-RISK-005, TG-RISK-010 |
";

    /// A MITRE ATT&CK technique id (`T1110`, `T1110.003`) as a link to its
    /// page; any other tag as it is.
    fn attack_link(tag: &str) -> String {
        let (base, sub) = tag.split_once('.').unwrap_or((tag, ""));
        let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
        let technique = base.strip_prefix('T').is_some_and(|d| digits(d, 4));
        if !technique || !(sub.is_empty() || digits(sub, 3)) {
            return tag.to_string();
        }
        let path = if sub.is_empty() {
            base.to_string()
        } else {
            format!("{base}/{sub}")
        };
        format!("[{tag}](https://attack.mitre.org/techniques/{path}/)")
    }

    let cell = |s: &str| s.replace('|', "\\|").replace('\n', " ");
    let mut infos: Vec<_> = rules.all_infos().collect();
    infos.sort_by(|a, b| a.id.cmp(&b.id));
    let builtin = !infos.is_empty() && infos.iter().all(|r| r.source.starts_with("builtin:"));

    let mut md = String::from("# Rules\n\n");
    if builtin {
        md.push_str(
            "The built-in rule pack of tollgate: every rule runs when no `--rules` is given.\n\
             This page is generated; regenerate it with\n\
             `cargo run -q -- rules --format markdown > rules/README.md`.\n\
             Parameters are set with `--param NAME=VALUE` or in the `params` of\n\
             `tollgate.yaml` (see `examples/tollgate.yaml`).\n\n",
        );
    }
    md.push_str("| id | title | severity | logs | params |\n|---|---|---|---|---|\n");
    let all_params: Vec<Vec<ParamDoc>> = infos
        .iter()
        .map(|r| params_of(rules, &r.source, &r.id))
        .collect();
    for (r, params) in infos.iter().zip(&all_params) {
        let names: Vec<String> = params
            .iter()
            .map(|p| {
                let required = if p.required { " (required)" } else { "" };
                format!("`{}`{required}", p.name)
            })
            .collect();
        md.push_str(&format!(
            "| [{}](#{}) | {} | {} | {} | {} |\n",
            r.id,
            r.id.to_lowercase(),
            cell(&r.title),
            r.severity,
            r.logs.join(", "),
            if names.is_empty() {
                "-".to_string()
            } else {
                names.join(", ")
            }
        ));
    }
    for (r, params) in infos.iter().zip(&all_params) {
        // Every block starts with a blank line and ends with one newline.
        md.push_str(&format!(
            "\n## {}\n\n**{}**\n\nSeverity `{}` · logs: {} · ",
            r.id,
            r.title,
            r.severity,
            r.logs.join(", ")
        ));
        match r.source.strip_prefix("builtin:rules/") {
            Some(rel) => md.push_str(&format!("file [`{rel}`]({rel})\n")),
            None => md.push_str(&format!(
                "file `{}`\n",
                r.source.strip_prefix("builtin:").unwrap_or(&r.source)
            )),
        }
        if !r.description.trim().is_empty() {
            md.push_str(&format!("\n{}\n", r.description.trim()));
        }
        if !params.is_empty() {
            md.push_str("\n| param | type | default | meaning |\n|---|---|---|---|\n");
            for p in params {
                md.push_str(&format!(
                    "| `{}` | {} | {} | {} |\n",
                    p.name,
                    p.ty,
                    if p.required {
                        "required: the rule runs once it is set".to_string()
                    } else {
                        cell(&p.default)
                    },
                    cell(&p.description)
                ));
            }
        }
        if !r.tags.is_empty() {
            let tags: Vec<String> = r.tags.iter().map(|t| attack_link(t)).collect();
            md.push_str(&format!("\nTags: {}\n", tags.join(", ")));
        }
        if !r.references.is_empty() {
            md.push_str("\nReferences:\n\n");
            for reference in &r.references {
                md.push_str(&format!("- <{reference}>\n"));
            }
        }
    }
    if builtin {
        md.push('\n');
        md.push_str(AWAITING);
    }
    md
}
