//! `matchd-journal`: inspect, dump, verify, replay, export and prune a matchd data directory.
//! See `tools::journal_tool` and `docs/operations.md` ("The journal tool").

use clap::Parser;

fn main() {
    let cli = tools::journal_tool::Cli::parse();
    std::process::exit(tools::journal_tool::run(cli));
}
