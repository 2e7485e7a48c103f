// Order lists (NewOrderList: OCO, OTO, OTOCO) against a real matchd, matching only (exact report
// sequences): an OCO whose maker leg trades cancels its stop leg (reason OrderList); an OTO whose
// working order fills places its pending leg under the next ids; an OTOCO places its pair; the
// client order ids are allocated one per leg; a list of the wrong shape is refused whole.
import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';

import { CommandRejectedError, type OrderClient, type Report } from '../src/index';
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

/** What a test compares: the report without its sequence number and times. */
function shape(r: Report): Record<string, unknown> {
  const { seq: _seq, ...rest } = r as Report & { timestampNs?: bigint };
  if ('timestampNs' in rest) rest.timestampNs = 0n;
  if ('tradeId' in rest) rest.tradeId = 0n;
  if ('fee' in rest) rest.fee = 0n;
  return rest;
}

test('an OCO: both legs placed, and a trade of the maker leg cancels the stop leg', async () => {
  const [a, ra, b] = await pair();
  await tradeAt(b, px(0));
  await sync(a, ra);

  const list = await a.oco({
    instrument: BTC, side: 'Sell', qty: lots(30), clientOrderId: 5001n,
    legs: [{ price: px(200) }, { trigger: { triggerPrice: px(-200), kind: 'StopLoss' } }],
  });
  assert.deepEqual(
    [list.type, list.account, list.instrument, list.clientOrderId, list.kind, list.legs],
    ['OrderListAccepted', ALICE.account, BTC, 5001n, 'Oco', 2],
  );
  const id = list.listId;
  const placed = await sync(a, ra);
  assert.deepEqual(placed.map(shape), [
    shape(list),
    {
      type: 'OrderAccepted', account: ALICE.account, instrument: BTC, orderId: id, clientOrderId: 5001n,
      price: px(200), qty: lots(30), timestampNs: 0n, side: 'Sell', orderType: 'Limit', tif: 'PostOnly',
    },
    {
      type: 'OrderArmed', account: ALICE.account, instrument: BTC, orderId: id + 1n, clientOrderId: 5002n,
      price: 0n, qty: lots(30), triggerPrice: px(-200), timestampNs: 0n, side: 'Sell', orderType: 'Market',
      tif: 'IOC', trigger: 'StopLoss', triggerSource: 'LastPrice',
    },
  ]);

  // Bob takes a third of the maker leg: the stop leg is cancelled, the maker leg rests on.
  await b.placeOrder({ instrument: BTC, side: 'Buy', price: px(200), qty: lots(10), tif: 'IOC' });
  const after = await sync(a, ra);
  assert.deepEqual(
    after.map((r) => [r.type, 'orderId' in r ? r.orderId : null, 'reason' in r ? r.reason : null]),
    [['Fill', id, null], ['OrderCancelled', id + 1n, 'OrderList']],
  );
  const [fill, cancelled] = after;
  assert.ok(fill?.type === 'Fill' && cancelled?.type === 'OrderCancelled');
  assert.deepEqual([fill.qty, fill.leavesQty, fill.liquidity], [lots(10), lots(20), 'Maker']);
  assert.deepEqual([cancelled.clientOrderId, cancelled.cancelledQty, cancelled.filledQty], [5002n, lots(30), 0n]);
  const open = (await a.queryAccount()).orders;
  assert.deepEqual(open.map((o) => [o.orderId, o.leavesQty]), [[id, lots(20)]]);
});

test('an OTO: the pending leg has no report until the working order fills, then is placed under the next ids', async () => {
  const [a, ra, b] = await pair();
  const list = await a.oto({
    instrument: BTC, clientOrderId: 5101n,
    working: { side: 'Buy', price: px(-100), qty: lots(20) },
    pending: { side: 'Sell', qty: lots(20), price: px(300) },
  });
  assert.deepEqual([list.kind, list.legs, list.clientOrderId], ['Oto', 2, 5101n]);
  const id = list.listId;
  assert.deepEqual(
    (await sync(a, ra)).map((r) => [r.type, 'orderId' in r ? r.orderId : null]),
    [['OrderListAccepted', null], ['OrderAccepted', id]],
  );

  // Half the working order fills: nothing placed yet.
  await b.placeOrder({ instrument: BTC, side: 'Sell', price: px(-100), qty: lots(10), tif: 'IOC' });
  assert.deepEqual((await sync(a, ra)).map((r) => r.type), ['Fill']);
  // The rest fills it: the pending leg is placed as if just sent.
  const bobSell = await b.placeOrder({ instrument: BTC, side: 'Sell', price: px(-100), qty: lots(10), tif: 'IOC' });
  const [fill, accepted] = await sync(a, ra);
  assert.ok(fill?.type === 'Fill');
  assert.deepEqual([fill.orderId, fill.leavesQty], [id, 0n]);
  assert.deepEqual(shape(accepted!), {
    type: 'OrderAccepted', account: ALICE.account, instrument: BTC, orderId: id + 1n, clientOrderId: 5102n,
    price: px(300), qty: lots(20), timestampNs: 0n, side: 'Sell', orderType: 'Limit', tif: 'GTC',
  });
  assert.ok(accepted?.type === 'OrderAccepted' && accepted.timestampNs === bobSell.timestampNs);
});

test('an OTOCO places its pair once the working order fills; the client allocates one id per leg', async () => {
  const [a, ra, b] = await pair();
  await tradeAt(b, px(0));
  await sync(a, ra);
  const list = await a.otoco({
    instrument: BTC,
    working: { side: 'Buy', price: px(-50), qty: lots(20), tif: 'PostOnly' },
    pending: {
      side: 'Sell', qty: lots(20),
      legs: [{ price: px(400) }, { price: px(-310), trigger: { triggerPrice: px(-300), kind: 'StopLoss' } }],
    },
  });
  const next = a.nextClientOrderId();
  assert.equal(next, list.clientOrderId + 3n, 'the three legs took three client order ids');
  const id = list.listId;
  await b.placeOrder({ instrument: BTC, side: 'Sell', price: px(-50), qty: lots(20), tif: 'IOC' });
  const got = await sync(a, ra);
  assert.deepEqual(
    got.map((r) => [r.type, 'orderId' in r ? r.orderId : null, 'clientOrderId' in r ? r.clientOrderId : null]),
    [
      ['OrderListAccepted', null, list.clientOrderId],
      ['OrderAccepted', id, list.clientOrderId],
      ['Fill', id, list.clientOrderId],
      ['OrderAccepted', id + 1n, list.clientOrderId + 1n],
      ['OrderArmed', id + 2n, list.clientOrderId + 2n],
    ],
  );
  const armed = got[4];
  assert.ok(armed?.type === 'OrderArmed');
  assert.deepEqual([armed.orderType, armed.tif, armed.price, armed.triggerPrice], ['Limit', 'GTC', px(-310), px(-300)]);
  // Cancelling the maker leg of the pair cancels the stop leg.
  await a.cancel({ engine: id + 1n });
  const cancelled = await sync(a, ra);
  assert.deepEqual(
    cancelled.map((r) => (r.type === 'OrderCancelled' ? [r.orderId, r.reason] : r.type)),
    [[id + 1n, 'User'], [id + 2n, 'OrderList']],
  );
});

test('a list of the wrong shape is refused whole: two limit legs in an OCO', async () => {
  const [a, ra] = await pair();
  const refused = await a
    .oco({ instrument: BTC, side: 'Sell', qty: lots(10), clientOrderId: 5301n, legs: [{ price: px(500) }, { price: px(600) }] })
    .then(() => null, (e: unknown) => e);
  assert.ok(refused instanceof CommandRejectedError);
  assert.deepEqual(
    [refused.report.command, refused.report.reason, refused.report.clientOrderId],
    ['NewOrderList', 'InvalidField', 5301n],
  );
  assert.deepEqual((await sync(a, ra)).map((r) => r.type), ['CommandRejected']);
  assert.equal((await a.queryAccount()).orders.length, 0);
});
