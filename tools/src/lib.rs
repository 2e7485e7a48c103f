//! matchd tools. Binaries: `matchctl` (command-line client, `src/bin/matchctl/`), `matchd-md`
//! (market-data client, `src/bin/matchd-md.rs`), `loadgen` (load generator, `src/bin/loadgen.rs`,
//! on the [`loadgen`] library) and `matchd-journal` (journal replay tool,
//! `src/bin/matchd-journal.rs`, on the [`journal_tool`] library). [`json_value`] holds the rule
//! every JSON line they print follows; [`order_entry_json`] and [`market_data_json`] write the
//! protocol's messages by it for `matchctl --json` and `matchd-md --json` ([`futures_json`] the
//! perpetual-futures reports).
#![warn(missing_docs)]

pub mod futures_json;
pub mod journal_tool;
pub mod json_value;
pub mod loadgen;
pub mod market_data_json;
pub mod order_entry_json;
