// Trailing stops (NewAdvancedOrder with a trailing delta) against a real matchd, matching only
// (exact report sequences): a sell in basis points whose trigger follows a rise and fires on the
// fall back, a buy in ticks the other way, each with the exact trigger of OrderArmed (at arming)
// and OrderTriggered (at firing) and nothing sent in between; and the rejects a trailing stop gets.
import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';

import { CommandRejectedError, EncodeError, type Fill, type OrderArmed, type OrderClient, type OrderTriggered } from '../src/index';
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

/** Bob trades `lots(4)` with himself at `price` (STP none): the last trade price becomes `price`. */
async function tradeAt(b: OrderClient, price: bigint): Promise<void> {
  await b.placeOrder({ instrument: BTC, side: 'Buy', price, qty: lots(4) });
  await b.placeOrder({ instrument: BTC, side: 'Sell', price, qty: lots(4), tif: 'IOC' });
}

test('a trailing sell stop in bps: its trigger follows the price up, and it fires on the fall back', async () => {
  const [a, ra, b] = await pair();
  await tradeAt(b, px(0));

  const armed = (await a.advancedOrder({
    instrument: BTC, side: 'Sell', orderType: 'Market', qty: lots(3), clientOrderId: 4001n,
    trailingDelta: 10, trailingUnit: 'bps',
  })) as OrderArmed;
  // 50,000.00 less 0.10 %: 49,950.00.
  assert.deepEqual(
    { ...armed, seq: 0n, orderId: 0n, timestampNs: 0n },
    {
      type: 'OrderArmed', seq: 0n, account: ALICE.account, instrument: BTC, orderId: 0n, clientOrderId: 4001n,
      price: 0n, qty: lots(3), triggerPrice: 4_995_000n, timestampNs: 0n, side: 'Sell', orderType: 'Market',
      tif: 'IOC', trigger: 'StopLoss', triggerSource: 'LastPrice',
    },
  );

  // Up to 50,012.34: the trigger follows to 49,962.33 (49,962.32766 rounded down, away from the
  // peak). A fall to 50,005.00 leaves the peak, and a trade one tick above the trigger does not
  // fire it; Alice hears nothing of any of this.
  await tradeAt(b, 5_001_234n);
  await tradeAt(b, 5_000_500n);
  await tradeAt(b, 4_996_233n);
  assert.deepEqual((await sync(a, ra)).map((r) => r.type), ['OrderArmed']);

  // A trade at 49,962.32, long above the trigger it armed with, fires it into Bob's bid.
  await b.placeOrder({ instrument: BTC, side: 'Buy', price: 4_996_232n, qty: lots(7) });
  const bobSell = await b.placeOrder({ instrument: BTC, side: 'Sell', price: 4_996_232n, qty: lots(4), tif: 'IOC' });
  const [triggered, fill] = (await ra.take(2)) as [OrderTriggered, Fill];
  assert.deepEqual(
    { ...triggered, seq: 0n },
    {
      type: 'OrderTriggered', seq: 0n, account: ALICE.account, instrument: BTC, orderId: armed.orderId, clientOrderId: 4001n,
      price: 0n, qty: lots(3), triggerPrice: 4_996_232n, lastPrice: 4_996_232n, timestampNs: bobSell.timestampNs,
      side: 'Sell', orderType: 'Market', triggerSource: 'LastPrice',
    },
  );
  assert.deepEqual(
    [fill.type, fill.orderId, fill.price, fill.qty, fill.leavesQty, fill.liquidity],
    ['Fill', armed.orderId, 4_996_232n, lots(3), 0n, 'Taker'],
  );
  assert.deepEqual(await sync(a, ra), []);
  assert.equal((await a.queryAccount()).orders.length, 0);
});

test('a trailing buy stop in ticks: its trigger follows the price down, and it fires on the rise back', async () => {
  const [a, ra, b] = await pair();
  await tradeAt(b, px(0));

  const armed = (await a.advancedOrder({
    instrument: BTC, side: 'Buy', orderType: 'Market', qty: lots(3), clientOrderId: 4101n,
    trailingDelta: 250, trailingUnit: 'ticks',
  })) as OrderArmed;
  assert.deepEqual([armed.type, armed.triggerPrice, armed.trigger], ['OrderArmed', px(250), 'StopLoss']);

  await tradeAt(b, px(-700));
  await tradeAt(b, px(-451));
  assert.deepEqual((await sync(a, ra)).map((r) => r.type), ['OrderArmed']);

  await b.placeOrder({ instrument: BTC, side: 'Sell', price: px(-450), qty: lots(7) });
  const bobBuy = await b.placeOrder({ instrument: BTC, side: 'Buy', price: px(-450), qty: lots(4), tif: 'IOC' });
  const [triggered, fill] = (await ra.take(2)) as [OrderTriggered, Fill];
  assert.deepEqual(
    [triggered.type, triggered.orderId, triggered.triggerPrice, triggered.lastPrice, triggered.timestampNs],
    ['OrderTriggered', armed.orderId, px(-450), px(-450), bobBuy.timestampNs],
  );
  assert.deepEqual([fill.type, fill.price, fill.qty, fill.leavesQty], ['Fill', px(-450), lots(3), 0n]);
  assert.deepEqual(await sync(a, ra), []);
});

test('rejects: AmendTrigger on a trailing stop, a delta out of range, a trailing take-profit or fixed trigger', async () => {
  const [a] = await pair();
  const base = { instrument: BTC, side: 'Sell', orderType: 'Market', qty: lots(2) } as const;
  const live = (await a.advancedOrder({ ...base, trailingDelta: 5_000, trailingUnit: 'bps', clientOrderId: 4200n })) as OrderArmed;
  const rejects: [string, string, Promise<unknown>][] = [
    // Its trigger follows the price: there is none to move.
    ['InvalidField', 'AmendTrigger', a.amendTrigger({ engine: live.orderId }, px(-900))],
    ['InvalidField', 'NewAdvancedOrder', a.advancedOrder({ ...base, trailingDelta: 5_001, trailingUnit: 'bps', clientOrderId: 4201n })],
    ['InvalidField', 'NewAdvancedOrder', a.advancedOrder({ ...base, trailingDelta: 0, trailingUnit: 'ticks', clientOrderId: 4202n })],
    [
      'InvalidField', 'NewAdvancedOrder',
      a.advancedOrder({ ...base, trailingDelta: 5, trailingUnit: 'ticks', trigger: { triggerPrice: 0n, kind: 'TakeProfit' }, clientOrderId: 4203n }),
    ],
    [
      'InvalidField', 'NewAdvancedOrder',
      a.advancedOrder({ ...base, trailingDelta: 5, trailingUnit: 'ticks', trigger: { triggerPrice: px(-900), kind: 'StopLoss' }, clientOrderId: 4204n }),
    ],
  ];
  const outcomes = await Promise.all(rejects.map(([, , p]) => p.then((v) => v, (e: unknown) => e)));
  assert.deepEqual(
    outcomes.map((e) => (e instanceof CommandRejectedError ? [e.report.reason, e.report.command] : e)),
    rejects.map(([reason, command]) => [reason, command]),
  );
  // A delta without its unit never leaves the client: the unit would be a guess.
  await assert.rejects(a.advancedOrder({ ...base, trailingDelta: 5 }), (e) => e instanceof EncodeError && /trailingUnit/.test(e.message));
  const cancelled = await a.cancel({ engine: live.orderId });
  assert.equal(cancelled.cancelledQty, lots(2));
});
