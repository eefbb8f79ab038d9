//! `tollgate compile`: the checked rules as queries for another engine.

use std::io::{self, Write};

use super::args::{CompileArgs, CompileFormat};
use super::{
    CliResult, EXIT_ERROR, EXIT_OK, error_format, find_project, loader, no_rules, plural,
    report_settings,
};
use crate::diag::{self, Level};
use crate::target::{Compiled, Options};

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
    let options = Options {
        table: args.table.clone(),
        graph_table: args.graph_table.clone(),
    };
    let compiled = Compiled::new(&rules, args.target, options);
    let (target, queries, refused) = (args.target, &compiled.queries, &compiled.refused);
    if !refused.is_empty() {
        eprint!(
            "{}",
            diag::render(refused, checked.sources(), error_format(format))
        );
    }
    match &args.output {
        Some(dir) => compiled.write_files(dir).map_err(|e| e.to_string())?,
        None => {
            let text = match args.format {
                CompileFormat::Json => {
                    serde_json::to_string_pretty(&compiled.json()).map_err(|e| e.to_string())?
                        + "\n"
                }
                CompileFormat::Text => compiled.text(),
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
