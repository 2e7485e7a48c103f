-- matchd read side, version 2: two table groups written by two sessions, and fewer index
-- entries per row. See docs/read-side.md ("The pipeline", "Schema").

-- One checkpoint row per table group, each written in the same transaction as its group's rows:
-- id 1, the current-state tables (accounts, instruments, orders, balances, candles); id 2, the
-- history (order_events, trades, balance_ledger, transfers, rejections). Both start where the
-- single checkpoint of version 1 was.
ALTER TABLE projector_checkpoint DROP CONSTRAINT projector_checkpoint_id_check;
ALTER TABLE projector_checkpoint ADD CONSTRAINT projector_checkpoint_id_check CHECK (id IN (1, 2));
ALTER TABLE projector_checkpoint ADD COLUMN table_group text;
UPDATE projector_checkpoint SET table_group = 'state' WHERE id = 1;
INSERT INTO projector_checkpoint (id, seq, state_hash, ts_ns, table_group)
    SELECT 2, seq, state_hash, ts_ns, 'history' FROM projector_checkpoint WHERE id = 1;
ALTER TABLE projector_checkpoint ALTER COLUMN table_group SET NOT NULL;

-- Fewer index entries per row: every secondary index costs each insert a B-tree descent on one
-- PostgreSQL backend, and these are the projection's bottleneck (BENCHMARKS.md, "Read side").
-- An account's open orders are read through orders_by_account (the account's orders, newest
-- first, filtered on status); an account's fills through orders_by_account, order_events_by_order
-- and the trades' primary key (docs/read-side.md, "Queries a backend runs"). A deployment that
-- wants the old access paths back creates them itself (CREATE INDEX CONCURRENTLY, see there).
DROP INDEX orders_open;
DROP INDEX trades_by_maker;
DROP INDEX trades_by_taker;
-- Without orders_open no index covers `status`, so an order's later changes (fills, cancels,
-- amends: no indexed column changes) are heap-only updates when its page has room: leave a
-- fifth of each new page free for them.
ALTER TABLE orders SET (fillfactor = 80);
