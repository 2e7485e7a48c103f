// Market data against a real matchd: the feed's books (snapshot + deltas, order by order) equal
// matchd's own book, read as a fresh snapshot on another connection, after a flow of orders,
// trades, amends and cancels; a lost message is detected as a gap and the book resyncs.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { Book, type Gap, MdClient, MdFeed, type MdServerMessage, type OrderClient } from '../src/index';
import { ALICE, BOB, BTC, IO_MS, lots, Matchd, px } from './harness';

let m: Matchd;
let feed: MdFeed;
let alice: OrderClient;
let bob: OrderClient;

before(async () => {
  m = await Matchd.start();
  feed = await MdFeed.connect({ host: m.host, port: m.port, orderByOrder: true });
  alice = await m.login(ALICE);
  bob = await m.login(BOB);
});

after(async () => {
  await alice.logout();
  await bob.logout();
  await feed.logout();
  await m.stop();
});

/** matchd's book of `instrument` now: a snapshot with orders, on a connection of its own. */
async function serverBook(instrument: number): Promise<Book> {
  const c = await MdClient.connect({ host: m.host, port: m.port, orderByOrder: true });
  const book = new Book();
  await new Promise<void>((res, rej) => {
    const t = setTimeout(() => rej(new Error('no snapshot')), IO_MS);
    c.on('message', (msg: MdServerMessage) => {
      if (msg.type === 'MdSnapshotLevel' && msg.instrument === instrument) {
        book.side(msg.side).set(msg.price, { price: msg.price, qty: msg.qty, orderCount: msg.orderCount });
      } else if (msg.type === 'MdSnapshotOrder' && msg.instrument === instrument) {
        book.addOrder({ orderId: msg.orderId, side: msg.side, price: msg.price, qty: msg.qty });
      } else if (msg.type === 'MdSnapshotEnd' && msg.instrument === instrument) {
        book.seq = msg.seq;
        book.orderSeq = msg.orderSeq;
        book.state = msg.state;
        clearTimeout(t);
        res();
      }
    });
    c.requestSnapshot(instrument, 0, true);
  });
  await c.logout();
  return book;
}

/** Waits until the feed's book of `instrument` is live and has applied everything up to `book`'s seqs. */
async function feedReaches(instrument: number, book: Book): Promise<Book> {
  const done = (): boolean => {
    const b = feed.books.book(instrument);
    return feed.books.isSynced(instrument) && b !== undefined && b.seq >= book.seq && b.orderSeq >= book.orderSeq;
  };
  await new Promise<void>((res, rej) => {
    if (done()) return res();
    const t = setTimeout(() => rej(new Error(`the feed did not reach seq ${book.seq}`)), IO_MS);
    const check = (): void => {
      if (done()) {
        clearTimeout(t);
        feed.off('update', check);
        res();
      }
    };
    feed.on('update', check);
  });
  return feed.books.book(instrument)!;
}

/** A flow that leaves several levels, partial fills, an amended and a cancelled order. */
async function flow(round: number): Promise<void> {
  const base = round * 100;
  const bids = [];
  for (let i = 0; i < 4; i++) bids.push(await alice.placeOrder({ instrument: BTC, side: 'Buy', price: px(-base - 10 * i), qty: lots(20 + i) }));
  for (let i = 0; i < 4; i++) await bob.placeOrder({ instrument: BTC, side: 'Sell', price: px(base + 10 + 10 * i), qty: lots(30 + i) });
  // Two levels at the same price: time priority matters in the order-by-order book.
  await bob.placeOrder({ instrument: BTC, side: 'Buy', price: px(-base), qty: lots(25) });
  // Takes alice's best bid partly, at its price.
  await bob.placeOrder({ instrument: BTC, side: 'Sell', price: px(-base), qty: lots(7), tif: 'IOC' });
  await alice.amend({ engine: bids[1]!.orderId }, { newQty: lots(15) });
  await alice.amend({ engine: bids[2]!.orderId }, { newPrice: px(-base - 5) });
  await alice.cancel({ engine: bids[3]!.orderId });
  // Sweeps two ask levels.
  await alice.placeOrder({ instrument: BTC, side: 'Buy', price: px(base + 20), qty: lots(45), tif: 'IOC' });
}

test("after a flow, the feed's book (levels and orders in priority) equals matchd's", async () => {
  await feed.whenAllSynced(IO_MS);
  assert.deepEqual(feed.books.instruments(), [1, 2]);
  assert.equal(feed.books.specs.get(BTC)?.symbol, 'BTC-USDT');
  await flow(1);
  const server = await serverBook(BTC);
  const mine = await feedReaches(BTC, server);
  assert.equal(mine.seq, server.seq);
  assert.ok(mine.sameAs(server, true), 'same levels and orders');
  assert.deepEqual(mine.levels('Buy'), server.levels('Buy'));
  assert.deepEqual(mine.ordersInPriority('Buy'), server.ordersInPriority('Buy'));
  // What the flow left: alice's 13 lots and bob's 25 at -100, then the amended 15 at -110 ...
  assert.deepEqual(mine.best('Buy'), { price: px(-100), qty: lots(13 + 25), orderCount: 2 });
  // ... and the sweep took the ask at 110 whole and 15 of the 31 lots at 120.
  assert.deepEqual(mine.best('Sell'), { price: px(120), qty: lots(16), orderCount: 1 });
  assert.deepEqual(mine.lastTrade, { price: px(120), qty: lots(15) });
  assert.equal(feed.books.gaps, 0);
});

test('a lost delta is a gap: the book is dropped, resynced by snapshot, and equals matchd again', async () => {
  let dropped = false;
  const gaps: Gap[] = [];
  feed.on('gap', (g) => gaps.push(g));
  feed.filter = (msg) => {
    if (!dropped && msg.type === 'MdLevel' && msg.instrument === BTC) {
      dropped = true;
      return false;
    }
    return true;
  };
  const syncs = feed.books.syncs;
  await flow(2);
  const server = await serverBook(BTC);
  const mine = await feedReaches(BTC, server);
  assert.ok(dropped);
  assert.ok(gaps.length >= 1 && gaps[0]!.instrument === BTC, JSON.stringify(gaps, (_k, v) => (typeof v === 'bigint' ? String(v) : v)));
  assert.ok(feed.books.syncs > syncs, 'resynced by a snapshot');
  assert.ok(mine.sameAs(server, true));
  feed.filter = () => true;
});

test("a snapshot asked for on the feed's own connection confirms the live book", async () => {
  const verified = feed.books.verified;
  feed.client.requestSnapshot(BTC, 0, true);
  await new Promise<void>((res, rej) => {
    const t = setTimeout(() => rej(new Error('no verification')), IO_MS);
    const check = (_i: number, applied: string): void => {
      if (applied === 'Verified') {
        clearTimeout(t);
        feed.off('update', check);
        res();
      }
    };
    feed.on('update', check);
  });
  assert.equal(feed.books.verified, verified + 1);
});

test('a new instrument joins the feed live with an empty book; snapshot refusals have their reasons', async () => {
  const synced = new Promise<number>((res) => feed.once('synced', res));
  const admin = await m.admin();
  await admin.addInstrument({
    id: 7, symbol: 'SOL-USDT', baseAsset: 4, quoteAsset: 1, tick: 1n, lot: 1000n, minQty: 1000n, maxQty: 10n ** 10n,
    minNotional: 100n, priceBandBps: 1000, referencePrice: 15_000n, qtyScale: 100_000_000n,
  });
  await admin.logout();
  assert.equal(await synced, 7);
  assert.equal(feed.books.specs.get(7)?.symbol, 'SOL-USDT');
  const sol = feed.books.book(7)!;
  assert.deepEqual([sol.seq, sol.levels('Buy'), sol.levels('Sell'), sol.state], [1n, [], [], 'Trading']);
  await alice.placeOrder({ instrument: 7, side: 'Buy', price: 14_990n, qty: 1_000_000n });
  const server = await serverBook(7);
  assert.ok((await feedReaches(7, server)).sameAs(server, true));

  // A subscription without order by order may not ask for orders; nobody may ask for an unknown instrument.
  const plain = await MdClient.connect({ host: m.host, port: m.port });
  assert.equal(plain.accepted.orderByOrder, false);
  const refusals: string[] = [];
  const two = new Promise<void>((res) =>
    plain.on('message', (msg) => {
      if (msg.type === 'MdSnapshotRejected') refusals.push(`${msg.instrument}:${msg.reason}`);
      if (refusals.length === 2) res();
    }),
  );
  plain.requestSnapshot(BTC, 0, true);
  plain.requestSnapshot(99, 0, false);
  await two;
  assert.deepEqual(refusals, [`${BTC}:OrdersNotSubscribed`, '99:UnknownInstrument']);
  await plain.logout();
});
