//! matchd tools. Binaries: `matchctl` (command-line client, `src/bin/matchctl.rs`), `loadgen`
//! (load generator, `src/bin/loadgen.rs`, on the [`loadgen`] library) and `matchd-journal`
//! (journal replay tool, `src/bin/matchd-journal.rs`, on the [`journal_tool`] library).
#![warn(missing_docs)]

pub mod journal_tool;
pub mod loadgen;
