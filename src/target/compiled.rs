//! A rule set compiled for one target: the queries, the rules refused with
//! a diagnostic each, and the ways to write them out.

use std::path::{Path, PathBuf};

use super::{Options, Query, Target, compile, schema};
use crate::check::CheckedRule;
use crate::diag::{Code, Diagnostic};

/// Rules compiled for one target.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// The target.
    pub target: Target,
    /// The views the queries read.
    pub options: Options,
    /// One query per rule the target can express, in rule order.
    pub queries: Vec<Query>,
    /// One error per rule it cannot (`tollgate::not-expressible`), naming
    /// the construct.
    pub refused: Vec<Diagnostic>,
}

impl Compiled {
    /// Compiles every rule for `target`.
    pub fn new(rules: &[CheckedRule], target: Target, options: Options) -> Compiled {
        let mut queries = Vec::new();
        let mut refused = Vec::new();
        for rule in rules {
            match compile(rule, target, &options) {
                Ok(q) => queries.push(q),
                Err(e) => refused.push(
                    Code::NotExpressible
                        .error(
                            e.span,
                            format!(
                                "{} cannot be compiled for {}: it uses {}",
                                e.rule,
                                target.name(),
                                e.construct
                            ),
                        )
                        .label(format!("{} cannot express this exactly", target.name()))
                        .help(format!(
                            "run this rule with `tollgate check`, or leave it out with \
                             `--disable {}`",
                            e.rule
                        )),
                ),
            }
        }
        Compiled {
            target,
            options,
            queries,
            refused,
        }
    }

    /// The JSON document: the target, the schema its queries read, the
    /// queries, and for Spark which view holds which records.
    pub fn json(&self) -> serde_json::Value {
        let mut doc = serde_json::json!({
            "target": self.target.name(),
            "schema": schema(self.target, &self.options),
            "queries": self.queries,
        });
        if let (Target::SparkSql, Some(map)) = (self.target, doc.as_object_mut()) {
            map.insert(
                "views".into(),
                serde_json::json!({
                    "signIn": self.options.table,
                    "graphActivity": self.options.graph_table,
                }),
            );
        }
        doc
    }

    /// The queries printed as `output` asks.
    pub fn render(&self, output: super::Output) -> Result<String, serde_json::Error> {
        Ok(match output {
            super::Output::Json => serde_json::to_string_pretty(&self.json())? + "\n",
            super::Output::Text => self.text(),
        })
    }

    /// Every query one after another, each under a comment naming its rule.
    pub fn text(&self) -> String {
        let comment = match self.target {
            Target::Kql => "//",
            Target::SparkSql => "--",
            Target::Sentinel | Target::Sigma => "#",
        };
        let mut out = String::new();
        for q in &self.queries {
            out.push_str(&format!("{comment} {}\n{}", q.rule_id, q.query));
            if !q.query.ends_with('\n') {
                out.push('\n');
            }
            out.push('\n');
        }
        out
    }

    /// One file per rule in `dir` (created when missing), named by its id
    /// with the target's extension. The error names the path that failed.
    pub fn write_files(&self, dir: &Path) -> Result<(), WriteError> {
        std::fs::create_dir_all(dir).map_err(|e| WriteError {
            action: "create",
            path: dir.to_path_buf(),
            error: e,
        })?;
        for q in &self.queries {
            let name: String = q
                .rule_id
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            let path = dir.join(format!("{name}.{}", self.target.extension()));
            let mut text = q.query.clone();
            if !text.ends_with('\n') {
                text.push('\n');
            }
            std::fs::write(&path, text).map_err(|e| WriteError {
                action: "write",
                path: path.clone(),
                error: e,
            })?;
        }
        Ok(())
    }
}

/// A compiled query's file or folder could not be written.
#[derive(Debug)]
pub struct WriteError {
    /// What failed: `create` (the folder) or `write` (a file).
    pub action: &'static str,
    /// The folder or file.
    pub path: PathBuf,
    /// Why.
    pub error: std::io::Error,
}

impl std::fmt::Display for WriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "cannot {} {}: {}",
            self.action,
            self.path.display(),
            self.error
        )
    }
}

impl std::error::Error for WriteError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}
