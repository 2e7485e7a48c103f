// Advanced orders (NewAdvancedOrder, AmendTrigger) against a real matchd, matching only (exact
// report sequences): a good-till-date order that expires while the market is idle (the gateway's
// time tick carries the time to the engine), a market buy by quote quantity that walks the asks,
// a conditional order's trigger moved and then fired at the new price, and every new reject.
import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';

import {
  CommandRejectedError,
  type Fill,
  type OrderAccepted,
  type OrderArmed,
  type OrderCancelled,
  type OrderTriggerAmended,
  type OrderTriggered,
} from '../src/index';
import { ALICE, BTC, lots, Matchd, px, Sessions, sync } from './harness';

/** BTC-USDT's `qty_scale` in the default configuration: notional = price * qty / 1e8. */
const QTY_SCALE = 100_000_000n;

let m: Matchd;

before(async () => {
  m = await Matchd.start();
});

after(async () => {
  await m.stop();
});

const sessions = new Sessions();
afterEach(() => sessions.closeAll());
const pair = () => sessions.pair(m);

/** Nanoseconds since the Unix epoch, `ms` from now (the gateway runs on the same clock). */
function nsFromNow(ms: number): bigint {
  return BigInt(Date.now() + ms) * 1_000_000n;
}

/** The engine's notional of `qty` at `price`, rounded up (what a quote budget pays). */
function notional(price: bigint, qty: bigint): bigint {
  return (price * qty + QTY_SCALE - 1n) / QTY_SCALE;
}

test('a good-till-date order expires while the market is idle: OrderCancelled(Expired)', async () => {
  const [a, ra] = await pair();
  // Seconds of slack: stamped after this time (a busy machine can stall a round trip), the order
  // would be refused as already expired.
  const expireTimeNs = nsFromNow(5_000);
  const accepted = await a.advancedOrder({ instrument: BTC, side: 'Buy', price: px(-1000), qty: lots(4), expireTimeNs, clientOrderId: 2001n });
  assert.ok(accepted.type === 'OrderAccepted');
  assert.deepEqual(
    [accepted.clientOrderId, accepted.price, accepted.qty, accepted.orderType, accepted.tif],
    [2001n, px(-1000), lots(4), 'Limit', 'GTC'],
  );
  // Nothing else is sent: only the gateway's time tick can end it. The deadline bounds a hang.
  const [cancelled] = (await ra.until((r) => r.type === 'OrderCancelled')).slice(-1) as [OrderCancelled];
  assert.deepEqual(
    { ...cancelled, seq: 0n },
    {
      type: 'OrderCancelled', seq: 0n, account: ALICE.account, instrument: BTC, orderId: accepted.orderId,
      clientOrderId: 2001n, cancelledQty: lots(4), filledQty: 0n, side: 'Buy', reason: 'Expired',
    },
  );
  // It expired at or after its time, on the same clock as this process.
  assert.ok(BigInt(Date.now()) * 1_000_000n >= expireTimeNs);
  assert.equal((await a.queryAccount()).orders.length, 0);
});

test('a market buy by quote quantity takes the whole lots its budget pays for, best price first', async () => {
  const [a, ra, b] = await pair();
  await b.placeOrder({ instrument: BTC, side: 'Sell', price: px(100), qty: lots(2) });
  await b.placeOrder({ instrument: BTC, side: 'Sell', price: px(200), qty: lots(3) });
  // Both lots at 50,001.00 and one at 50,002.00: 0.01 USDT short of two there.
  const budget = notional(px(100), lots(2)) + notional(px(200), lots(2)) - 1n;
  const accepted = await a.advancedOrder({ instrument: BTC, side: 'Buy', orderType: 'Market', quoteQty: budget, clientOrderId: 2101n });
  assert.ok(accepted.type === 'OrderAccepted');
  // The quantity the engine derived from the book.
  assert.deepEqual([accepted.orderType, accepted.tif, accepted.qty], ['Market', 'IOC', lots(3)]);
  const [again, f1, f2] = (await ra.take(3)) as [OrderAccepted, Fill, Fill];
  assert.deepEqual(again, accepted);
  assert.deepEqual(
    [f1, f2].map((f) => [f.type, f.orderId, f.price, f.qty, f.leavesQty, f.liquidity]),
    [
      ['Fill', accepted.orderId, px(100), lots(2), lots(1), 'Taker'],
      ['Fill', accepted.orderId, px(200), lots(1), 0n, 'Taker'],
    ],
  );
  assert.ok(notional(px(100), lots(2)) + notional(px(200), lots(1)) <= budget);
  // Filled: nothing else came (no remainder to cancel).
  assert.deepEqual(await sync(a, ra), []);
});

test('a conditional order with an expiry: its trigger is moved, then it fires at the new price', async () => {
  const [a, ra, b] = await pair();
  const amendedEvents: OrderTriggerAmended[] = [];
  a.on('triggerAmended', (r) => amendedEvents.push(r));
  // Make the last trade price 50,000.00 whatever earlier tests left.
  await b.placeOrder({ instrument: BTC, side: 'Sell', price: px(0), qty: lots(4) });
  await b.placeOrder({ instrument: BTC, side: 'Buy', price: px(0), qty: lots(4), tif: 'IOC' });

  const armed = (await a.advancedOrder({
    instrument: BTC, side: 'Sell', price: px(-400), qty: lots(5), clientOrderId: 2201n,
    expireTimeNs: nsFromNow(3_600_000), trigger: { triggerPrice: px(-100), kind: 'StopLoss' },
  })) as OrderArmed;
  assert.deepEqual(
    [armed.type, armed.clientOrderId, armed.triggerPrice, armed.trigger, armed.price, armed.qty],
    ['OrderArmed', 2201n, px(-100), 'StopLoss', px(-400), lots(5)],
  );

  const moved = await a.amendTrigger({ engine: armed.orderId }, px(-300));
  assert.deepEqual(
    { ...moved, seq: 0n },
    {
      type: 'OrderTriggerAmended', seq: 0n, account: ALICE.account, instrument: BTC, orderId: armed.orderId,
      clientOrderId: 2201n, triggerPrice: px(-300), side: 'Sell',
    },
  );
  // By client order id too (and back again: the same price twice is refused as changing nothing).
  const again = await a.amendTrigger({ client: 2201n }, px(-200));
  assert.equal(again.triggerPrice, px(-200));
  const back = await a.amendTrigger({ client: 2201n }, px(-300));
  assert.equal(back.triggerPrice, px(-300));
  await assert.rejects(a.amendTrigger({ client: 2201n }, px(-300)), (e) =>
    e instanceof CommandRejectedError && e.report.reason === 'InvalidField' && e.report.command === 'AmendTrigger',
  );
  assert.deepEqual(amendedEvents, [moved, again, back]);

  // A trade at 49,999.00, the old trigger, no longer fires it.
  await b.placeOrder({ instrument: BTC, side: 'Buy', price: px(-100), qty: lots(4) });
  const crossed = await b.placeOrder({ instrument: BTC, side: 'Sell', price: px(-100), qty: lots(4), tif: 'IOC' });
  assert.ok(crossed.orderId > 0n);
  assert.deepEqual((await sync(a, ra)).map((r) => r.type), ['OrderArmed', 'OrderTriggerAmended', 'OrderTriggerAmended', 'OrderTriggerAmended', 'CommandRejected']);

  // Bob trades at 49,997.00: it fires and takes the rest of Bob's bid.
  await b.placeOrder({ instrument: BTC, side: 'Buy', price: px(-300), qty: lots(10) });
  const bobSell = await b.placeOrder({ instrument: BTC, side: 'Sell', price: px(-300), qty: lots(5), tif: 'IOC' });
  const [triggered, fill] = (await ra.take(2)) as [OrderTriggered, Fill];
  assert.deepEqual(
    [triggered.type, triggered.orderId, triggered.triggerPrice, triggered.lastPrice, triggered.timestampNs],
    ['OrderTriggered', armed.orderId, px(-300), px(-300), bobSell.timestampNs],
  );
  assert.deepEqual([fill.type, fill.orderId, fill.price, fill.qty, fill.leavesQty], ['Fill', armed.orderId, px(-300), lots(5), 0n]);
});

test('rejects: NothingToFill, AlreadyExpired, NotArmed, and options that do not go together', async () => {
  const [a] = await pair();
  const resting = (await a.advancedOrder({ instrument: BTC, side: 'Buy', price: px(-2000), qty: lots(4), clientOrderId: 2300n })) as OrderAccepted;
  const base = { instrument: BTC, qty: lots(4) } as const;
  const market = { instrument: BTC, orderType: 'Market' } as const;
  const rejects: [string, string, Promise<unknown>][] = [
    // A budget of 0.01 USDT buys no lot at any price.
    ['NothingToFill', 'NewAdvancedOrder', a.advancedOrder({ ...market, side: 'Buy', quoteQty: 1n, clientOrderId: 2301n })],
    ['AlreadyExpired', 'NewAdvancedOrder', a.advancedOrder({ ...base, side: 'Buy', price: px(-2000), expireTimeNs: 1n, clientOrderId: 2302n })],
    ['NotArmed', 'AmendTrigger', a.amendTrigger({ engine: resting.orderId }, px(-100))],
    ['UnknownOrder', 'AmendTrigger', a.amendTrigger({ client: 2399n }, px(-100))],
    // A quote quantity only on a market IOC/FOK order with qty 0, no expiry, no trigger.
    ['InvalidField', 'NewAdvancedOrder', a.advancedOrder({ ...base, side: 'Buy', price: px(0), quoteQty: 100_000n, qty: 0n, clientOrderId: 2303n })],
    ['InvalidField', 'NewAdvancedOrder', a.advancedOrder({ ...market, side: 'Buy', quoteQty: 100_000n, qty: lots(2), clientOrderId: 2304n })],
    ['InvalidField', 'NewAdvancedOrder', a.advancedOrder({ ...market, side: 'Buy', quoteQty: 100_000n, expireTimeNs: nsFromNow(60_000), clientOrderId: 2305n })],
    [
      'InvalidField', 'NewAdvancedOrder',
      a.advancedOrder({ ...market, side: 'Buy', quoteQty: 100_000n, trigger: { triggerPrice: px(900), kind: 'StopLoss' }, clientOrderId: 2306n }),
    ],
    // An expiry only on an order that can rest, or a conditional one.
    ['InvalidField', 'NewAdvancedOrder', a.advancedOrder({ ...base, side: 'Buy', price: px(0), tif: 'IOC', expireTimeNs: nsFromNow(60_000), clientOrderId: 2307n })],
    ['InvalidField', 'NewAdvancedOrder', a.advancedOrder({ ...base, ...market, side: 'Sell', expireTimeNs: nsFromNow(60_000), clientOrderId: 2308n })],
    // Perpetuals' options reach the engine, which refuses them on a spot instrument.
    ['InvalidField', 'NewAdvancedOrder', a.advancedOrder({ ...base, side: 'Sell', price: px(2000), reduceOnly: true, clientOrderId: 2310n })],
    ['InvalidField', 'NewAdvancedOrder', a.advancedOrder({ ...market, side: 'Sell', qty: 0n, closePosition: true, clientOrderId: 2311n })],
    [
      'InvalidField', 'NewAdvancedOrder',
      a.advancedOrder({ ...base, side: 'Buy', price: px(0), trigger: { triggerPrice: px(900), kind: 'StopLoss' }, triggerSource: 'MarkPrice', clientOrderId: 2312n }),
    ],
    // The order's own rules still apply, under the new command type.
    ['DuplicateClientOrderId', 'NewAdvancedOrder', a.advancedOrder({ ...base, side: 'Buy', price: px(-2000), clientOrderId: 2300n })],
    [
      'WouldTriggerImmediately', 'NewAdvancedOrder',
      a.advancedOrder({ ...base, side: 'Buy', price: px(0), trigger: { triggerPrice: 1n, kind: 'StopLoss' }, clientOrderId: 2309n }),
    ],
  ];
  const outcomes = await Promise.all(rejects.map(([, , p]) => p.then((v) => v, (e: unknown) => e)));
  assert.deepEqual(
    outcomes.map((e) => (e instanceof CommandRejectedError ? [e.report.reason, e.report.command] : e)),
    rejects.map(([reason, command]) => [reason, command]),
  );
  // The reject echoes the client order id and instrument.
  const first = outcomes[0] as CommandRejectedError;
  assert.deepEqual([first.report.clientOrderId, first.report.instrument], [2301n, BTC]);
  const notArmed = outcomes[2] as CommandRejectedError;
  assert.deepEqual([notArmed.report.orderId, notArmed.report.instrument], [resting.orderId, BTC]);
});
