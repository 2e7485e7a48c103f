//! Shared helpers for the benchmark harnesses: a seeded generator, latency
//! summaries and the one-JSON-line-last reporting convention.

pub mod alloc_counter;
pub mod book_flows;
pub mod class_times;
pub mod flow;
pub mod input_cache;
pub mod peers;
pub mod proc_cpu;
pub mod rng;
pub mod stats;
