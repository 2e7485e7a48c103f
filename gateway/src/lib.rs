//! matchd: configuration, wire protocol, network, pipeline; the `matchd` binary is `src/main.rs`.
#![warn(missing_docs)]

pub mod config;
pub mod credential;
pub mod protocol;
