//! What the config lists that the journal does not have yet: instruments (and, in risk mode,
//! accounts) added to the file after the format. At each start they are entered as the admin's
//! commands, like the format's, so the journal stays the one record of what exists and a replay
//! rebuilds them. The rules:
//!
//! - An instrument is identified by its id. One the journal has must have the same definition
//!   (a definition never changes once entered: trading, orders and snapshots depend on it); one
//!   it lacks is added, with its fee schedule in risk mode, unless another instrument in the
//!   journal has its symbol.
//! - An account the journal lacks is created with its configured tier and funded with its
//!   configured `deposits`: deposits are an account's initial funding, entered once, when matchd
//!   creates the account. For an account the journal has, tier and deposits in the file are not
//!   used (admin commands change them); credentials and roles always come from the file.
//! - Nothing the journal has is removed because the file no longer lists it.

use std::collections::BTreeMap;

use engine::{CommandKind, Engine, InstrumentSpec};

use crate::config::{later_deposit_tx_id, Config, ConfigError};

/// Why the config cannot be used with this journal.
#[derive(Debug, thiserror::Error)]
pub enum ConfigConflict {
    /// A configured instrument's definition differs from the journal's for the same id.
    #[error(
        "config `{key}` (id {id}, {symbol:?}) differs from instrument {id} in the journal: {differences}; an \
         instrument's definition cannot change once entered (give the new definition a new id and a new \
         symbol, and close the old instrument with an admin SetInstrumentState)"
    )]
    InstrumentDiffers {
        /// `instruments[i]`.
        key: String,
        /// Instrument id.
        id: u32,
        /// Configured symbol.
        symbol: String,
        /// `field: config X, journal Y`, for every field that differs.
        differences: String,
    },
    /// A configured instrument's symbol belongs to another instrument in the journal.
    #[error(
        "config `{key}.symbol` {symbol:?} (id {id}) is the symbol of instrument {journal_id} in the journal: \
         use the journal's id {journal_id} for it, or another symbol"
    )]
    SymbolTaken {
        /// `instruments[i]`.
        key: String,
        /// Symbol.
        symbol: String,
        /// Configured id.
        id: u32,
        /// The journal's instrument with that symbol.
        journal_id: u32,
    },
    /// The config does not fit the engine capacities the journal was formatted with.
    #[error("with the journal's engine capacities (they win over [engine]: {capacities}): {source}")]
    Capacities {
        /// The journal's capacities.
        capacities: String,
        /// The check that failed.
        source: ConfigError,
    },
}

/// The admin commands that enter what `cfg` lists and `engine` (the journal's state) lacks: new
/// instruments, then their fee schedules, then (risk mode) new accounts, then their deposits.
/// Empty when the journal has everything. Errors when the file contradicts the journal.
pub fn missing_commands(cfg: &Config, engine: &Engine) -> Result<Vec<CommandKind>, ConfigConflict> {
    check_fits_capacities(cfg, engine)?;
    let specs = cfg.instrument_specs();
    let journal_instruments: Vec<InstrumentSpec> =
        engine.instrument_ids().filter_map(|id| engine.instrument(id)).map(|v| v.spec).collect();
    let journal_symbols: BTreeMap<&str, u32> = journal_instruments.iter().map(|s| (s.symbol_str(), s.id)).collect();
    let mut out = Vec::new();
    let mut fees = Vec::new();
    for (i, (inst, spec)) in cfg.instruments.iter().zip(specs).enumerate() {
        let key = format!("instruments[{i}]");
        match journal_instruments.iter().find(|s| s.id == spec.id) {
            Some(journaled) if *journaled == spec => {}
            Some(journaled) => {
                let differences = spec_differences(&spec, journaled);
                return Err(ConfigConflict::InstrumentDiffers {
                    key,
                    id: spec.id,
                    symbol: inst.symbol.clone(),
                    differences,
                });
            }
            None => {
                if let Some(&journal_id) = journal_symbols.get(inst.symbol.as_str()) {
                    return Err(ConfigConflict::SymbolTaken {
                        key,
                        symbol: inst.symbol.clone(),
                        id: spec.id,
                        journal_id,
                    });
                }
                tracing::info!(id = spec.id, symbol = %inst.symbol, "config lists an instrument the journal lacks: adding it");
                out.push(CommandKind::AddInstrument(spec));
                if engine.risk_checks() {
                    fees.extend(inst.fee_schedule().map(CommandKind::SetFeeSchedule));
                }
            }
        }
    }
    out.extend(fees);
    if engine.risk_checks() {
        out.extend(missing_accounts(cfg, engine));
    }
    Ok(out)
}

/// `CreateAccount` for every configured account the journal lacks, then their deposits.
fn missing_accounts(cfg: &Config, engine: &Engine) -> Vec<CommandKind> {
    let mut created = Vec::new();
    let mut deposits = Vec::new();
    for a in &cfg.accounts {
        match engine.account_status(a.id) {
            Some((_, tier)) => {
                if tier != a.tier {
                    tracing::warn!(account = a.id, name = %a.name, config = a.tier, journal = tier,
                        "the account's fee tier differs from the config's: the journal's wins (admin commands change it)");
                }
            }
            None => {
                tracing::info!(account = a.id, name = %a.name, deposits = a.deposits.len(),
                    "config lists an account the journal lacks: creating it with its initial deposits");
                created.push(CommandKind::CreateAccount(engine::CreateAccount {
                    target: a.id,
                    tier: a.tier,
                    status: engine::AccountStatus::Active,
                }));
                deposits.extend(a.deposits.iter().enumerate().map(|(j, d)| {
                    CommandKind::Deposit(engine::Transfer {
                        target: a.id,
                        asset: d.asset,
                        amount: d.amount,
                        tx_id: later_deposit_tx_id(a.id, j),
                    })
                }));
            }
        }
    }
    created.extend(deposits);
    created
}

/// The journal's engine capacities win over `[engine]` (a replay must rebuild the same state), so
/// the config's instruments and accounts must fit them: the config's checks, rerun with them.
fn check_fits_capacities(cfg: &Config, engine: &Engine) -> Result<(), ConfigConflict> {
    let jc = *engine.config();
    if jc == cfg.engine_config() {
        return Ok(());
    }
    let mut with_journal = cfg.clone();
    let e = &mut with_journal.engine;
    e.max_orders = jc.max_orders;
    e.max_instruments = jc.max_instruments;
    e.max_accounts = jc.max_accounts;
    e.max_open_orders_per_account = jc.max_open_orders_per_account;
    e.risk_checks = jc.risk_checks;
    e.max_assets = jc.max_assets;
    e.fee_account = jc.fee_account;
    e.max_transactions = jc.max_transactions;
    e.insurance_account = Some(jc.insurance_account).filter(|&a| a != engine::NO_ACCOUNT);
    e.oracle_account = Some(jc.oracle_account).filter(|&a| a != engine::NO_ACCOUNT);
    with_journal.validate().map_err(|source| ConfigConflict::Capacities { capacities: format!("{jc:?}"), source })
}

/// `field: config X, journal Y` for each field of two specs with the same id that differs.
fn spec_differences(config: &InstrumentSpec, journal: &InstrumentSpec) -> String {
    let mut out = Vec::new();
    if config.symbol != journal.symbol {
        out.push(format!("symbol: config {:?}, journal {:?}", config.symbol_str(), journal.symbol_str()));
    }
    let fields = [
        ("base_asset", config.base_asset as u64, journal.base_asset as u64),
        ("quote_asset", config.quote_asset as u64, journal.quote_asset as u64),
        ("tick", config.tick, journal.tick),
        ("lot", config.lot, journal.lot),
        ("min_qty", config.min_qty, journal.min_qty),
        ("max_qty", config.max_qty, journal.max_qty),
        ("min_notional", config.min_notional, journal.min_notional),
        ("price_band_bps", config.price_band_bps as u64, journal.price_band_bps as u64),
        ("reference_price", config.reference_price, journal.reference_price),
        ("qty_scale", config.qty_scale, journal.qty_scale),
    ];
    for (name, c, j) in fields {
        if c != j {
            out.push(format!("{name}: config {c}, journal {j}"));
        }
    }
    debug_assert!(!out.is_empty(), "called for specs that differ");
    out.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DEFAULT_CONFIG_TOML;

    fn engine_with(cfg: &Config) -> Engine {
        let mut e = Engine::new(cfg.engine_config());
        let mut seq = 0;
        for kind in
            cfg.instrument_specs().into_iter().map(CommandKind::AddInstrument).chain(cfg.initial_account_commands())
        {
            seq += 1;
            e.apply(seq, &engine::Command { account: 0, timestamp_ns: 0, kind }, &mut Vec::new());
        }
        e
    }

    #[test]
    fn the_formatted_config_needs_nothing() {
        let cfg = Config::default_config();
        assert!(missing_commands(&cfg, &engine_with(&cfg)).unwrap().is_empty());
    }

    #[test]
    fn a_new_instrument_and_account_are_entered_once() {
        let cfg = Config::default_config();
        let engine = engine_with(&cfg);
        let text = format!(
            "{DEFAULT_CONFIG_TOML}\n[[instruments]]\nid = 3\nsymbol = \"SOL-USDT\"\nbase_asset = 4\nquote_asset = 1\n\
             tick = 1\nlot = 1\nmin_qty = 1\nmax_qty = 1000\nmin_notional = 1\nprice_band_bps = 1000\n\
             reference_price = 100\nqty_scale = 1\ntaker_fee_ppm = 100\n\
             [[accounts]]\nid = 7\nname = \"carol\"\nrole = \"trader\"\ncredential = \"{}\"\n\
             deposits = [{{ asset = 4, amount = 5 }}, {{ asset = 1, amount = 6 }}]\n",
            cfg.accounts[1].credential
        );
        let more = Config::from_toml(&text, "t.toml").unwrap();
        let cmds = missing_commands(&more, &engine).unwrap();
        assert!(matches!(cmds[0], CommandKind::AddInstrument(s) if s.id == 3), "{cmds:?}");
        assert!(matches!(cmds[1], CommandKind::SetFeeSchedule(f) if (f.instrument, f.taker_ppm) == (3, 100)));
        assert!(matches!(cmds[2], CommandKind::CreateAccount(a) if a.target == 7));
        let tx: Vec<u64> = cmds[3..]
            .iter()
            .map(|c| match c {
                CommandKind::Deposit(t) => t.tx_id,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(tx, [later_deposit_tx_id(7, 0), later_deposit_tx_id(7, 1)]);
        assert!(tx.iter().all(|&t| t > crate::config::INITIAL_DEPOSIT_TX_BASE + (1 << 40) - 1));
        // Once entered, nothing more.
        assert!(missing_commands(&more, &engine_with(&more)).unwrap().is_empty());
    }

    #[test]
    fn a_changed_definition_or_a_taken_symbol_conflicts() {
        let cfg = Config::default_config();
        let engine = engine_with(&cfg);
        let changed = DEFAULT_CONFIG_TOML.replacen("tick = 1                    # 0.01 USDT", "tick = 5", 1);
        let err = missing_commands(&Config::from_toml(&changed, "t.toml").unwrap(), &engine).unwrap_err().to_string();
        assert!(err.contains("instruments[0]") && err.contains("tick: config 5, journal 1"), "{err}");
        let moved = DEFAULT_CONFIG_TOML.replacen("id = 2\nsymbol = \"ETH-USDT\"", "id = 9\nsymbol = \"ETH-USDT\"", 1);
        let err = missing_commands(&Config::from_toml(&moved, "t.toml").unwrap(), &engine).unwrap_err().to_string();
        assert!(err.contains("instruments[1].symbol") && err.contains("instrument 2 in the journal"), "{err}");
    }

    #[test]
    fn the_config_must_fit_the_journals_capacities() {
        let small = DEFAULT_CONFIG_TOML.replacen("max_instruments = 16384", "max_instruments = 3", 1);
        let engine = engine_with(&Config::from_toml(&small, "t.toml").unwrap());
        let text = format!(
            "{DEFAULT_CONFIG_TOML}\n[[instruments]]\nid = 5\nsymbol = \"X\"\nbase_asset = 4\nquote_asset = 1\n\
             tick = 1\nlot = 1\nmin_qty = 1\nmax_qty = 1\nmin_notional = 1\nprice_band_bps = 1\n\
             reference_price = 1\nqty_scale = 1\n"
        );
        let err = missing_commands(&Config::from_toml(&text, "t.toml").unwrap(), &engine).unwrap_err().to_string();
        assert!(err.contains("instruments[2].id") && err.contains("journal's engine capacities"), "{err}");
    }
}
