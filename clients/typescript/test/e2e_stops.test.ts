// Conditional orders (NewStopOrder) against a real matchd, matching only (exact report sequences):
// a stop-loss armed by one account and fired by another account's trade, with every field of
// OrderArmed, OrderTriggered and the Fill checked; the rejects a NewStopOrder gets; cancel and
// amend of an armed order (which then never fires).
import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';

import { CommandRejectedError, type Fill, type OrderArmed, type OrderTriggered } from '../src/index';
import { ALICE, BTC, lots, Matchd, px, Sessions, sync } from './harness';

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

test('a sell stop-loss is armed, another account trades at its trigger, it fires and fills', async () => {
  const [a, ra, b] = await pair();
  const armedEvents: OrderArmed[] = [];
  const triggeredEvents: OrderTriggered[] = [];
  a.on('armed', (r) => armedEvents.push(r));
  a.on('triggered', (r) => triggeredEvents.push(r));

  // The last price is the reference, 50,000.00: a sell stop-loss at 49,999.00 waits for a fall.
  await b.placeOrder({ instrument: BTC, side: 'Buy', price: px(-100), qty: lots(20), clientOrderId: 3001n });
  const armed = await a.stopOrder({
    instrument: BTC, side: 'Sell', price: px(-200), qty: lots(10), clientOrderId: 1001n,
    triggerPrice: px(-100), trigger: 'StopLoss',
  });
  assert.deepEqual(
    { ...armed, seq: 0n, orderId: 0n, timestampNs: 0n },
    {
      type: 'OrderArmed', seq: 0n, account: ALICE.account, instrument: BTC, orderId: 0n, clientOrderId: 1001n,
      price: px(-200), qty: lots(10), triggerPrice: px(-100), timestampNs: 0n, side: 'Sell', orderType: 'Limit',
      tif: 'GTC', trigger: 'StopLoss', triggerSource: 'LastPrice',
    },
  );
  assert.ok(armed.orderId > 0n && armed.timestampNs > 0n);
  // Armed is live: listed by the query at its limit price.
  const q = await a.queryAccount();
  assert.deepEqual(
    q.orders.map((o) => [o.orderId, o.clientOrderId, o.price, o.qty, o.leavesQty, o.side]),
    [[armed.orderId, 1001n, px(-200), lots(10), lots(10), 'Sell']],
  );

  await ra.until((r) => r.type === 'QueryDone');

  // Bob trades with himself at 49,999.00 (STP none): the last price reaches Alice's trigger.
  const bobSell = await b.placeOrder({ instrument: BTC, side: 'Sell', price: px(-100), qty: lots(5), tif: 'IOC' });
  const [triggered, fill] = (await ra.take(2)) as [OrderTriggered, Fill];
  assert.deepEqual([triggered.type, fill.type], ['OrderTriggered', 'Fill']);
  assert.deepEqual(
    { ...triggered, seq: 0n },
    {
      type: 'OrderTriggered', seq: 0n, account: ALICE.account, instrument: BTC, orderId: armed.orderId, clientOrderId: 1001n,
      price: px(-200), qty: lots(10), triggerPrice: px(-100), lastPrice: px(-100), timestampNs: bobSell.timestampNs,
      side: 'Sell', orderType: 'Limit', triggerSource: 'LastPrice',
    },
  );
  // The fired order keeps the armed order's ids and takes Bob's bid at the bid's price.
  assert.deepEqual(
    { ...fill, seq: 0n, tradeId: 0n },
    {
      type: 'Fill', seq: 0n, account: ALICE.account, instrument: BTC, orderId: armed.orderId, clientOrderId: 1001n,
      tradeId: 0n, price: px(-100), qty: lots(10), leavesQty: 0n, timestampNs: bobSell.timestampNs, side: 'Sell',
      liquidity: 'Taker', fee: 0n, liquidation: false,
    },
  );
  assert.equal(fill.seq, triggered.seq + 1n);
  assert.deepEqual(armedEvents, [armed]);
  assert.deepEqual(triggeredEvents, [triggered]);
  // Filled: no longer live; nothing else came.
  assert.deepEqual(await sync(a, ra), []);
  assert.equal((await a.queryAccount()).orders.length, 0);
});

test('rejects: the trigger already reached, a trigger off the tick, market GTC, a duplicate client order id', async () => {
  const [a] = await pair();
  const base = { instrument: BTC, qty: lots(10) } as const;
  const live = await a.stopOrder({ ...base, side: 'Buy', price: px(900), triggerPrice: px(800), trigger: 'StopLoss', clientOrderId: 5000n });
  const rejects: [string, Promise<unknown>][] = [
    // A buy stop-loss fires on a rise to the trigger: any last price is at or above 0.01.
    ['WouldTriggerImmediately', a.stopOrder({ ...base, side: 'Buy', price: px(0), triggerPrice: 1n, trigger: 'StopLoss', clientOrderId: 5001n })],
    // A sell take-profit fires on a rise too.
    ['WouldTriggerImmediately', a.stopOrder({ ...base, side: 'Sell', orderType: 'Market', triggerPrice: 1n, trigger: 'TakeProfit', clientOrderId: 5002n })],
    ['PriceOffTick', a.stopOrder({ ...base, side: 'Sell', price: px(0), triggerPrice: 0n, trigger: 'StopLoss', clientOrderId: 5003n })],
    ['InvalidField', a.stopOrder({ ...base, side: 'Sell', orderType: 'Market', tif: 'GTC', triggerPrice: px(-500), trigger: 'StopLoss', clientOrderId: 5004n })],
    ['DuplicateClientOrderId', a.stopOrder({ ...base, side: 'Sell', price: px(-600), triggerPrice: px(-500), trigger: 'StopLoss', clientOrderId: 5000n })],
    ['DuplicateClientOrderId', a.placeOrder({ ...base, side: 'Sell', price: px(2000), clientOrderId: 5000n })],
  ];
  const outcomes = await Promise.all(rejects.map(([, p]) => p.then((v) => v, (e: unknown) => e)));
  assert.deepEqual(
    outcomes.map((e) => (e instanceof CommandRejectedError ? e.report.reason : e)),
    rejects.map(([reason]) => reason),
  );
  // The reject names the command and echoes the client order id and instrument.
  const first = outcomes[0] as CommandRejectedError;
  assert.deepEqual([first.report.command, first.report.clientOrderId, first.report.instrument], ['NewStopOrder', 5001n, BTC]);
  assert.equal((outcomes[5] as CommandRejectedError).report.command, 'NewOrder');
  await a.cancel({ engine: live.orderId });
});

test('an armed order is amended, cancelled by engine and by client order id, and then never fires', async () => {
  const [a, ra, b] = await pair();
  const one = await a.stopOrder({ instrument: BTC, side: 'Buy', price: px(600), qty: lots(10), triggerPrice: px(500), trigger: 'StopLoss' });
  const two = await a.stopOrder({ instrument: BTC, side: 'Buy', orderType: 'Market', qty: lots(10), triggerPrice: px(500), trigger: 'StopLoss' });
  assert.deepEqual([two.orderType, two.tif, two.price], ['Market', 'IOC', 0n]);

  const amended = await a.amend({ engine: one.orderId }, { newQty: lots(8), newPrice: px(650) });
  assert.ok(amended.type === 'OrderAmended');
  assert.deepEqual([amended.qty, amended.leavesQty, amended.price, amended.keptPriority], [lots(8), lots(8), px(650), true]);
  // A market stop has no price to change.
  await assert.rejects(a.amend({ engine: two.orderId }, { newPrice: px(650) }), (e) =>
    e instanceof CommandRejectedError && e.report.reason === 'InvalidField' && e.report.command === 'Amend',
  );

  const c1 = await a.cancel({ engine: one.orderId });
  assert.deepEqual(
    { ...c1, seq: 0n },
    {
      type: 'OrderCancelled', seq: 0n, account: ALICE.account, instrument: BTC, orderId: one.orderId,
      clientOrderId: one.clientOrderId, cancelledQty: lots(8), filledQty: 0n, side: 'Buy', reason: 'User',
    },
  );
  const c2 = await a.cancel({ client: two.clientOrderId });
  assert.deepEqual([c2.orderId, c2.cancelledQty, c2.reason], [two.orderId, lots(10), 'User']);
  await assert.rejects(a.cancel({ engine: one.orderId }), (e) => e instanceof CommandRejectedError && e.report.reason === 'UnknownOrder');

  // Bob trades at 50,005.00, where both would have fired: Alice hears nothing more.
  await b.placeOrder({ instrument: BTC, side: 'Sell', price: px(500), qty: lots(10) });
  await b.placeOrder({ instrument: BTC, side: 'Buy', price: px(500), qty: lots(10), tif: 'IOC' });
  const seen = (await sync(a, ra)).map((r) => r.type);
  assert.deepEqual(seen, ['OrderArmed', 'OrderArmed', 'OrderAmended', 'CommandRejected', 'OrderCancelled', 'OrderCancelled', 'CommandRejected']);
});
