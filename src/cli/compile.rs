//! `tollgate compile`: the checked rules as queries for another engine.

use super::args::CompileArgs;
use super::{CliResult, EXIT_OK, RULE_FILES, Stop, open, plural, print, show};
use crate::diag;
use crate::engine::waits_for;
use crate::target::Compiled;

pub(super) fn compile(args: CompileArgs) -> CliResult {
    let consequence = "nothing was compiled";
    let (_, loader, bad_settings) = open(&args.rules, consequence)?;
    if bad_settings {
        return Err(Stop::Said);
    }
    let checked = loader.check();
    let (diagnostics, sources) = (checked.diagnostics(), checked.sources());
    // Warnings are `validate`'s to tell; errors stop the compile.
    if checked.has_errors() {
        show(diagnostics, sources, &args.rules, RULE_FILES, consequence);
        return Err(Stop::Said);
    }
    let (rules, waiting) = checked.selected();
    if rules.is_empty() && waiting.is_empty() {
        return Err(Stop::Error(args.rules.nothing_to_run(&checked.disabled())));
    }
    for (id, params) in &waiting {
        eprintln!("note: {}; not compiled", waits_for(id, params));
    }
    let compiled = Compiled::new(&rules, args.target, args.views.clone());
    let (target, queries, refused) = (args.target.name(), &compiled.queries, &compiled.refused);
    eprint!(
        "{}",
        diag::render(
            refused,
            sources,
            super::error_format(args.rules.error_format)
        )
    );
    match &args.output {
        Some(dir) => compiled.write_files(dir)?,
        None => _ = print(compiled.render(args.format)?)?,
    }
    let (n, all) = (queries.len(), rules.len());
    if refused.is_empty() {
        if !args.quiet {
            eprintln!("compiled {n} {} for {target}", plural(n, "rule", "rules"));
        }
        return Ok(EXIT_OK);
    }
    let done = if args.output.is_some() {
        "were written"
    } else {
        "are printed"
    };
    let rules = plural(all, "rule", "rules");
    let error = format!(
        "{} of {all} {rules} cannot be compiled for {target}; the other {n} {done}",
        refused.len()
    );
    Err(Stop::Error(error))
}
