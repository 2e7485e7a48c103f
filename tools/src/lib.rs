//! matchd tools. Binaries: `matchctl` (command-line client, `src/bin/matchctl.rs`).
#![warn(missing_docs)]
