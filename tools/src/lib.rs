//! matchd tools. Binaries: `matchctl` (command-line client, `src/bin/matchctl.rs`) and `loadgen`
//! (load generator, `src/bin/loadgen.rs`, on the [`loadgen`] library).
#![warn(missing_docs)]

pub mod loadgen;
