//! Shared by the `journal_tool_*` tests: real journals written with the journal and engine
//! crates the way matchd writes them (engine-config record first, then commands), snapshots
//! written with the snapshot crate, and running the built `matchd-journal` binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command as Proc;

use engine::command_codec::{encode, encode_engine_config, MAX_COMMAND_BYTES, RECORD_COMMAND, RECORD_ENGINE_CONFIG};
use engine::*;
use journal::{JournalConfig, JournalWriter, SyncPolicy};

/// Base timestamp of generated commands (2023-11-14T22:13:20Z); command k is 1 ms later each.
pub const T0: u64 = 1_700_000_000_000_000_000;
pub const MS: u64 = 1_000_000;

/// The output of a tool run.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `matchd-journal --data-dir DIR ARGS...`.
pub fn tool(data: &Path, args: &[&str]) -> Run {
    let out = Proc::new(env!("CARGO_BIN_EXE_matchd-journal"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .output()
        .expect("run matchd-journal");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

pub fn spec(id: InstrumentId) -> InstrumentSpec {
    InstrumentSpec {
        id,
        symbol: InstrumentSpec::symbol_from_str(&format!("C{id}-USDT")).expect("symbol"),
        base_asset: id,
        quote_asset: 0,
        tick: 1,
        lot: 1,
        min_qty: 1,
        max_qty: 1_000_000,
        min_notional: 0,
        price_band_bps: 5_000,
        reference_price: 1_000,
        qty_scale: 1,
    }
}

pub fn config(risk: bool) -> EngineConfig {
    EngineConfig {
        max_orders: 1 << 16,
        max_instruments: 16,
        max_accounts: 64,
        max_open_orders_per_account: 1 << 16,
        risk_checks: risk,
        max_assets: 8,
        fee_account: 63,
        max_transactions: 1024,
        insurance_account: engine::NO_ACCOUNT,
        oracle_account: engine::NO_ACCOUNT,
    }
}

/// xorshift64*.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Set-up commands: two instruments; in risk mode 8 funded accounts and fees.
pub fn setup(risk: bool) -> Vec<CommandKind> {
    let mut v = vec![CommandKind::AddInstrument(spec(1)), CommandKind::AddInstrument(spec(2))];
    if risk {
        for a in 1..=8 {
            v.push(CommandKind::CreateAccount(CreateAccount { target: a, tier: 0, status: AccountStatus::Active }));
            for asset in 0..3 {
                v.push(CommandKind::Deposit(Transfer {
                    target: a,
                    asset,
                    amount: 1 << 40,
                    tx_id: (a * 10 + asset) as u64,
                }));
            }
        }
        v.push(CommandKind::SetFeeSchedule(SetFeeSchedule { instrument: 1, tier: 0, maker_ppm: -50, taker_ppm: 300 }));
    }
    v
}

/// A market-like flow: resting orders around the mid, takers, cancels and amends.
pub fn flow(r: &mut Rng, k: u64) -> (AccountId, CommandKind) {
    let account = 1 + r.below(8) as AccountId;
    let instrument = 1 + r.below(2) as InstrumentId;
    let side = if r.below(2) == 0 { Side::Buy } else { Side::Sell };
    let kind = match r.below(10) {
        0..=4 => {
            let off = r.below(20);
            let price = if side == Side::Buy { 995 - off } else { 1_005 + off };
            CommandKind::NewOrder(NewOrder::limit_gtc(k, instrument, side, price, 1 + r.below(50)))
        }
        5 | 6 => CommandKind::NewOrder(NewOrder {
            client_order_id: k,
            instrument,
            side,
            order_type: OrderType::Limit,
            tif: TimeInForce::Ioc,
            stp: StpMode::CancelTaker,
            price: if side == Side::Buy { 1_030 } else { 970 },
            qty: 1 + r.below(150),
        }),
        // About 0.7 orders are accepted per command: aim at recent ones, mostly still live.
        7 | 8 => {
            CommandKind::Cancel(Cancel { order: OrderRef::Engine((k * 6 / 10).saturating_sub(r.below(300)).max(1)) })
        }
        _ => CommandKind::Amend(Amend {
            order: OrderRef::Engine((k * 6 / 10).saturating_sub(r.below(300)).max(1)),
            new_qty: Some(1 + r.below(60)),
            new_price: None,
        }),
    };
    (account, kind)
}

/// What [`write_journal`] made.
pub struct Made {
    /// Every command with its sequence number.
    pub commands: Vec<(Seq, Command)>,
    /// The engine after all of them.
    pub engine: Engine,
    /// Snapshots written: (seq, path).
    pub snapshots: Vec<(Seq, PathBuf)>,
}

/// Writes a journal into `<data>/journal` (segments of `segment_size`), `n` flow commands after
/// the set-up, and snapshots (into `<data>/snapshots`) after the commands at `snapshot_at`.
pub fn write_journal(data: &Path, risk: bool, n: u64, segment_size: u64, snapshot_at: &[u64], seed: u64) -> Made {
    let jcfg =
        JournalConfig { create_dir: true, sync_policy: SyncPolicy::None, segment_size, ..JournalConfig::default() };
    let (mut w, _) = JournalWriter::open(data.join("journal"), jcfg).expect("open journal");
    let cfg = config(risk);
    let seq = w.append(RECORD_ENGINE_CONFIG, &encode_engine_config(&cfg)).expect("append config");
    let mut engine = Engine::new(cfg);
    engine.skip(seq);
    let mut commands = Vec::new();
    let mut snapshots = Vec::new();
    let mut buf = [0u8; MAX_COMMAND_BYTES];
    let mut r = Rng(seed | 1);
    let mut sink = CountingSink::default();
    let setup = setup(risk);
    let total = setup.len() as u64 + n;
    for k in 0..total {
        let (account, kind) = match setup.get(k as usize) {
            Some(kind) => (0, *kind),
            None => flow(&mut r, k),
        };
        let cmd = Command { account, timestamp_ns: T0 + k * MS, kind };
        let len = encode(&cmd, &mut buf);
        let seq = w.append(RECORD_COMMAND, &buf[..len]).expect("append");
        engine.apply(seq, &cmd, &mut sink);
        commands.push((seq, cmd));
        if k % 4096 == 0 {
            w.commit().expect("commit");
        }
        if snapshot_at.contains(&seq) {
            let written = snapshot::write_snapshot(&snapshot::snapshot_dir(data), &engine.snapshot(), b"reports")
                .expect("write snapshot");
            snapshots.push((seq, written.path));
        }
    }
    w.close().expect("close");
    Made { commands, engine, snapshots }
}

/// The engine state after the commands up to `to` (inclusive), and every event.
pub fn replay_to(made: &Made, risk: bool, to: Seq) -> (Engine, Vec<(Seq, Command, Event)>) {
    let mut e = Engine::new(config(risk));
    e.skip(1);
    let mut all = Vec::new();
    for &(seq, cmd) in made.commands.iter().take_while(|(s, _)| *s <= to) {
        let mut ev: Vec<Event> = Vec::new();
        e.apply(seq, &cmd, &mut ev);
        all.extend(ev.into_iter().map(|x| (seq, cmd, x)));
    }
    (e, all)
}

/// Segment files of the journal, oldest first.
pub fn segments(data: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(data.join("journal"))
        .expect("journal dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "seg"))
        .collect();
    v.sort();
    v
}

/// Sets both durable-watermark copies of a segment header to `w` (with valid CRCs): the image
/// a power loss leaves when the last records were never synced.
pub fn set_watermark(seg: &Path, w: Seq) {
    let mut b = std::fs::read(seg).expect("read segment");
    let first = u64::from_le_bytes(b[24..32].try_into().unwrap());
    for off in [48usize, 64] {
        b[off..off + 8].copy_from_slice(&w.to_le_bytes());
        let mut x = [0u8; 16];
        x[..8].copy_from_slice(&first.to_le_bytes());
        x[8..].copy_from_slice(&w.to_le_bytes());
        b[off + 8..off + 12].copy_from_slice(&crc32c::crc32c(&x).to_le_bytes());
    }
    std::fs::write(seg, b).expect("write segment");
}

/// (offset, seq) of every record in a segment file, parsed by the documented layout.
pub fn records_in(seg: &Path) -> Vec<(u64, Seq)> {
    let b = std::fs::read(seg).expect("read segment");
    let mut off = 128usize;
    let mut v = Vec::new();
    while off + 24 <= b.len() {
        let len = u32::from_le_bytes(b[off + 4..off + 8].try_into().unwrap()) as usize;
        if len == 0 || len == u32::MAX as usize {
            break;
        }
        v.push((off as u64, u64::from_le_bytes(b[off + 8..off + 16].try_into().unwrap())));
        off += len.div_ceil(8) * 8;
    }
    v
}
