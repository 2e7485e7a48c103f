//! `matchctl perp ...`: the perpetual-futures commands (docs/futures.md; docs/protocol.md,
//! "Perpetual futures"). `add`, `tier` and the three margin transfers are admin commands; `leverage`,
//! `margin-mode`, `isolated-margin` and `wallet-transfer` act on the session's own account; `mark`
//! and `funding` are the oracle's (log in as `engine.oracle_account` with --account/--secret).

use clap::{Args, Subcommand, ValueEnum};
use engine::{
    AdjustIsolatedMargin, ApplyFunding, MarginMode, SetLeverage, SetMarginMode, SetMarkPrice, SetRiskTier,
    TriggerSource, WalletTransfer,
};
use protocol::ClientMessage;

use crate::cli::{AddInstrumentArgs, TransferArgs};

#[derive(Debug, Subcommand)]
pub enum PerpCmd {
    /// Admin: add a perpetual (same fields as add-instrument; `--quote` is the margin asset). It
    /// starts halted, without risk tiers.
    Add(AddInstrumentArgs),
    /// Admin: append a risk tier (leverage bracket) to a perpetual with no position or order.
    Tier {
        /// The perpetual.
        #[arg(long)]
        instrument: u32,
        /// The tier's index: the number of tiers so far.
        #[arg(long)]
        index: u8,
        /// Upper bound of the tier's position notional, quote minor units.
        #[arg(long)]
        max_notional: u64,
        /// Highest leverage in the tier.
        #[arg(long)]
        max_leverage: u32,
        /// Maintenance margin rate, ppm.
        #[arg(long)]
        mmr_ppm: u32,
        /// Maintenance amount (Binance's `cum`), quote minor units; 0 for tier 0.
        #[arg(long, default_value_t = 0)]
        maint_amount: u64,
    },
    /// Admin: credit an account's futures wallet.
    MarginDeposit(TransferArgs),
    /// Admin: debit an account's futures wallet (at most its withdrawable amount).
    MarginWithdraw(TransferArgs),
    /// Admin: a principal deduction from a futures wallet (at most its balance; it may leave the
    /// account liquidatable).
    MarginDebit(TransferArgs),
    /// Set the session's leverage on a perpetual.
    Leverage {
        /// The perpetual.
        #[arg(long)]
        instrument: u32,
        /// Whole multiples, 1 up to tier 0's maximum.
        #[arg(long)]
        leverage: u32,
    },
    /// Set the session's margin mode on a perpetual (no position or order there).
    MarginMode {
        /// The perpetual.
        #[arg(long)]
        instrument: u32,
        /// Cross (shares the futures wallet) or isolated.
        #[arg(long, value_enum)]
        mode: ModeArg,
    },
    /// Move margin into (positive --delta) or out of (negative) the session's isolated position.
    IsolatedMargin {
        /// The perpetual.
        #[arg(long)]
        instrument: u32,
        /// Quote minor units.
        #[arg(long, allow_negative_numbers = true)]
        delta: i64,
    },
    /// Move money between the session's spot balance and its futures wallet.
    WalletTransfer {
        /// The margin asset.
        #[arg(long)]
        asset: u32,
        /// Minor units.
        #[arg(long)]
        amount: u64,
        /// Where the money goes.
        #[arg(long, value_enum)]
        to: WalletArg,
    },
    /// The oracle: a perpetual's new mark price.
    Mark {
        /// The perpetual.
        #[arg(long)]
        instrument: u32,
        /// The mark price (need not be on the tick).
        #[arg(long)]
        price: u64,
    },
    /// The oracle: settle a perpetual's funding at its current mark, announcing the next one.
    Funding {
        /// The perpetual.
        #[arg(long)]
        instrument: u32,
        /// Funding rate, ppm: positive, longs pay shorts.
        #[arg(long, allow_negative_numbers = true)]
        rate_ppm: i32,
        /// When the next funding will be settled, ns since the Unix epoch: after the server's
        /// receive time of this command (else `InvalidFundingTime`); 0 is refused.
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
        next_funding_time_ns: u64,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ModeArg {
    Cross,
    Isolated,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum WalletArg {
    /// Spot to the futures wallet.
    Futures,
    /// The futures wallet to spot.
    Spot,
}

/// `--reduce-only`, `--close-position` and `--trigger-by` of `buy` and `sell` (perpetuals).
#[derive(Debug, Args)]
pub struct PerpOrderArgs {
    /// Perpetuals: the order may only reduce the position (docs/futures.md, section 5).
    #[arg(long)]
    pub reduce_only: bool,
    /// Perpetuals: a market order that closes the whole position (no --qty, no --price).
    #[arg(long, conflicts_with_all = ["qty", "quote_qty", "price"])]
    pub close_position: bool,
    /// Perpetuals, with --trigger-price: the price that fires the stop, the last trade price or
    /// the mark price (Binance's workingType).
    #[arg(long, value_enum, default_value = "last", requires = "trigger_price")]
    pub trigger_by: TriggerByArg,
}

/// The price a stop watches (`--trigger-by`).
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum TriggerByArg {
    /// The instrument's last trade price.
    Last,
    /// The perpetual's mark price (set by the oracle).
    Mark,
}

impl From<TriggerByArg> for TriggerSource {
    fn from(t: TriggerByArg) -> Self {
        match t {
            TriggerByArg::Last => TriggerSource::LastPrice,
            TriggerByArg::Mark => TriggerSource::MarkPrice,
        }
    }
}

impl PerpCmd {
    /// Whether the command needs an admin session.
    pub fn is_admin(&self) -> bool {
        matches!(
            self,
            PerpCmd::Add(_)
                | PerpCmd::Tier { .. }
                | PerpCmd::MarginDeposit(_)
                | PerpCmd::MarginWithdraw(_)
                | PerpCmd::MarginDebit(_)
        )
    }

    /// The message it sends.
    pub fn message(self) -> Result<ClientMessage, String> {
        Ok(match self {
            PerpCmd::Add(a) => ClientMessage::AddPerpetual(a.spec()?),
            PerpCmd::Tier { instrument, index, max_notional, max_leverage, mmr_ppm, maint_amount } => {
                ClientMessage::SetRiskTier(SetRiskTier {
                    instrument,
                    index,
                    max_leverage,
                    mmr_ppm,
                    max_notional,
                    maint_amount,
                })
            }
            PerpCmd::MarginDeposit(t) => ClientMessage::MarginDeposit(t.transfer()),
            PerpCmd::MarginWithdraw(t) => ClientMessage::MarginWithdraw(t.transfer()),
            PerpCmd::MarginDebit(t) => ClientMessage::MarginDebit(t.transfer()),
            PerpCmd::Leverage { instrument, leverage } => {
                ClientMessage::SetLeverage(SetLeverage { instrument, leverage })
            }
            PerpCmd::MarginMode { instrument, mode } => {
                let mode = match mode {
                    ModeArg::Cross => MarginMode::Cross,
                    ModeArg::Isolated => MarginMode::Isolated,
                };
                ClientMessage::SetMarginMode(SetMarginMode { instrument, mode })
            }
            PerpCmd::IsolatedMargin { instrument, delta } => {
                ClientMessage::AdjustIsolatedMargin(AdjustIsolatedMargin { instrument, delta })
            }
            PerpCmd::WalletTransfer { asset, amount, to } => {
                let to_futures = matches!(to, WalletArg::Futures);
                ClientMessage::WalletTransfer(WalletTransfer { asset, amount, to_futures })
            }
            PerpCmd::Mark { instrument, price } => {
                ClientMessage::SetMarkPrice(SetMarkPrice { instrument, mark_price: price })
            }
            PerpCmd::Funding { instrument, rate_ppm, next_funding_time_ns } => {
                ClientMessage::ApplyFunding(ApplyFunding { instrument, rate_ppm, next_funding_time_ns })
            }
        })
    }
}
