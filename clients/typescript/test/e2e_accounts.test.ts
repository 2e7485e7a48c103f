// Risk mode (the embedded default): balances and open orders by query, balance reports, the
// admin's account and credential commands, and the rejects only risk mode gives; amounts written
// as decimal strings through InstrumentUnits (never floats).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { CommandRejectedError, InstrumentUnits, LoginRejectedError, OrderClient, type InstrumentSpec } from '../src/index';
import { ALICE, BTC, ConfigText, Matchd, Reports, sync } from './harness';

const USDT = 1;
/** BTC-USDT as configured (the admin could equally read it from the market-data directory). */
const SPEC: InstrumentSpec = {
  id: BTC, symbol: 'BTC-USDT', baseAsset: 2, quoteAsset: 1, tick: 1n, lot: 1000n, minQty: 1000n,
  maxQty: 10_000_000_000n, minNotional: 100n, priceBandBps: 1000, referencePrice: 5_000_000n, qtyScale: 100_000_000n,
};
/** Prices in 0.01 USDT. */
const units = new InstrumentUnits(SPEC, 2);

let m: Matchd;
let admin: OrderClient;

before(async () => {
  m = await Matchd.start(ConfigText.risk());
  admin = await m.admin();
});

after(async () => {
  await admin.logout();
  await m.stop();
});

test('query: the configured deposits, then an order reserves funds and shows as an open order', async () => {
  const a = await m.login(ALICE);
  const ra = new Reports(a);
  await sync(a, ra);
  const before = await a.queryAccount();
  assert.deepEqual(
    before.balances.map((b) => [b.asset, b.available, b.reservedAmount]),
    [[1, 100_000_000n, 0n], [2, 1_000_000_000n, 0n], [3, 10_000_000_000n, 0n]],
  );
  assert.deepEqual([before.done.status, before.done.balances, before.done.orders], ['Active', 3, 0]);

  const o = await a.placeOrder({ instrument: BTC, side: 'Buy', price: units.price('49000.00'), qty: units.qty('0.002') });
  const bal = (await ra.until((r) => r.type === 'BalanceChanged')).at(-1)!;
  assert.ok(bal.type === 'BalanceChanged');
  // 98.00 USDT for 0.002 BTC at 49,000.00, plus the 0.05 % taker fee held in case it takes: 0.05.
  assert.deepEqual([bal.asset, bal.reservedAmount, bal.available, bal.reason], [USDT, 9805n, 100_000_000n - 9805n, 'Order']);
  const after = await a.queryAccount();
  assert.equal(after.orders.length, 1);
  const open = after.orders[0]!;
  assert.deepEqual([open.orderId, open.price, open.qty, open.leavesQty, open.side, open.tif], [o.orderId, 4_900_000n, 200_000n, 200_000n, 'Buy', 'GTC']);
  assert.equal(units.formatPrice(open.price), '49000.00');
  assert.equal(units.formatQty(open.leavesQty), '0.00200000');
  await a.massCancel();
  await a.logout();
});

test('admin: a new account, funded, with a secret set by hash; its login; revoke; the rejects of risk mode', async () => {
  const created = await admin.createAccount(5, 'Active', 0);
  assert.deepEqual([created.target, created.command, created.status], [5, 'CreateAccount', 'Active']);
  await assert.rejects(admin.createAccount(5), (e) => e instanceof CommandRejectedError && e.report.reason === 'AccountExists');

  const dep = await admin.deposit(5, USDT, 1_000_000n, 555n);
  assert.deepEqual([dep.target, dep.asset, dep.amount, dep.available, dep.command], [5, USDT, 1_000_000n, 1_000_000n, 'Deposit']);
  await assert.rejects(admin.deposit(5, USDT, 1n, 555n), (e) => e instanceof CommandRejectedError && e.report.reason === 'DuplicateTransaction');
  await assert.rejects(admin.withdraw(5, USDT, 2_000_000n, 556n), (e) => e instanceof CommandRejectedError && e.report.reason === 'InsufficientBalance');
  await assert.rejects(admin.deposit(5, 64, 1n, 557n), (e) => e instanceof CommandRejectedError && e.report.reason === 'UnknownAsset');
  await assert.rejects(admin.deposit(6, USDT, 1n, 558n), (e) => e instanceof CommandRejectedError && e.report.reason === 'UnknownAccount');
  await assert.rejects(admin.deposit(65535, USDT, 1n, 559n), (e) => e instanceof CommandRejectedError && e.report.reason === 'SystemAccount');
  await assert.rejects(admin.setFeeSchedule(BTC, 0, 10, 5), (e) => e instanceof CommandRejectedError && e.report.reason === 'InvalidFee');
  const fees = await admin.setFeeSchedule(BTC, 1, -100, 400);
  assert.deepEqual([fees.instrument, fees.tier, fees.makerPpm, fees.takerPpm], [BTC, 1, -100, 400]);
  const w = await admin.withdraw(5, USDT, 1_000n, 560n);
  assert.equal(w.available, 999_000n);

  // The account logs in with a secret only its hash was sent for.
  const set = await admin.setCredential(5, 'carol-ts-secret');
  assert.deepEqual([set.target, set.command], [5, 'SetCredential']);
  assert.notEqual(set.fingerprint, 0n);
  const c = await m.login({ account: 5, secret: 'carol-ts-secret' });
  const q = await c.queryAccount();
  assert.deepEqual(q.balances.map((b) => [b.asset, b.available]), [[USDT, 999_000n]]);
  // 999,000 units are 9,990.00 USDT: not enough for 1 BTC at 49,000.00.
  await assert.rejects(c.placeOrder({ instrument: BTC, side: 'Buy', price: units.price('49000'), qty: units.qty('1') }), (e) =>
    e instanceof CommandRejectedError && e.report.reason === 'InsufficientBalance',
  );
  await assert.rejects(c.placeOrder({ instrument: BTC, side: 'Sell', price: units.price('51000'), qty: units.qty('0.001') }), (e) =>
    e instanceof CommandRejectedError && e.report.reason === 'InsufficientBalance',
  );
  await admin.setAccountStatus(5, 'Suspended', 0);
  await assert.rejects(c.placeOrder({ instrument: BTC, side: 'Buy', price: units.price('49000'), qty: units.qty('0.001') }), (e) =>
    e instanceof CommandRejectedError && e.report.reason === 'AccountSuspended',
  );
  await admin.setAccountStatus(5, 'Active', 0);

  // Revoked: the live session ends, and logins are refused.
  const closed = new Promise<void>((r) => c.once('close', () => r()));
  const reasons: string[] = [];
  c.on('logout', (r) => reasons.push(r));
  await admin.revokeCredential(5);
  await closed;
  assert.deepEqual(reasons, ['CredentialRevoked']);
  await assert.rejects(m.login({ account: 5, secret: 'carol-ts-secret' }), (e) => e instanceof LoginRejectedError && e.reason === 'BadCredentials');
});
