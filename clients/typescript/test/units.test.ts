// Unit tests without a server: decimal amounts and the book builder's algorithm on hand-made
// feed messages (buffering before the snapshot, gaps, top-of-book checks, order-by-order queues).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  BookBuilder,
  FeedBooks,
  credentialFingerprint,
  credentialHash,
  DecimalError,
  formatDecimal,
  InstrumentUnits,
  parseDecimal,
  type MdServerMessage,
  type MdSnapshotEnd,
} from '../src/index';

test('decimal strings to fixed point and back, exactly, without floats', () => {
  assert.equal(parseDecimal('65000.5', 2), 6_500_050n);
  assert.equal(parseDecimal('0.00000001', 8), 1n);
  assert.equal(parseDecimal('12', 0), 12n);
  assert.equal(parseDecimal('1.2300', 2), 123n, 'trailing zeros beyond the scale are fine');
  assert.equal(parseDecimal('-0.01', 2), -1n);
  // Beyond what a double holds exactly.
  assert.equal(parseDecimal('184467440737.09551615', 8), (1n << 64n) - 1n);
  assert.equal(formatDecimal((1n << 64n) - 1n, 8), '184467440737.09551615');
  assert.equal(formatDecimal(5n, 2), '0.05');
  assert.equal(formatDecimal(-5n, 2), '-0.05');
  assert.equal(formatDecimal(7n, 0), '7');
  for (const bad of ['1.001', '1e5', '', '.5', '1,5', 'NaN', '0x10', ' 1 2']) {
    assert.throws(() => parseDecimal(bad, 2), DecimalError, bad);
  }
});

test('instrument units check the tick and lot and derive the quantity scale', () => {
  const u = new InstrumentUnits(
    {
      id: 1, symbol: 'BTC-USDT', baseAsset: 2, quoteAsset: 1, tick: 5n, lot: 1000n, minQty: 1000n, maxQty: 10n ** 10n,
      minNotional: 100n, priceBandBps: 1000, referencePrice: 5_000_000n, qtyScale: 100_000_000n,
    },
    2,
  );
  assert.equal(u.qtyDecimals, 8);
  assert.equal(u.price('50000.05'), 5_000_005n);
  assert.throws(() => u.price('50000.01'), /multiple of the tick \(0\.05\)/);
  assert.throws(() => u.price('0'), /positive/);
  assert.equal(u.qty('0.0015'), 150_000n);
  assert.throws(() => u.qty('0.000015'), /lot/);
  assert.equal(u.formatQty(150_000n), '0.00150000');
  assert.equal(u.notional(6_500_000n, 150_000n), 9750n);
  assert.throws(() => new InstrumentUnits({ ...u.spec, qtyScale: 3n }, 2), /power of ten/);
});

test('credential hash is SHA-256(salt || secret), the value the Rust client computes', () => {
  // The Rust client's test vector (client/src/credential.rs).
  const h = credentialHash(Buffer.from('salt-16-bytes...'), 'abc');
  assert.equal(h.toString('hex'), '5268a4a2cbadd091aca671019d718daa145c3bf7425065ca65c5d89d715b0c2c');
  assert.equal(credentialFingerprint(h), 0x5268a4a2cbadd091n);
  assert.throws(() => credentialHash(Buffer.alloc(16), 'a'.repeat(33)), /at most 32/);
});

const I = 1;
const level = (seq: bigint, side: 'Buy' | 'Sell', price: bigint, qty: bigint, orderCount = 1): MdServerMessage => ({
  type: 'MdLevel', seq, instrument: I, side, price, qty, orderCount,
});
const snapLevel = (seq: bigint, side: 'Buy' | 'Sell', price: bigint, qty: bigint): MdServerMessage => ({
  type: 'MdSnapshotLevel', seq, instrument: I, side, price, qty, orderCount: 1,
});
const snapEnd = (seq: bigint, orderSeq = 0n, ordersIncluded = false): MdServerMessage => ({
  type: 'MdSnapshotEnd', seq, instrument: I, state: 'Trading', truncated: false, ordersIncluded, orderSeq,
  feedEpoch: 1n, bidLevels: 0, askLevels: 0, orders: 0, markPrice: 0n, openInterest: 0n, fundingRatePpm: 0,
  nextFundingTimeNs: 0n,
});
const top = (seq: bigint, bidPrice: bigint, bidQty: bigint, askPrice: bigint, askQty: bigint): MdServerMessage => ({
  type: 'MdTopOfBook', seq, instrument: I, bidPrice, bidQty, askPrice, askQty,
});

test('book builder: deltas before the snapshot are buffered, older ones dropped, the rest applied', () => {
  const b = new BookBuilder(I, false);
  assert.equal(b.apply(level(10n, 'Buy', 100n, 5n)), 'Buffered');
  assert.equal(b.apply(level(11n, 'Buy', 101n, 7n)), 'Buffered');
  assert.equal(b.apply(snapLevel(10n, 'Buy', 100n, 5n)), 'Buffered');
  assert.equal(b.apply(snapEnd(10n)), 'Synced');
  assert.deepEqual(b.book.levels('Buy').map((l) => [l.price, l.qty]), [[101n, 7n], [100n, 5n]]);
  assert.equal(b.apply(top(12n, 101n, 7n, 0n, 0n)), 'Delta');
  assert.equal(b.apply(level(13n, 'Buy', 101n, 0n, 0)), 'Delta');
  assert.equal(b.book.best('Buy')?.price, 100n);
  assert.equal(b.apply(level(13n, 'Buy', 100n, 1n)), 'Ignored', 'already applied');
});

test('book builder: a gap, a top of book that disagrees, and a snapshot that disagrees each break the book', () => {
  const b = new BookBuilder(I, false);
  b.apply(snapEnd(5n));
  assert.deepEqual(b.apply(level(7n, 'Sell', 200n, 1n)), { kind: 'Sequence', instrument: I, stream: 'price', expected: 6n, got: 7n });
  b.reset();
  assert.equal(b.isSynced, false);
  b.apply(snapLevel(8n, 'Sell', 200n, 1n));
  b.apply(snapEnd(8n));
  assert.deepEqual(b.apply(top(9n, 0n, 0n, 200n, 2n)), { kind: 'Inconsistent', instrument: I, seq: 9n });
  b.reset();
  b.apply(snapEnd(9n));
  b.apply(snapLevel(9n, 'Sell', 300n, 1n));
  assert.deepEqual(b.apply(snapEnd(9n)), { kind: 'Inconsistent', instrument: I, seq: 9n });
});

test('book builder, order by order: queues keep time priority, a modify without priority moves to the back', () => {
  const b = new BookBuilder(I, true);
  assert.equal(b.apply(snapEnd(1n, 1n, false)), 'Ignored', 'a snapshot without orders does not do for an order book');
  b.apply({ type: 'MdSnapshotOrder', seq: 1n, instrument: I, side: 'Buy', orderId: 10n, price: 100n, qty: 5n });
  b.apply({ type: 'MdSnapshotOrder', seq: 1n, instrument: I, side: 'Buy', orderId: 11n, price: 100n, qty: 6n });
  assert.equal(b.apply(snapEnd(1n, 1n, true)), 'Synced');
  b.apply({ type: 'MdOrderAdded', orderSeq: 2n, instrument: I, side: 'Buy', orderId: 12n, price: 100n, qty: 7n });
  b.apply({ type: 'MdOrderModified', orderSeq: 3n, instrument: I, side: 'Buy', keptPriority: false, orderId: 10n, price: 100n, qty: 9n });
  b.apply({ type: 'MdOrderExecuted', orderSeq: 4n, instrument: I, side: 'Buy', orderId: 11n, tradeId: 1n, qty: 2n, leaves: 4n });
  assert.deepEqual(b.book.ordersInPriority('Buy').map((o) => [o.orderId, o.qty]), [[11n, 4n], [12n, 7n], [10n, 9n]]);
  b.apply({ type: 'MdOrderDeleted', orderSeq: 5n, instrument: I, side: 'Buy', reason: 'Cancelled', orderId: 12n, qty: 7n });
  b.apply({ type: 'MdOrderExecuted', orderSeq: 6n, instrument: I, side: 'Buy', orderId: 11n, tradeId: 2n, qty: 4n, leaves: 0n });
  assert.deepEqual(b.book.ordersInPriority('Buy').map((o) => o.orderId), [10n]);
  const gap = b.apply({ type: 'MdOrderDeleted', orderSeq: 8n, instrument: I, side: 'Buy', reason: 'Cancelled', orderId: 10n, qty: 9n });
  assert.deepEqual(gap, { kind: 'Sequence', instrument: I, stream: 'order', expected: 7n, got: 8n });
});

test('book builder, perpetuals: marks and funding advance the price stream (a lost one is a gap) and survive a snapshot', () => {
  const b = new BookBuilder(I, false);
  assert.equal(b.apply(snapEnd(4n)), 'Synced');
  assert.equal(b.apply({ type: 'MdMarkPrice', seq: 5n, instrument: I, markPrice: 5_726_630n }), 'Delta');
  assert.equal(
    b.apply({
      type: 'MdFunding', seq: 6n, instrument: I, ratePpm: 100, markPrice: 6_050_000n, openInterest: 137n,
      nextFundingTimeNs: 1_767_254_400_000_000_000n,
    }),
    'Delta',
  );
  assert.deepEqual(
    [b.book.seq, b.book.markPrice, b.book.lastFunding],
    [6n, 6_050_000n, { ratePpm: 100, openInterest: 137n, nextFundingTimeNs: 1_767_254_400_000_000_000n }],
  );
  assert.equal(b.apply(snapEnd(6n)), 'Verified');
  assert.deepEqual(b.apply({ type: 'MdMarkPrice', seq: 8n, instrument: I, markPrice: 1n }), {
    kind: 'Sequence', instrument: I, stream: 'price', expected: 7n, got: 8n,
  });
});

test('book builder, perpetuals: open interest advances the price stream and is the latest of MdOpenInterest and MdFunding', () => {
  const oi = (seq: bigint, openInterest: bigint): MdServerMessage => ({ type: 'MdOpenInterest', seq, instrument: I, openInterest });
  const b = new BookBuilder(I, false);
  assert.equal(b.apply(oi(3n, 50n)), 'Buffered');
  assert.equal(b.apply(snapEnd(2n)), 'Synced');
  assert.deepEqual([b.book.seq, b.book.openInterest], [3n, 50n]);
  assert.equal(b.apply(oi(3n, 999n)), 'Ignored', 'already applied');
  assert.equal(b.apply(oi(4n, 737n)), 'Delta');
  assert.equal(b.book.openInterest, 737n);
  assert.equal(
    b.apply({
      type: 'MdFunding', seq: 5n, instrument: I, ratePpm: -20, markPrice: 6_000_000n, openInterest: 740n,
      nextFundingTimeNs: 0n,
    }),
    'Delta',
  );
  assert.equal(b.book.openInterest, 740n);
  assert.equal(b.apply(snapEnd(5n)), 'Verified');
  assert.equal(b.book.openInterest, 740n);
  assert.deepEqual(b.apply(oi(7n, 1n)), { kind: 'Sequence', instrument: I, stream: 'price', expected: 6n, got: 7n });
});

test('book builder, perpetuals: a snapshot gives the mark, open interest and announced funding at once', () => {
  const NEXT = 1_767_254_400_000_000_000n;
  const perpEnd = (seq: bigint, markPrice: bigint, openInterest: bigint, fundingRatePpm: number, nextFundingTimeNs: bigint): MdServerMessage => ({
    ...(snapEnd(seq) as MdSnapshotEnd), markPrice, openInterest, fundingRatePpm, nextFundingTimeNs,
  });
  const got = (b: BookBuilder) => [b.book.markPrice, b.book.openInterest, b.book.funding];
  const b = new BookBuilder(I, false);
  assert.equal(b.apply({ type: 'MdOpenInterest', seq: 5n, instrument: I, openInterest: 740n }), 'Buffered');
  assert.equal(b.apply(perpEnd(4n, 5_726_630n, 737n, 100, NEXT)), 'Synced');
  assert.deepEqual(got(b), [5_726_630n, 740n, { ratePpm: 100, nextFundingTimeNs: NEXT }], 'the buffered delta after it');
  assert.equal(
    b.apply({ type: 'MdFunding', seq: 6n, instrument: I, ratePpm: -30, markPrice: 5_730_000n, openInterest: 740n, nextFundingTimeNs: NEXT + 1n }),
    'Delta',
  );
  assert.deepEqual(got(b), [5_730_000n, 740n, { ratePpm: -30, nextFundingTimeNs: NEXT + 1n }]);
  assert.equal(b.apply(perpEnd(6n, 5_730_000n, 740n, -30, NEXT + 1n)), 'Verified');
  b.reset();
  assert.equal(b.apply(perpEnd(9n, 5_740_000n, 10n, 0, 0n)), 'Synced');
  assert.deepEqual(got(b), [5_740_000n, 10n, null], 'before any announced funding');
  assert.equal(b.apply(snapEnd(9n)), 'Verified', 'spot, or a server before the fields: says nothing');
  assert.deepEqual(got(b), [5_740_000n, 10n, null]);
});

test('feed books: MdInstrument says which instruments are perpetuals', () => {
  const spec = {
    id: 0, symbol: 'X', baseAsset: 2, quoteAsset: 1, tick: 10n, lot: 1n, minQty: 1n, maxQty: 1000n, minNotional: 0n,
    priceBandBps: 500, referencePrice: 6_000_000n, qtyScale: 1000n,
  };
  const instrument = (id: number, kind: 'Directory' | 'Added', perpetual: boolean): MdServerMessage => ({
    type: 'MdInstrument', seq: 1n, instrument: id, state: 'Halted', kind, orderSeq: 0n, spec: { ...spec, id }, perpetual,
  });
  const f = new FeedBooks(false);
  f.onMessage(instrument(1, 'Directory', false));
  f.onMessage(instrument(3, 'Directory', true));
  assert.equal(f.onMessage(instrument(4, 'Added', true)), 'Synced');
  assert.deepEqual([1, 3, 4, 5].map((id) => f.isPerpetual(id)), [false, true, true, false]);
});
