-- matchd read side, version 4: the futures side (perpetuals, positions, futures wallets, funding,
-- liquidations). See docs/read-side.md ("Schema", "The futures side") and docs/futures.md.
-- Money (wallets, margins, PnL, fees, funding) is in minor units of the perpetual's quote asset
-- (the margin asset), signed; sizes are signed quantities (> 0 long, < 0 short).

-- Where each table group's futures rows begin: a database projected before this version holds no
-- futures rows for its records up to here. The projector refuses to go on when the journal had
-- a perpetual by then (docs/read-side.md, "Refused input"); a new database starts at 0.
ALTER TABLE projector_checkpoint ADD COLUMN futures_from bigint NOT NULL DEFAULT 0;
UPDATE projector_checkpoint SET futures_from = seq;

-- Spot or perpetual (AddPerpetual). A constant default is a catalogue change, no rewrite.
ALTER TABLE instruments ADD COLUMN perpetual boolean NOT NULL DEFAULT false;

-- A liquidation order's trade: its taker order id is 0 (engine order ids start at 1). Trades
-- projected before this version get their flag here (one pass over `trades`: upgrade in a quiet
-- hour).
ALTER TABLE trades ADD COLUMN liquidation boolean NOT NULL DEFAULT false;
UPDATE trades SET liquidation = true WHERE taker_order_id = 0;

-- ---------------------------------------------------------------------------------------------
-- Current state (table group 1, written with accounts, instruments, orders, balances, candles).

-- A perpetual's risk tiers (SetRiskTier appends them, on an empty market only).
CREATE TABLE risk_tiers (
    instrument_id integer  NOT NULL,
    tier          smallint NOT NULL,
    -- quote minor units: the tier's bracket is notional in (previous max_notional, max_notional]
    max_notional  bigint   NOT NULL,
    max_leverage  integer  NOT NULL,
    mmr_ppm       integer  NOT NULL,
    maint_amount  bigint   NOT NULL,
    set_seq       bigint   NOT NULL,
    PRIMARY KEY (instrument_id, tier)
);

-- A perpetual's market figures now.
CREATE TABLE perpetuals (
    instrument_id  integer PRIMARY KEY,
    -- the oracle's last SetMarkPrice (the spec's reference price before the first)
    mark_price     bigint  NOT NULL,
    -- sum of the long sizes (= sum of the short sizes)
    open_interest  bigint  NOT NULL,
    updated_seq    bigint  NOT NULL,
    updated_ts_ns  bigint  NOT NULL
);

-- Each (account, perpetual) position record in use: a position, or settings (leverage, margin
-- mode) of an account without one.
CREATE TABLE positions (
    account_id      integer NOT NULL,
    instrument_id   integer NOT NULL,
    size            bigint  NOT NULL,
    -- cost basis: what a long paid, what a short received (0 when flat)
    cost            bigint  NOT NULL,
    -- for display, rounded against the holder (0 when flat)
    entry_price     bigint  NOT NULL,
    -- cumulative over the record's life
    realised_pnl    bigint  NOT NULL,
    -- 0 in cross mode
    isolated_margin bigint  NOT NULL,
    -- as of updated_seq (0: none); see docs/read-side.md for when it moves without a row change
    liq_price       bigint  NOT NULL,
    -- in force (the account's own, else the default: min(20, tier 0's max_leverage))
    leverage        integer NOT NULL,
    -- cross | isolated
    margin_mode     text    NOT NULL,
    updated_seq     bigint  NOT NULL,
    updated_ts_ns   bigint  NOT NULL,
    PRIMARY KEY (account_id, instrument_id)
);

-- Each futures wallet now (the cross wallet; isolated margins are in `positions`).
CREATE TABLE futures_wallets (
    account_id    integer NOT NULL,
    asset_id      integer NOT NULL,
    wallet        bigint  NOT NULL,
    updated_seq   bigint  NOT NULL,
    updated_ts_ns bigint  NOT NULL,
    PRIMARY KEY (account_id, asset_id)
);

-- ---------------------------------------------------------------------------------------------
-- History (table group 2, written with order_events, trades, balance_ledger, ...). Keyed by the
-- columns their readers look them up by, no second index (as order_events and balance_ledger).

-- Every PositionChanged: a position after a command that changed it.
CREATE TABLE position_history (
    account_id      integer NOT NULL,
    instrument_id   integer NOT NULL,
    seq             bigint  NOT NULL,
    size            bigint  NOT NULL,
    cost            bigint  NOT NULL,
    entry_price     bigint  NOT NULL,
    realised_pnl    bigint  NOT NULL,
    isolated_margin bigint  NOT NULL,
    liq_price       bigint  NOT NULL,
    ts_ns           bigint  NOT NULL,
    PRIMARY KEY (account_id, instrument_id, seq)
);

-- Every WalletChanged: a futures wallet after a command that moved it (the engine coalesces a
-- command's changes of one wallet into one). wallet_delta = realised_pnl - fee + funding +
-- transfer + isolated_margin + insurance + other; each part is what the command's events itemise
-- for this wallet exactly, `other` the rest (docs/read-side.md, "The futures wallet ledger").
CREATE TABLE futures_ledger (
    account_id      integer NOT NULL,
    asset_id        integer NOT NULL,
    seq             bigint  NOT NULL,
    reason          text    NOT NULL,
    wallet_delta    bigint  NOT NULL,
    wallet          bigint  NOT NULL,
    realised_pnl    bigint  NOT NULL,
    fee             bigint  NOT NULL,
    funding         bigint  NOT NULL,
    transfer        bigint  NOT NULL,
    isolated_margin bigint  NOT NULL,
    insurance       bigint  NOT NULL,
    other           bigint  NOT NULL,
    ts_ns           bigint  NOT NULL,
    PRIMARY KEY (account_id, asset_id, seq)
);

-- Every FundingApplied: one settlement of one perpetual.
CREATE TABLE funding (
    instrument_id integer NOT NULL,
    seq           bigint  NOT NULL,
    rate_ppm      integer NOT NULL,
    mark_price    bigint  NOT NULL,
    open_interest bigint  NOT NULL,
    -- what the payers paid, what the receivers received; residue = paid - received, to the fund
    paid          bigint  NOT NULL,
    received      bigint  NOT NULL,
    residue       bigint  NOT NULL,
    -- the next funding time the oracle announced with it (ns since the epoch; 0: none given,
    -- a journal written before the field existed)
    next_funding_time_ns bigint NOT NULL,
    ts_ns         bigint  NOT NULL,
    PRIMARY KEY (instrument_id, seq)
);

-- Every FundingPayment: > 0 received, < 0 paid (into the wallet, or an isolated position's margin).
CREATE TABLE funding_payments (
    account_id    integer NOT NULL,
    instrument_id integer NOT NULL,
    seq           bigint  NOT NULL,
    amount        bigint  NOT NULL,
    ts_ns         bigint  NOT NULL,
    PRIMARY KEY (account_id, instrument_id, seq)
);

-- Every Liquidation (one per position liquidated), with how it was closed.
CREATE TABLE liquidations (
    account_id       integer NOT NULL,
    seq              bigint  NOT NULL,
    idx              integer NOT NULL,
    instrument_id    integer NOT NULL,
    size             bigint  NOT NULL,
    mark_price       bigint  NOT NULL,
    liq_price        bigint  NOT NULL,
    bankruptcy_price bigint  NOT NULL,
    -- closed through the book (trades with liquidation = true), taken over by the insurance fund,
    -- auto-deleveraged against opposite positions (auto_deleveraging): they add up to |size|
    book_qty         bigint  NOT NULL,
    taken_over_qty   bigint  NOT NULL,
    adl_qty          bigint  NOT NULL,
    -- what was left of the margin, to the fund (on the row of the position that triggered it)
    clearance        bigint  NOT NULL,
    ts_ns            bigint  NOT NULL,
    PRIMARY KEY (account_id, seq, idx)
);

-- Every AutoDeleveraged: a position reduced against a bankrupt one at its bankruptcy price.
CREATE TABLE auto_deleveraging (
    -- the account whose position was reduced
    account_id            integer NOT NULL,
    seq                   bigint  NOT NULL,
    idx                   integer NOT NULL,
    liquidated_account_id integer NOT NULL,
    instrument_id         integer NOT NULL,
    qty                   bigint  NOT NULL,
    price                 bigint  NOT NULL,
    ts_ns                 bigint  NOT NULL,
    PRIMARY KEY (account_id, seq, idx)
);

-- Every accepted SetMarkPrice (one row per oracle command: cheap next to the order flow).
CREATE TABLE mark_prices (
    instrument_id integer NOT NULL,
    seq           bigint  NOT NULL,
    mark_price    bigint  NOT NULL,
    ts_ns         bigint  NOT NULL,
    PRIMARY KEY (instrument_id, seq)
);
