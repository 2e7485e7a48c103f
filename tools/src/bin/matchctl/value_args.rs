//! The enum arguments several matchctl commands share (`--side`, `--tif`, `--stp`) and the engine
//! values they stand for.

use clap::ValueEnum;
use engine::{Side, StpMode, TimeInForce};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SideArg {
    Buy,
    Sell,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum TifArg {
    Gtc,
    Ioc,
    Fok,
    PostOnly,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum StpArg {
    None,
    CancelTaker,
    CancelMaker,
    CancelBoth,
}

impl From<SideArg> for Side {
    fn from(s: SideArg) -> Side {
        match s {
            SideArg::Buy => Side::Buy,
            SideArg::Sell => Side::Sell,
        }
    }
}

impl From<TifArg> for TimeInForce {
    fn from(t: TifArg) -> TimeInForce {
        match t {
            TifArg::Gtc => TimeInForce::Gtc,
            TifArg::Ioc => TimeInForce::Ioc,
            TifArg::Fok => TimeInForce::Fok,
            TifArg::PostOnly => TimeInForce::PostOnly,
        }
    }
}

impl From<StpArg> for StpMode {
    fn from(s: StpArg) -> StpMode {
        match s {
            StpArg::None => StpMode::None,
            StpArg::CancelTaker => StpMode::CancelTaker,
            StpArg::CancelMaker => StpMode::CancelMaker,
            StpArg::CancelBoth => StpMode::CancelBoth,
        }
    }
}
