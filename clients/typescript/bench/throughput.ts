// Throughput and round trip of the TypeScript client against a release matchd it starts itself
// (BENCHMARKS.md, "TypeScript client (#18)"). Two phases, one JSON line at the end:
//
// 1. Closed loop: `--sessions` sessions (alice, bob, then extra traders), each keeping `--window`
//    requests in flight for `--seconds`: place a GTC order away from the touch, and when it is
//    accepted, cancel it. Orders/s counts accepted orders, commands/s every answered request; the
//    latency is each request's send → answer (queueing included).
// 2. Ping-pong: one session, one request at a time, `--pings` NewOrder → OrderAccepted and
//    Cancel → OrderCancelled round trips: the client's unloaded round trip.
//
//   cargo build --release -p matchd
//   cd clients/typescript && npm ci && npm run build && npm run bench -- --seconds 5
//
// MATCHD_BIN overrides the binary (default: target/release/matchd of this repository).
import { resolve } from 'node:path';

import { OrderClient } from '../src/index';
import { ConfigText, Matchd } from '../test/harness';

interface Args {
  sessions: number;
  window: number;
  seconds: number;
  pings: number;
  durability: string;
}

function args(): Args {
  const a: Args = { sessions: 2, window: 256, seconds: 5, pings: 20_000, durability: 'batch' };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i]?.replace(/^--/, '') as keyof Args | undefined;
    const v = argv[i + 1];
    if (key === undefined || v === undefined || !(key in a)) throw new Error(`usage: --sessions N --window N --seconds N --pings N --durability none|batch`);
    (a as unknown as Record<string, string | number>)[key] = key === 'durability' ? v : Number(v);
  }
  return a;
}

function quantile(sortedNs: bigint[], q: number): number {
  if (sortedNs.length === 0) return 0;
  const i = Math.min(sortedNs.length - 1, Math.floor(q * sortedNs.length));
  return Number(sortedNs[i]!) / 1000;
}

function sortNs(xs: bigint[]): bigint[] {
  return xs.sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
}

const TRADERS = [
  { account: 1, secret: 'alice-demo' },
  { account: 2, secret: 'bob-demo' },
];

/** Timed requests in flight on one session until `untilNs`. */
async function closedLoop(c: OrderClient, window: number, untilNs: bigint, side: 'Buy' | 'Sell', lat: bigint[]): Promise<[number, number]> {
  let orders = 0;
  let commands = 0;
  // Away from the touch on each side, spread over 100 levels: nothing trades.
  const price = (i: number) => (side === 'Buy' ? 4_800_000n - BigInt(i % 100) : 5_200_000n + BigInt(i % 100));
  const slot = async (k: number): Promise<void> => {
    let i = k;
    while (process.hrtime.bigint() < untilNs) {
      let t = process.hrtime.bigint();
      const a = await c.placeOrder({ instrument: 1, side, price: price(i), qty: 20_000n });
      lat.push(process.hrtime.bigint() - t);
      orders += 1;
      t = process.hrtime.bigint();
      await c.cancel({ engine: a.orderId });
      lat.push(process.hrtime.bigint() - t);
      commands += 2;
      i += window;
    }
  };
  await Promise.all([...Array(window).keys()].map(slot));
  return [orders, commands];
}

async function main(): Promise<void> {
  const a = args();
  process.env['MATCHD_BIN'] ??= resolve(__dirname, '..', '..', '..', '..', 'target', 'release', 'matchd');
  const cfg = ConfigText.matchingOnly().set('journal.durability', JSON.stringify(a.durability)).set('metrics.log_interval_s', '0');
  const m = await Matchd.start(cfg);
  try {
    const traders = [...TRADERS];
    for (let id = 3; traders.length < a.sessions; id++) traders.push({ account: id, secret: `bench-${id}` });
    // Extra traders get a secret from the admin (any account id trades in matching-only mode).
    const admin = await m.admin();
    for (const t of traders.slice(2)) await admin.setCredential(t.account, t.secret);
    await admin.logout();
    const clients = await Promise.all(traders.map((t) => m.login(t)));

    // Warm up (JIT, connections), then measure.
    await Promise.all(clients.map((c, i) => closedLoop(c, 16, process.hrtime.bigint() + 500_000_000n, i % 2 ? 'Sell' : 'Buy', [])));
    const lat: bigint[] = [];
    const t0 = process.hrtime.bigint();
    const until = t0 + BigInt(Math.round(a.seconds * 1e9));
    const counts = await Promise.all(clients.map((c, i) => closedLoop(c, a.window, until, i % 2 ? 'Sell' : 'Buy', lat)));
    const elapsedS = Number(process.hrtime.bigint() - t0) / 1e9;
    const orders = counts.reduce((s, [o]) => s + o, 0);
    const commands = counts.reduce((s, [, n]) => s + n, 0);
    sortNs(lat);

    const rtt: bigint[] = [];
    const c = clients[0]!;
    for (let i = 0; i < a.pings / 2; i++) {
      let t = process.hrtime.bigint();
      const o = await c.placeOrder({ instrument: 1, side: 'Buy', price: 4_800_000n - BigInt(i % 100), qty: 20_000n });
      rtt.push(process.hrtime.bigint() - t);
      t = process.hrtime.bigint();
      await c.cancel({ engine: o.orderId });
      rtt.push(process.hrtime.bigint() - t);
    }
    sortNs(rtt);
    for (const x of clients) await x.logout();

    const loadavg = (await import('node:os')).loadavg()[0]!;
    console.log(
      JSON.stringify({
        bench: 'ts_client',
        node: process.version,
        durability: a.durability,
        sessions: a.sessions,
        window: a.window,
        seconds: Number(elapsedS.toFixed(2)),
        orders_per_s: Math.round(orders / elapsedS),
        commands_per_s: Math.round(commands / elapsedS),
        closed_p50_us: Math.round(quantile(lat, 0.5)),
        closed_p99_us: Math.round(quantile(lat, 0.99)),
        rtt_samples: rtt.length,
        rtt_p50_us: Number(quantile(rtt, 0.5).toFixed(1)),
        rtt_p99_us: Number(quantile(rtt, 0.99).toFixed(1)),
        load_1m: Number(loadavg.toFixed(2)),
      }),
    );
  } finally {
    await m.stop();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
