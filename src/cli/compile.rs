//! `tollgate compile`: the checked rules as queries for another engine.

use std::io::{self, Write};
use std::path::Path;

use super::args::{CompileArgs, CompileFormat, TargetArg};
use super::{
    CliResult, EXIT_ERROR, EXIT_OK, error_format, find_project, loader, no_rules, plural,
    report_settings,
};
use crate::diag::{self, Code, Level};
use crate::target::{self, Options, Query, Target};

pub(super) fn compile(args: CompileArgs) -> CliResult {
    let format = args.error_format;
    let mut project = match find_project(&args.rules, format) {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    let loader = match loader(&args.rules, &project) {
        Ok(l) => l,
        Err(code) => return Ok(code),
    };
    let settings = project.setting_mistakes(&loader.declared(), &args.rules.params);
    if report_settings(&settings, &project, format, "nothing was compiled") {
        return Ok(EXIT_ERROR);
    }
    let checked = loader.check();
    if checked.has_errors() {
        eprint!(
            "{}",
            diag::render(
                checked.diagnostics(),
                checked.sources(),
                error_format(format)
            )
        );
        let errors = checked
            .diagnostics()
            .iter()
            .filter(|d| d.level == Level::Error)
            .count();
        eprintln!(
            "error: {errors} {} in the rules; nothing was compiled",
            plural(errors, "mistake", "mistakes")
        );
        return Ok(EXIT_ERROR);
    }
    let (rules, waiting) = checked.selected();
    if rules.is_empty() && waiting.is_empty() {
        eprintln!("error: {}", no_rules(&args.rules));
        return Ok(EXIT_ERROR);
    }
    for (id, params) in &waiting {
        eprintln!(
            "note: {id} waits for {} {} and is not compiled (set {} with --param or in {})",
            plural(params.len(), "param", "params"),
            params.join(", "),
            plural(params.len(), "it", "them"),
            crate::config::FILE_NAME
        );
    }
    let target = match args.target {
        TargetArg::Kql => Target::Kql,
        TargetArg::Sentinel => Target::Sentinel,
        TargetArg::SparkSql => Target::SparkSql,
        TargetArg::Sigma => Target::Sigma,
    };
    let options = Options {
        table: args.table.clone(),
        graph_table: args.graph_table.clone(),
    };
    let mut queries = Vec::new();
    let mut refused = Vec::new();
    for rule in &rules {
        match target::compile(rule, target, &options) {
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
                    .help("run this rule with `tollgate check`, or leave it out with `--rules`"),
            ),
        }
    }
    if !refused.is_empty() {
        eprint!(
            "{}",
            diag::render(&refused, checked.sources(), error_format(format))
        );
    }
    match &args.output {
        Some(dir) => write_files(dir, target, &queries)?,
        None => {
            let text = match args.format {
                CompileFormat::Json => {
                    let mut doc = serde_json::json!({
                        "target": target.name(),
                        "schema": target::schema(target, &options),
                        "queries": queries,
                    });
                    if let (Target::SparkSql, Some(map)) = (target, doc.as_object_mut()) {
                        // Which view holds which records, for drivers.
                        map.insert(
                            "views".into(),
                            serde_json::json!({
                                "signIn": options.table,
                                "graphActivity": options.graph_table,
                            }),
                        );
                    }
                    serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())? + "\n"
                }
                CompileFormat::Text => text(target, &queries),
            };
            io::stdout()
                .lock()
                .write_all(text.as_bytes())
                .map_err(|e| e.to_string())?;
        }
    }
    if refused.is_empty() {
        if !args.quiet {
            eprintln!(
                "compiled {} {} for {}",
                queries.len(),
                plural(queries.len(), "rule", "rules"),
                target.name()
            );
        }
        Ok(EXIT_OK)
    } else {
        eprintln!(
            "error: {} of {} {} cannot be compiled for {}; the other {} {}",
            refused.len(),
            rules.len(),
            plural(rules.len(), "rule", "rules"),
            target.name(),
            queries.len(),
            if args.output.is_some() {
                "were written"
            } else {
                "are printed"
            }
        );
        Ok(EXIT_ERROR)
    }
}

/// Every query one after another, each under a comment naming its rule.
fn text(target: Target, queries: &[Query]) -> String {
    let comment = match target {
        Target::Kql => "//",
        Target::SparkSql => "--",
        Target::Sentinel | Target::Sigma => "#",
    };
    let mut out = String::new();
    for q in queries {
        out.push_str(&format!("{comment} {}\n{}", q.rule_id, q.query));
        if !q.query.ends_with('\n') {
            out.push('\n');
        }
        out.push('\n');
    }
    out
}

/// One file per rule, named by its id.
fn write_files(dir: &Path, target: Target, queries: &[Query]) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    for q in queries {
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
        let path = dir.join(format!("{name}.{}", target.extension()));
        let mut text = q.query.clone();
        if !text.ends_with('\n') {
            text.push('\n');
        }
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}
