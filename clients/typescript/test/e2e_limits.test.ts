// The refusals that need a server with small limits (risk mode): too many open orders, the rate
// limit (SessionReject matched to its order by client order id), a resend window that no longer
// reaches back (SequenceUnavailable, then resuming from the oldest kept report), too many failed
// logins, an invalid instrument, an unknown account.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { CommandRejectedError, LoginRejectedError, OrderClient, SessionRejectedError } from '../src/index';
import { ALICE, BOB, BTC, ConfigText, lots, Matchd, px } from './harness';

let m: Matchd;

before(async () => {
  const cfg = ConfigText.risk()
    .set('engine.max_open_orders_per_account', '3')
    .set('server.max_messages_per_sec', '50')
    .set('server.retransmit_messages_per_account', '8')
    .set('snapshots.reports_per_account', '8')
    .set('server.login_failures_per_account_per_minute', '10');
  m = await Matchd.start(cfg);
});

after(async () => {
  await m.stop();
});

test('too many open orders, then the rate limit: each refusal reaches the order it answers', async () => {
  const a = await m.login(ALICE);
  for (let i = 0; i < 3; i++) await a.placeOrder({ instrument: BTC, side: 'Buy', price: px(-100 - i), qty: lots(20) });
  await assert.rejects(a.placeOrder({ instrument: BTC, side: 'Buy', price: px(-200), qty: lots(20) }), (e) =>
    e instanceof CommandRejectedError && e.report.reason === 'TooManyOpenOrders',
  );
  await a.massCancel();
  // 200 orders at once against a limit of 50 a second: the ones beyond it are refused by the
  // gateway, each promise with its own answer (accepted, or SessionReject(RateLimited) echoing its
  // client order id), none left hanging. IOC far from the book: nothing rests.
  const outcomes = await Promise.all(
    [...Array(200).keys()].map((i) =>
      a.placeOrder({ instrument: BTC, side: 'Buy', price: px(-300 - i), qty: lots(20), tif: 'IOC' }).then(
        (acc) => acc.type,
        (e: unknown) => (e instanceof SessionRejectedError ? e.reject.reason : String(e)),
      ),
    ),
  );
  const limited = outcomes.filter((o) => o === 'RateLimited').length;
  assert.ok(limited > 0 && limited < 200, `rate limited: ${limited}`);
  assert.deepEqual(new Set(outcomes), new Set(['OrderAccepted', 'RateLimited']));
  await a.logout();
});

test('a resend the server no longer keeps: SequenceUnavailable, then the login from the oldest kept report', async () => {
  const b = await m.login(BOB);
  for (let i = 0; i < 6; i++) {
    const o = await b.placeOrder({ instrument: BTC, side: 'Sell', price: px(400 + i), qty: lots(20) });
    await b.cancel({ engine: o.orderId });
  }
  const highest = b.lastSeenSeq;
  await b.logout();
  let oldest = 0n;
  await assert.rejects(m.login(BOB, { lastSeenSeq: 0n }), (e) => {
    if (!(e instanceof LoginRejectedError) || e.reason !== 'SequenceUnavailable') return false;
    oldest = e.rejected.oldestAvailableSeq;
    return e.rejected.highestSeq === highest;
  });
  assert.ok(oldest > 1n && oldest <= highest, `oldest ${oldest}`);
  const seqs: bigint[] = [];
  const b2 = await m.login(BOB, { lastSeenSeq: oldest - 1n, onReport: (r) => seqs.push(r.seq) });
  await new Promise<void>((r) => b2.once('caughtUp', r));
  assert.deepEqual(seqs, [...Array(Number(highest - oldest) + 1).keys()].map((i) => oldest + BigInt(i)));
  await b2.logout();
});

test('failed logins are limited per account: beyond the budget even the right secret is refused unchecked', async () => {
  // Account 3 is not configured: failures count for unknown accounts exactly as for known ones.
  // The budget of 10 earns one failure back every 6 s: a busy machine that stretches the
  // attempts past that earns extra ones, which the bound below allows for.
  const started = Date.now();
  const reasons: string[] = [];
  while (!reasons.includes('TooManyAttempts') && reasons.length < 40) {
    const r = await OrderClient.connect({ host: m.host, port: m.port, account: 3, secret: 'guess' }).then(
      () => 'accepted',
      (e: unknown) => (e instanceof LoginRejectedError ? e.reason : String(e)),
    );
    reasons.push(r);
  }
  const earned = Math.floor((Date.now() - started) / 6_000);
  const first = reasons.indexOf('TooManyAttempts');
  assert.ok(first >= 10 && first <= 10 + earned, `first refusal at attempt ${first + 1}, ${earned} earned: ${reasons}`);
  assert.deepEqual(reasons.slice(0, first), Array(first).fill('BadCredentials'));
});

test('admin refusals: an invalid instrument, an unknown account', async () => {
  // The admin's history (the configuration's instruments, accounts and deposits) is longer than
  // the resend window: a fresh client skips it, as docs/protocol.md says, from the refusal's highest_seq.
  const highest = await m.admin().then(
    () => assert.fail('expected SequenceUnavailable'),
    (e: unknown) => (e instanceof LoginRejectedError && e.reason === 'SequenceUnavailable' ? e.rejected.highestSeq : assert.fail(String(e))),
  );
  const admin = await m.login({ account: 0, secret: 'admin-demo' }, { role: 'Admin', lastSeenSeq: highest });
  await assert.rejects(
    admin.addInstrument({
      id: 9, symbol: 'BAD-USDT', baseAsset: 4, quoteAsset: 1, tick: 0n, lot: 1000n, minQty: 1000n, maxQty: 10n ** 10n,
      minNotional: 100n, priceBandBps: 1000, referencePrice: 5_000_000n, qtyScale: 100_000_000n,
    }),
    (e) => e instanceof CommandRejectedError && e.report.reason === 'InvalidInstrument',
  );
  await assert.rejects(admin.queryAccount(4321), (e) => e instanceof CommandRejectedError && e.report.reason === 'UnknownAccount');
  await admin.logout();
});
