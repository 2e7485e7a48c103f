// Order entry against a real matchd (matching only: exact report sequences): logins, an order
// filled between two accounts with every field checked, cancel, amend, and every reject the
// engine and the gateway give that a client can provoke.
import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';

import {
  CommandRejectedError,
  ConnectionClosedError,
  encode,
  EncodeError,
  LoginRejectedError,
  OrderClient,
  SessionRejectedError,
  TEMPLATE,
  type Fill,
  type OrderAccepted,
  type Report,
} from '../src/index';
import { ALICE, BOB, BTC, lots, Matchd, px, Reports, sync } from './harness';

let m: Matchd;

before(async () => {
  m = await Matchd.start();
});

after(async () => {
  await m.stop();
});

// Every session a test opens ends with it, passed or failed (the next test logs the accounts in).
const sessions: OrderClient[] = [];
afterEach(async () => {
  for (const c of sessions.splice(0)) {
    if (c.isOpen) await c.logout();
  }
});

async function login(...args: Parameters<Matchd['login']>): Promise<OrderClient> {
  const c = await m.login(...args);
  sessions.push(c);
  return c;
}

/** Logs both traders in with report collectors. */
async function pair(): Promise<[OrderClient, Reports, OrderClient, Reports]> {
  const a = await login(ALICE);
  const ra = new Reports(a);
  const b = await login(BOB);
  const rb = new Reports(b);
  // Start from a clean slate: skip the history resent at login.
  await sync(a, ra);
  await sync(b, rb);
  return [a, ra, b, rb];
}

async function done(...cs: OrderClient[]): Promise<void> {
  for (const c of cs) {
    await c.massCancel();
    await c.logout();
  }
}

test('login: accepted with the session parameters; a wrong secret or role is refused', async () => {
  const a = await login(ALICE, { heartbeatIntervalMs: 500 });
  assert.equal(a.session.account, ALICE.account);
  assert.equal(a.session.role, 'Trader');
  assert.equal(a.session.heartbeatIntervalMs, 500);
  assert.equal(a.session.heartbeatTimeoutMs, 60_000);
  assert.equal(a.session.nextSeq, 1n);
  await a.logout();

  const refused = (e: unknown, reason: string) => e instanceof LoginRejectedError && e.reason === reason;
  await assert.rejects(OrderClient.connect({ host: m.host, port: m.port, account: 1, secret: 'wrong' }), (e) => refused(e, 'BadCredentials'));
  await assert.rejects(OrderClient.connect({ host: m.host, port: m.port, account: 9, secret: 'alice-demo' }), (e) => refused(e, 'BadCredentials'));
  await assert.rejects(
    OrderClient.connect({ host: m.host, port: m.port, account: 1, secret: 'alice-demo', role: 'Admin' }),
    (e) => refused(e, 'BadCredentials'),
  );
  // One session per account.
  const again = await login(ALICE);
  await assert.rejects(OrderClient.connect({ host: m.host, port: m.port, ...ALICE }), (e) => refused(e, 'AlreadyLoggedIn'));
  await again.logout();
});

test('an order rests, another takes it: accepted and filled with exact fields on both sides', async () => {
  const [a, ra, b, rb] = await pair();
  const buy = await a.placeOrder({ instrument: BTC, side: 'Buy', price: px(-100), qty: lots(30), clientOrderId: 1001n });
  const accepted = (await ra.next()) as OrderAccepted;
  assert.deepEqual(accepted, buy);
  assert.equal(buy.type, 'OrderAccepted');
  assert.equal(buy.account, ALICE.account);
  assert.equal(buy.instrument, BTC);
  assert.equal(buy.clientOrderId, 1001n);
  assert.equal(buy.price, px(-100));
  assert.equal(buy.qty, lots(30));
  assert.deepEqual([buy.side, buy.orderType, buy.tif], ['Buy', 'Limit', 'GTC']);
  assert.ok(buy.orderId > 0n && buy.timestampNs > 0n);

  const sell = await b.placeOrder({ instrument: BTC, side: 'Sell', price: px(-200), qty: lots(10), tif: 'IOC', clientOrderId: 2001n });
  assert.deepEqual([sell.side, sell.tif, sell.price], ['Sell', 'IOC', px(-200)]);
  const [sellAccepted, takerFill] = (await rb.take(2)) as [OrderAccepted, Fill];
  assert.deepEqual(sellAccepted, sell);
  const makerFill = (await ra.next()) as Fill;

  // The trade happens at the maker's price; both fills carry the same trade id.
  assert.deepEqual(
    { ...makerFill, seq: 0n, timestampNs: 0n },
    {
      type: 'Fill', seq: 0n, account: ALICE.account, instrument: BTC, orderId: buy.orderId, clientOrderId: 1001n,
      tradeId: makerFill.tradeId, price: px(-100), qty: lots(10), leavesQty: lots(20), timestampNs: 0n, side: 'Buy',
      liquidity: 'Maker', fee: 0n, liquidation: false,
    },
  );
  assert.deepEqual(
    { ...takerFill, seq: 0n, timestampNs: 0n },
    {
      type: 'Fill', seq: 0n, account: BOB.account, instrument: BTC, orderId: sell.orderId, clientOrderId: 2001n,
      tradeId: makerFill.tradeId, price: px(-100), qty: lots(10), leavesQty: 0n, timestampNs: 0n, side: 'Sell',
      liquidity: 'Taker', fee: 0n, liquidation: false,
    },
  );
  // The taking command's receive time stamps the trade, for both sides.
  assert.equal(makerFill.timestampNs, sell.timestampNs);
  assert.equal(takerFill.timestampNs, sell.timestampNs);
  // Consecutive sequence numbers on each account's stream.
  assert.equal(makerFill.seq, buy.seq + 1n);
  assert.equal(takerFill.seq, sell.seq + 1n);
  assert.equal(a.lastSeenSeq, makerFill.seq);
  await done(a, b);
});

test('cancel by client and by engine order id; a second cancel is UnknownOrder', async () => {
  const [a, ra] = await pair();
  const o1 = await a.placeOrder({ instrument: BTC, side: 'Sell', price: px(500), qty: lots(20) });
  const o2 = await a.placeOrder({ instrument: BTC, side: 'Sell', price: px(501), qty: lots(20) });
  const c1 = await a.cancel({ client: o1.clientOrderId });
  assert.deepEqual(
    { ...c1, seq: 0n },
    {
      type: 'OrderCancelled', seq: 0n, account: ALICE.account, instrument: BTC, orderId: o1.orderId,
      clientOrderId: o1.clientOrderId, cancelledQty: lots(20), filledQty: 0n, side: 'Sell', reason: 'User',
    },
  );
  const c2 = await a.cancel({ engine: o2.orderId });
  assert.equal(c2.orderId, o2.orderId);
  await assert.rejects(a.cancel({ engine: o2.orderId }), (e) =>
    e instanceof CommandRejectedError && e.report.reason === 'UnknownOrder' && e.report.command === 'Cancel' && e.report.orderId === o2.orderId,
  );
  const got = (await ra.take(5)).map((r) => r.type);
  assert.deepEqual(got, ['OrderAccepted', 'OrderAccepted', 'OrderCancelled', 'OrderCancelled', 'CommandRejected']);
  await done(a);
});

test('amend: a decrease keeps priority, a price change loses it, down to the filled quantity cancels', async () => {
  const [a, , b] = await pair();
  const o = await a.placeOrder({ instrument: BTC, side: 'Buy', price: px(-300), qty: lots(40) });
  const down = await a.amend({ engine: o.orderId }, { newQty: lots(30) });
  assert.equal(down.type, 'OrderAmended');
  assert.ok(down.type === 'OrderAmended');
  assert.deepEqual([down.qty, down.leavesQty, down.price, down.keptPriority], [lots(30), lots(30), px(-300), true]);
  const moved = await a.amend({ client: o.clientOrderId }, { newPrice: px(-250) });
  assert.ok(moved.type === 'OrderAmended');
  assert.deepEqual([moved.price, moved.keptPriority, moved.orderId], [px(-250), false, o.orderId]);
  // Fill 10 lots, then amend to 10 (the filled quantity): the order is cancelled.
  await b.placeOrder({ instrument: BTC, side: 'Sell', price: px(-250), qty: lots(10), tif: 'IOC' });
  const gone = await a.amend({ engine: o.orderId }, { newQty: lots(10) });
  assert.ok(gone.type === 'OrderCancelled');
  assert.deepEqual([gone.reason, gone.filledQty, gone.cancelledQty], ['User', lots(10), lots(20)]);
  await done(a, b);
});

test('every engine reject a trader can provoke, with its specific reason', async () => {
  const [a, , b] = await pair();
  const rest = await a.placeOrder({ instrument: BTC, side: 'Sell', price: px(1000), qty: lots(20), clientOrderId: 7000n });
  const rejects: [string, Promise<unknown>][] = [
    ['UnknownInstrument', a.placeOrder({ instrument: 99, side: 'Buy', price: px(0), qty: lots(20) })],
    ['PriceOffTick', a.placeOrder({ instrument: BTC, side: 'Buy', price: 0n, qty: lots(20) })],
    ['QtyOffLot', a.placeOrder({ instrument: BTC, side: 'Buy', price: px(0), qty: lots(20) + 1n })],
    ['QtyOutOfRange', a.placeOrder({ instrument: BTC, side: 'Buy', price: px(0), qty: 10_000_001_000n })],
    ['BelowMinNotional', a.placeOrder({ instrument: BTC, side: 'Buy', price: px(0), qty: lots(1) })],
    ['OutsidePriceBand', a.placeOrder({ instrument: BTC, side: 'Buy', price: px(1_000_000), qty: lots(20) })],
    ['DuplicateClientOrderId', a.placeOrder({ instrument: BTC, side: 'Sell', price: px(1001), qty: lots(20), clientOrderId: 7000n })],
    ['PostOnlyWouldTake', b.placeOrder({ instrument: BTC, side: 'Buy', price: px(1000), qty: lots(20), tif: 'PostOnly' })],
    ['FokCannotFill', b.placeOrder({ instrument: BTC, side: 'Buy', price: px(1000), qty: lots(30), tif: 'FOK' })],
    ['InvalidField', a.placeOrder({ instrument: BTC, side: 'Buy', orderType: 'Market', price: px(0), qty: lots(20) })],
    ['UnknownOrder', a.cancel({ client: 123_456_789n })],
    ['UnknownOrder', a.amend({ engine: 987_654_321n }, { newQty: lots(2) })],
    ['InvalidField', a.amend({ engine: rest.orderId }, {})],
  ];
  // Sent back to back; each settles with its own answer.
  const outcomes = await Promise.all(rejects.map(([, p]) => p.then((v) => v, (e: unknown) => e)));
  assert.deepEqual(
    outcomes.map((e) => (e instanceof CommandRejectedError ? e.report.reason : e)),
    rejects.map(([reason]) => reason),
  );
  // Another account's live order is "unknown" too (the answer never tells which ids are live).
  await assert.rejects(b.cancel({ engine: rest.orderId }), (e) => e instanceof CommandRejectedError && e.report.reason === 'UnknownOrder');

  // A halted instrument refuses new orders; the admin's rejects carry their own reasons.
  const admin = await login({ account: 0, secret: 'admin-demo' }, { role: 'Admin' });
  await admin.setInstrumentState(BTC, 'Halted');
  await assert.rejects(a.placeOrder({ instrument: BTC, side: 'Buy', price: px(0), qty: lots(20) }), (e) =>
    e instanceof CommandRejectedError && e.report.reason === 'InstrumentNotTrading',
  );
  await assert.rejects(admin.setInstrumentState(BTC, 'Halted'), (e) => e instanceof CommandRejectedError && e.report.reason === 'InvalidStateTransition');
  await admin.setInstrumentState(BTC, 'Trading');
  await assert.rejects(
    admin.addInstrument({
      id: BTC, symbol: 'BTC-USDT', baseAsset: 2, quoteAsset: 1, tick: 1n, lot: 1000n, minQty: 1000n, maxQty: 10_000_000_000n,
      minNotional: 100n, priceBandBps: 1000, referencePrice: 5_000_000n, qtyScale: 100_000_000n,
    }),
    (e) => e instanceof CommandRejectedError && e.report.reason === 'InstrumentExists',
  );
  // Matching only: account commands are not available.
  await assert.rejects(admin.createAccount(77), (e) => e instanceof CommandRejectedError && e.report.reason === 'AccountsDisabled');
  await admin.logout();
  await done(a, b);
});

test('session rejects: not permitted, a bad field (with its offset and the client order id), an unknown template', async () => {
  const [a, ra] = await pair();
  const admin = await login({ account: 0, secret: 'admin-demo' }, { role: 'Admin' });
  await assert.rejects(admin.placeOrder({ instrument: BTC, side: 'Buy', price: px(0), qty: lots(20) }), (e) =>
    e instanceof SessionRejectedError && e.reject.reason === 'NotPermitted' && e.reject.refTemplateId === TEMPLATE.NewOrder,
  );
  await assert.rejects(a.setInstrumentState(BTC, 'Halted'), (e) => e instanceof SessionRejectedError && e.reject.reason === 'NotPermitted');
  await assert.rejects(a.queryAccount(BOB.account), (e) => e instanceof SessionRejectedError && e.reject.reason === 'NotPermitted');
  await admin.logout();

  const rejects: unknown[] = [];
  a.on('sessionReject', (r) => rejects.push(r));
  // A NewOrder whose side byte (block offset 28) is 3.
  const bad = encode({ type: 'NewOrder', clientOrderId: 4242n, instrument: BTC, side: 'Buy', orderType: 'Limit', tif: 'GTC', stp: 'None', price: px(0), qty: lots(20) });
  bad[10 + 28] = 3;
  a.sendRaw(bad);
  // Template 39 (order entry range, unknown).
  const unknown = encode({ type: 'MassCancel' });
  unknown.writeUInt16LE(39, 4);
  a.sendRaw(unknown);
  // Both are refused without ending the session: it still trades.
  const o = await a.placeOrder({ instrument: BTC, side: 'Buy', price: px(-900), qty: lots(20) });
  assert.equal(o.type, 'OrderAccepted');
  assert.deepEqual(rejects, [
    { type: 'SessionReject', clientOrderId: 4242n, refTemplateId: TEMPLATE.NewOrder, fieldOffset: 28, reason: 'BadFieldValue' },
    { type: 'SessionReject', clientOrderId: 0n, refTemplateId: 39, fieldOffset: null, reason: 'UnknownTemplate' },
  ]);
  // Nothing reached the engine: no report for them.
  assert.deepEqual((await sync(a, ra)).map((r: Report) => r.type), ['OrderAccepted']);
  await done(a);
});

test('a framing error ends the session: SessionReject, Logout(ProtocolError), pending requests fail', async () => {
  const a = await login(ALICE);
  const closed = new Promise<Error | null>((res) => a.once('close', res));
  const logouts: string[] = [];
  a.on('logout', (r) => logouts.push(r));
  const pending = a.queryAccount().catch((e: unknown) => e);
  // A length prefix below the header size: the server can no longer find message boundaries.
  a.sendRaw(Buffer.from([0x03, 0x00, 0x00, 0x00, 0x00]));
  await closed;
  assert.deepEqual(logouts, ['ProtocolError']);
  const e = await pending;
  // The query may have been answered before the bad frame was read; if not, it failed.
  if (e instanceof Error) assert.ok(e instanceof ConnectionClosedError, String(e));
  assert.equal(a.isOpen, false);
  await assert.rejects(a.placeOrder({ instrument: BTC, side: 'Buy', price: px(0), qty: lots(20) }), ConnectionClosedError);
});

test('a value the wire cannot carry is refused before sending; the session goes on', async () => {
  const [a] = await pair();
  await assert.rejects(a.placeOrder({ instrument: BTC, side: 'Buy', price: px(0), qty: -1n }), EncodeError);
  await assert.rejects(a.placeOrder({ instrument: 2 ** 32, side: 'Buy', price: px(0), qty: lots(20) }), EncodeError);
  const o = await a.placeOrder({ instrument: BTC, side: 'Buy', price: px(-800), qty: lots(20) });
  assert.equal((await a.cancel({ engine: o.orderId })).orderId, o.orderId);
  await done(a);
});

test('mass cancel: one OrderCancelled(MassCancel) per order, then MassCancelled with the count', async () => {
  const [a, ra] = await pair();
  await a.placeOrder({ instrument: BTC, side: 'Buy', price: px(-700), qty: lots(20) });
  await a.placeOrder({ instrument: BTC, side: 'Sell', price: px(700), qty: lots(20) });
  await a.placeOrder({ instrument: BTC, side: 'Sell', price: px(701), qty: lots(20) });
  const mc = await a.massCancel({ instrument: BTC, side: 'Sell' });
  assert.equal(mc.count, 2);
  const rs = await ra.take(6);
  assert.deepEqual(
    rs.map((r) => (r.type === 'OrderCancelled' ? `${r.type}:${r.reason}:${r.side}` : r.type)),
    ['OrderAccepted', 'OrderAccepted', 'OrderAccepted', 'OrderCancelled:MassCancel:Sell', 'OrderCancelled:MassCancel:Sell', 'MassCancelled'],
  );
  await done(a);
});

