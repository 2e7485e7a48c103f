-- matchd read side, version 1. Written only by matchd-projector; see docs/read-side.md.
-- Prices are in the instrument's price units (multiples of its tick), quantities in base-asset
-- minor units (multiples of its lot), amounts in the asset's minor units: integers, never floats.
-- Opaque 64-bit ids chosen outside the exchange (client_order_id, tx_id) keep their 64 bits in a
-- bigint (values of 2^63 and above read as negative); every other integer is checked < 2^63.
-- Times are the gateway's receive stamps of the commands (nanoseconds since the Unix epoch), so
-- the same journal gives the same rows.

-- The last journal record applied, written in the same transaction as the rows it produced.
CREATE TABLE projector_checkpoint (
    id          smallint PRIMARY KEY CHECK (id = 1),
    seq         bigint   NOT NULL CHECK (seq >= 0),
    -- engine.state_hash() after `seq`, 16 bytes big-endian; NULL at seq 0.
    state_hash  bytea    CHECK (state_hash IS NULL OR length(state_hash) = 16),
    -- The gateway stamp of the command at `seq` (lag in seconds is measured against it).
    ts_ns       bigint   NOT NULL DEFAULT 0
);
INSERT INTO projector_checkpoint (id, seq, state_hash) VALUES (1, 0, NULL);

CREATE TABLE accounts (
    account_id  integer  PRIMARY KEY,
    status      text     NOT NULL,
    fee_tier    smallint NOT NULL,
    created_seq bigint   NOT NULL,
    updated_seq bigint   NOT NULL
);

CREATE TABLE instruments (
    instrument_id   integer PRIMARY KEY,
    symbol          text    NOT NULL,
    base_asset      integer NOT NULL,
    quote_asset     integer NOT NULL,
    -- Price units per tick; quantity minor units per lot.
    tick            bigint  NOT NULL,
    lot             bigint  NOT NULL,
    -- notional (quote minor units) = price * qty / qty_scale.
    qty_scale       bigint  NOT NULL,
    min_qty         bigint  NOT NULL,
    max_qty         bigint  NOT NULL,
    min_notional    bigint  NOT NULL,
    price_band_bps  integer NOT NULL,
    reference_price bigint  NOT NULL,
    state           text    NOT NULL,
    added_seq       bigint  NOT NULL,
    updated_seq     bigint  NOT NULL
);

-- Every order's current state (one row per engine order id).
CREATE TABLE orders (
    order_id        bigint  PRIMARY KEY,
    account_id      integer NOT NULL,
    instrument_id   integer NOT NULL,
    client_order_id bigint  NOT NULL,
    side            text    NOT NULL,
    order_type      text    NOT NULL,
    tif             text    NOT NULL,
    price           bigint  NOT NULL,
    qty             bigint  NOT NULL,
    filled_qty      bigint  NOT NULL,
    leaves_qty      bigint  NOT NULL,
    -- new | partially_filled | filled | cancelled
    status          text    NOT NULL,
    cancel_reason   text,
    created_seq     bigint  NOT NULL,
    created_ts_ns   bigint  NOT NULL,
    updated_seq     bigint  NOT NULL,
    updated_ts_ns   bigint  NOT NULL
);
-- An account's order history, newest first, keyset-paginated on order_id.
CREATE INDEX orders_by_account ON orders (account_id, order_id DESC);
-- Open orders only.
CREATE INDEX orders_open ON orders (account_id, instrument_id) WHERE status IN ('new', 'partially_filled');

-- Every change of every order: (seq, idx) is the command's journal sequence and the change's
-- position among that command's order changes.
CREATE TABLE order_events (
    seq           bigint  NOT NULL,
    idx           integer NOT NULL,
    order_id      bigint  NOT NULL,
    account_id    integer NOT NULL,
    -- accepted | fill | amended | cancelled
    kind          text    NOT NULL,
    price         bigint  NOT NULL,
    qty           bigint  NOT NULL,
    filled_qty    bigint  NOT NULL,
    leaves_qty    bigint  NOT NULL,
    trade_id      bigint,
    cancel_reason text,
    ts_ns         bigint  NOT NULL,
    PRIMARY KEY (seq, idx)
);
CREATE INDEX order_events_by_order ON order_events (order_id, seq, idx);

CREATE TABLE trades (
    trade_id         bigint  PRIMARY KEY,
    seq              bigint  NOT NULL,
    instrument_id    integer NOT NULL,
    price            bigint  NOT NULL,
    qty              bigint  NOT NULL,
    -- quote minor units: price * qty / qty_scale, rounded down
    notional         bigint  NOT NULL,
    taker_side       text    NOT NULL,
    maker_order_id   bigint  NOT NULL,
    maker_account_id integer NOT NULL,
    taker_order_id   bigint  NOT NULL,
    taker_account_id integer NOT NULL,
    -- quote minor units; negative = rebate
    maker_fee        bigint  NOT NULL,
    taker_fee        bigint  NOT NULL,
    ts_ns            bigint  NOT NULL
);
CREATE INDEX trades_by_instrument_time ON trades (instrument_id, ts_ns, trade_id);
CREATE INDEX trades_by_maker ON trades (maker_account_id, trade_id);
CREATE INDEX trades_by_taker ON trades (taker_account_id, trade_id);

-- Every balance change: (seq, idx) as in order_events. The engine coalesces one command's changes
-- of one (account, asset) into one, with the strongest reason (trade > cancel > order).
CREATE TABLE balance_ledger (
    seq             bigint  NOT NULL,
    idx             integer NOT NULL,
    account_id      integer NOT NULL,
    asset_id        integer NOT NULL,
    -- order | cancel | trade | deposit | withdraw
    reason          text    NOT NULL,
    available_delta bigint  NOT NULL,
    reserved_delta  bigint  NOT NULL,
    available       bigint  NOT NULL,
    reserved        bigint  NOT NULL,
    ts_ns           bigint  NOT NULL,
    PRIMARY KEY (seq, idx)
);
CREATE INDEX balance_ledger_by_account ON balance_ledger (account_id, asset_id, seq);

-- Every balance now.
CREATE TABLE balances (
    account_id  integer NOT NULL,
    asset_id    integer NOT NULL,
    available   bigint  NOT NULL,
    reserved    bigint  NOT NULL,
    updated_seq bigint  NOT NULL,
    PRIMARY KEY (account_id, asset_id)
);

-- Deposits and withdrawals applied (rejected ones are in `rejections`).
CREATE TABLE transfers (
    seq        bigint  PRIMARY KEY,
    -- deposit | withdraw
    kind       text    NOT NULL,
    account_id integer NOT NULL,
    asset_id   integer NOT NULL,
    amount     bigint  NOT NULL,
    tx_id      bigint  NOT NULL,
    ts_ns      bigint  NOT NULL
);
CREATE INDEX transfers_by_account ON transfers (account_id, asset_id, seq);

-- Commands the engine refused (they changed nothing).
CREATE TABLE rejections (
    seq             bigint  NOT NULL,
    idx             integer NOT NULL,
    account_id      integer NOT NULL,
    -- the command's type, e.g. new_order, cancel, withdraw
    command         text    NOT NULL,
    client_order_id bigint  NOT NULL,
    order_id        bigint  NOT NULL,
    instrument_id   integer NOT NULL,
    reason          text    NOT NULL,
    ts_ns           bigint  NOT NULL,
    PRIMARY KEY (seq, idx)
);
CREATE INDEX rejections_by_account ON rejections (account_id, seq);

-- 1-minute OHLCV per instrument, by the trades' gateway stamps.
CREATE TABLE candles (
    instrument_id  integer     NOT NULL,
    bucket_start   timestamptz NOT NULL,
    open           bigint      NOT NULL,
    high           bigint      NOT NULL,
    low            bigint      NOT NULL,
    close          bigint      NOT NULL,
    -- base minor units / quote minor units
    volume         numeric     NOT NULL,
    quote_volume   numeric     NOT NULL,
    trade_count    bigint      NOT NULL,
    first_trade_id bigint      NOT NULL,
    last_trade_id  bigint      NOT NULL,
    PRIMARY KEY (instrument_id, bucket_start)
);
