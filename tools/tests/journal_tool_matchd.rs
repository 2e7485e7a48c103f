//! `matchd-journal` on a journal written by the real `matchd` (skipped, with a note, when the
//! binary cannot be found: `cargo test --workspace` builds it). matchd's first start journals
//! the engine config, then its configured instruments, accounts, fee schedules and deposits.

mod journal_tool_common;

use std::time::Duration;

use journal_tool_common::tool;
use serde_json::Value;
use tools::loadgen::matchd::{config_toml, locate_binary, small_segments, Matchd};

#[test]
fn the_tool_reads_what_matchd_wrote() {
    let bin = match locate_binary(None) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("skipping: {e}");
            return;
        }
    };
    let toml = small_segments(&config_toml(::matchd::config::DEFAULT_CONFIG_TOML, &[], None));
    let mut m = Matchd::start(&bin, &toml, &[]).expect("start matchd");
    assert!(m.stop(Duration::from_secs(30)), "clean stop:\n{}", m.stderr());
    let data = m.dir.join("data");
    let r = tool(&data, &["verify"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let r = tool(&data, &["dump", "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines: Vec<Value> = r.stdout.lines().map(|l| serde_json::from_str(l).expect("json")).collect();
    assert_eq!(lines[0]["record"], "engine_config");
    assert!(lines.iter().any(|l| l["command"] == "add_instrument" && l["symbol"] == "BTC-USDT"), "{}", r.stdout);
    let r = tool(&data, &["inspect"]);
    assert!(r.stdout.contains("tail: clean"), "{}", r.stdout);
    // 64-bit integers are decimal strings (docs/operations.md, "JSON output").
    let last = lines.last().unwrap()["seq"].as_str().expect("seq is a decimal string").to_string();
    assert!(last.parse::<u64>().is_ok(), "{last}");
    if let Some(d) = lines.iter().find(|l| l["command"] == "deposit") {
        assert!(d["amount"].as_str().is_some_and(|a| a.parse::<u64>().is_ok()), "{d}");
        assert!(d["tx_id"].as_str().is_some_and(|t| t.parse::<u64>().is_ok_and(|t| t > 1 << 53)), "{d}");
    }
    let r = tool(&data, &["replay", "--to", &last, "--instrument", "1"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("instrument 1 BTC-USDT state=trading"), "{}", r.stdout);
    if lines.iter().any(|l| l["command"] == "deposit") {
        let r = tool(&data, &["export", "--what", "balances", "--format", "jsonl"]);
        assert!(r.stdout.lines().count() > 0, "{}", r.stderr);
    }
}
