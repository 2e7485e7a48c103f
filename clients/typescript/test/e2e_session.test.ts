// Sessions against a real matchd: reconnect with resend (no gap, no duplicate, the same reports
// as first sent), cancel on disconnect, SequenceAhead; heartbeats and a silent server against a
// scripted server; leader discovery (NotLeader with and without the leader's address); TLS.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import {
  connectLeader,
  FrameReader,
  LoginRejectedError,
  OrderClient,
  TEMPLATE,
  TimeoutError,
  type Report,
} from '../src/index';
import { ALICE, BOB, BTC, ConfigText, IO_MS, lots, Matchd, px, Reports, sync } from './harness';

let m: Matchd;

before(async () => {
  m = await Matchd.start();
});

after(async () => {
  await m.stop();
});

test('reconnect: the reports missed while away are resent in order, then live ones; a replay from 0 is the same history', async () => {
  const first: Report[] = [];
  const a = await m.login(ALICE, { cancelOnDisconnect: 'Disabled', onReport: (r) => first.push(r) });
  assert.equal(a.session.nextSeq, 1n, 'a fresh account');
  const rest = await a.placeOrder({ instrument: BTC, side: 'Buy', price: px(-50), qty: lots(50) });
  await a.placeOrder({ instrument: BTC, side: 'Buy', price: px(-60), qty: lots(20) });
  const seen = a.lastSeenSeq;
  assert.equal(seen, 2n);
  // Gone without a Logout; its orders stay (cancel on disconnect off).
  const gone = new Promise((r) => a.once('close', r));
  a.close();
  await gone;

  // Meanwhile bob trades with alice's order three times, and one of alice's orders is taken whole.
  const b = await m.login(BOB);
  for (let i = 0; i < 3; i++) await b.placeOrder({ instrument: BTC, side: 'Sell', price: px(-50), qty: lots(10), tif: 'IOC' });
  await b.placeOrder({ instrument: BTC, side: 'Sell', price: px(-60), qty: lots(40), tif: 'IOC' });
  await b.logout();

  const resent: [Report, boolean][] = [];
  let caughtUpAt = -1;
  const a2 = await m.login(ALICE, {
    lastSeenSeq: seen,
    onReport: (r, info) => resent.push([r, info.resent]),
  });
  a2.once('caughtUp', () => (caughtUpAt = resent.length));
  assert.equal(a2.session.nextSeq, seen + 1n);
  const highest = a2.session.highestSeq;
  // 3 fills of the first order, then 2 of the second (20 lots at -60 fully, after 20 of the 40 went to -50's rest).
  assert.ok(highest > seen + 3n, `highest ${highest}`);
  const ra = new Reports(a2);
  const live = await a2.placeOrder({ instrument: BTC, side: 'Buy', price: px(-70), qty: lots(20) });
  assert.equal(live.seq, highest + 1n);
  // Every seq once, consecutive from seen + 1; the resends flagged, then caughtUp, then live.
  assert.deepEqual(resent.map(([r]) => r.seq), [...Array(Number(highest - seen) + 1).keys()].map((i) => seen + 1n + BigInt(i)));
  assert.deepEqual(resent.map(([, f]) => f), resent.map(([r]) => r.seq <= highest));
  assert.equal(caughtUpAt, Number(highest - seen));
  const fills = resent.filter(([r]) => r.type === 'Fill').map(([r]) => r);
  assert.deepEqual(
    fills.map((f) => f.type === 'Fill' && [f.orderId === rest.orderId, f.qty, f.liquidity]),
    [[true, lots(10), 'Maker'], [true, lots(10), 'Maker'], [true, lots(10), 'Maker'], [true, lots(20), 'Maker'], [false, lots(20), 'Maker']],
  );
  const history = [...first, ...resent.map(([r]) => r)];
  await a2.massCancel();
  const all = [...history, ...(await sync(a2, ra)).filter((r) => r.seq > live.seq)];
  await a2.logout();

  // From 0: the account's whole history again, report for report.
  const replay: Report[] = [];
  const a3 = await m.login(ALICE, { onReport: (r) => replay.push(r) });
  await new Promise<void>((r) => (a3.session.highestSeq === 0n ? r() : a3.once('caughtUp', r)));
  assert.deepEqual(replay.slice(0, all.length), all);
  await a3.logout();
});

test('a last_seen_seq beyond the account stream is refused with SequenceAhead and the highest seq', async () => {
  const a = await m.login(BOB);
  const highest = a.session.highestSeq;
  await a.logout();
  await assert.rejects(m.login(BOB, { lastSeenSeq: highest + 100n }), (e) =>
    e instanceof LoginRejectedError && e.reason === 'SequenceAhead' && e.rejected.highestSeq === highest,
  );
});

test('cancel on disconnect: the orders of a dropped session are cancelled, reported at the next login', async () => {
  const a = await m.login(BOB, { cancelOnDisconnect: 'Enabled' });
  assert.equal(a.session.cancelOnDisconnect, true);
  const o = await a.placeOrder({ instrument: BTC, side: 'Sell', price: px(900), qty: lots(20) });
  const seen = a.lastSeenSeq;
  const gone = new Promise((r) => a.once('close', r));
  a.close();
  await gone;
  const got: Report[] = [];
  const until = Date.now() + IO_MS;
  // The mass cancel runs once the server has seen the disconnect; log in until it is there.
  for (;;) {
    const b = await m.login(BOB, { lastSeenSeq: seen, onReport: (r) => got.push(r) });
    const rb = new Reports(b);
    await sync(b, rb);
    await b.logout();
    if (got.some((r) => r.type === 'MassCancelled') || Date.now() > until) break;
  }
  const cancelled = got.find((r) => r.type === 'OrderCancelled');
  assert.ok(cancelled?.type === 'OrderCancelled');
  assert.deepEqual([cancelled.orderId, cancelled.reason], [o.orderId, 'MassCancel']);
  assert.ok(got.some((r) => r.type === 'MassCancelled' && r.count === 1));
});

// ---------------------------------------------------------------------------------------------
// A scripted server, for what a real one does not do on demand.

/** A `LoginAccepted` (account 1, next seq 1) with the given heartbeat settings. */
function loginAccepted(intervalMs: number, timeoutMs: number): Buffer {
  const b = Buffer.alloc(42);
  b.writeUInt16LE(40, 0);
  b.writeUInt16LE(32, 2);
  b.writeUInt16LE(TEMPLATE.LoginAccepted, 4);
  b.writeUInt16LE(0x4d44, 6);
  b.writeUInt16LE(2, 8);
  b.writeBigUInt64LE(1n, 10);
  b.writeUInt32LE(1, 26);
  b.writeUInt32LE(intervalMs, 30);
  b.writeUInt32LE(timeoutMs, 34);
  b.writeUInt8(1, 38);
  return b;
}

/** A `LoginRejected(NotLeader)` naming `leader` (port 0: not known). */
function notLeader(leader: { host: string; port: number }): Buffer {
  const b = Buffer.alloc(58);
  b.writeUInt16LE(56, 0);
  b.writeUInt16LE(48, 2);
  b.writeUInt16LE(TEMPLATE.LoginRejected, 4);
  b.writeUInt16LE(0x4d44, 6);
  b.writeUInt16LE(2, 8);
  b.writeUInt32LE(1, 10 + 16);
  b.writeUInt8(10, 10 + 20);
  b.writeUInt16BE(0xffff, 10 + 34);
  leader.host.split('.').forEach((x, i) => b.writeUInt8(Number(x), 10 + 36 + i));
  b.writeUInt16LE(leader.port, 10 + 40);
  return b;
}

/** A loopback server that answers each connection's first frame with `answer` and records templates. */
async function scripted(answer: () => Buffer): Promise<{ port: number; templates: number[]; close: () => void; onFrame: (f: () => void) => void }> {
  const templates: number[] = [];
  let listener = (): void => {};
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    const reader = new FrameReader();
    let answered = false;
    s.on('data', (d: Buffer) => {
      reader.push(d);
      for (let f = reader.next(); f !== null; f = reader.next()) {
        templates.push(f.header.templateId);
        if (!answered) {
          answered = true;
          s.write(answer());
        }
        listener();
      }
    });
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    templates,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
    onFrame: (f) => (listener = f),
  };
}

test('heartbeats: the client sends one after each interval without sending (a scripted server counts them)', async () => {
  const srv = await scripted(() => loginAccepted(100, 0));
  const c = await OrderClient.connect({ host: '127.0.0.1', port: srv.port, ...ALICE, heartbeatIntervalMs: 100 });
  await new Promise<void>((res, rej) => {
    const t = setTimeout(() => rej(new Error('no heartbeats')), IO_MS);
    srv.onFrame(() => {
      if (srv.templates.filter((x) => x === TEMPLATE.Heartbeat).length >= 3) {
        clearTimeout(t);
        res();
      }
    });
  });
  assert.equal(srv.templates[0], TEMPLATE.Login);
  c.close();
  srv.close();
});

test('a server silent for its heartbeat timeout is given up: the session closes with a TimeoutError', async () => {
  const srv = await scripted(() => loginAccepted(100, 300));
  const c = await OrderClient.connect({ host: '127.0.0.1', port: srv.port, ...ALICE });
  const err = await new Promise<Error | null>((r) => c.once('close', r));
  assert.ok(err instanceof TimeoutError, String(err));
  srv.close();
});

test('leader discovery: NotLeader with the leader address leads there; without one, the next node is tried', async () => {
  const follower = await scripted(() => notLeader({ host: '127.0.0.1', port: m.port }));
  const c = await connectLeader({ nodes: [{ host: '127.0.0.1', port: follower.port }], ...ALICE });
  assert.equal(c.session.account, ALICE.account);
  await c.logout();
  const electing = await scripted(() => notLeader({ host: '0.0.0.0', port: 0 }));
  const c2 = await connectLeader({ nodes: [{ host: '127.0.0.1', port: electing.port }, { host: m.host, port: m.port }], ...ALICE });
  assert.equal(c2.session.account, ALICE.account);
  await c2.logout();
  assert.ok(electing.templates.includes(TEMPLATE.Login));
  follower.close();
  electing.close();
  // Other refusals are final.
  await assert.rejects(connectLeader({ nodes: [{ host: m.host, port: m.port }], account: 1, secret: 'wrong' }), (e) =>
    e instanceof LoginRejectedError && e.reason === 'BadCredentials',
  );
});

test('TLS: a session over node:tls trusting a test CA trades like a plaintext one', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'matchd-ts-tls-'));
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  try {
    ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
      '-subj', '/CN=matchd test CA', '-keyout', 'ca.key', '-out', 'ca.pem');
    ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=localhost',
      '-keyout', 'server.key', '-out', 'server.csr');
    writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
    ssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2',
      '-extfile', 'ext.cnf', '-out', 'server.pem');
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    t.skip(`openssl cannot make certificates here: ${String(e)}`);
    return;
  }
  const chain = readFileSync(join(dir, 'server.pem'), 'utf8') + readFileSync(join(dir, 'ca.pem'), 'utf8');
  writeFileSync(join(dir, 'chain.pem'), chain);
  const cfg = ConfigText.matchingOnly()
    .replaceLine('# tls_listen = "127.0.0.1:7443"', 'tls_listen = "127.0.0.1:0"')
    .replaceLine('# tls_cert_chain_path = "/etc/matchd/tls/fullchain.pem"', `tls_cert_chain_path = ${JSON.stringify(join(dir, 'chain.pem'))}`)
    .replaceLine('# tls_private_key_path = "/etc/matchd/tls/privkey.pem"', `tls_private_key_path = ${JSON.stringify(join(dir, 'server.key'))}`);
  const tm = await Matchd.start(cfg);
  try {
    const tlsAddr = tm.listen('tls');
    const ca = readFileSync(join(dir, 'ca.pem'));
    const c = await OrderClient.connect({ ...tlsAddr, tls: { ca, servername: 'localhost' }, ...ALICE });
    const o = await c.placeOrder({ instrument: BTC, side: 'Buy', price: px(-10), qty: lots(20) });
    assert.equal((await c.cancel({ engine: o.orderId })).reason, 'User');
    await c.logout();
    // A client that does not trust the certificate does not get in.
    await assert.rejects(OrderClient.connect({ ...tlsAddr, tls: { servername: 'localhost' }, ...ALICE }), /certificate/);
  } finally {
    await tm.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
