//! The `tollgate` command: parse arguments, run, exit with the code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = tollgate::cli::Cli::parse();
    ExitCode::from(tollgate::cli::run(cli))
}
