//! The `tollgate` command: parse arguments, run, exit with the code.

use std::process::ExitCode;

use clap::Parser;

/// Records are read into many small values and dropped soon after, on
/// several threads: mimalloc serves that pattern faster than the system
/// allocator (README, "Performance").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = tollgate::cli::Cli::parse();
    ExitCode::from(tollgate::cli::run(cli))
}
