// Runs the real matchd binary for the end-to-end tests, the way matchd/tests/e2e_common/mod.rs
// does: the embedded default configuration (`matchd print-default-config`) with edits, a
// temporary data directory, ephemeral loopback ports read from matchd's stdout ("matchd ready
// listen=ADDR"). The binary is $MATCHD_BIN, else target/debug/matchd of this repository (the test
// script builds it first with `cargo build -p matchd`).
//
// No wall-clock budgets: every wait is for an event, and its deadline (`IO_MS`) only bounds a hang.
// Sessions get a minute of idle time before the server logs them out (busy 2-core machines).
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

import { OrderClient, type OrderClientOptions, type Report } from '../src/index';

/** Longest wait for one answer or event: bounds a hang, never a speed. */
export const IO_MS = 60_000;

export const ADMIN = { account: 0, secret: 'admin-demo' } as const;
export const ALICE = { account: 1, secret: 'alice-demo' } as const;
export const BOB = { account: 2, secret: 'bob-demo' } as const;
/** BTC-USDT in the default configuration: tick 1 (0.01 USDT), lot 1,000 (0.00001 BTC). */
export const BTC = 1;
export const BTC_LOT = 1000n;
/** BTC-USDT's reference price, 50,000.00. */
export const BTC_REF = 5_000_000n;

/** `n` lots of BTC. */
export function lots(n: number): bigint {
  return BigInt(n) * BTC_LOT;
}

/** A BTC price `ticks` cents from the reference. */
export function px(ticks: number): bigint {
  return BTC_REF + BigInt(ticks);
}

/** The matchd binary to test. */
export function matchdBin(): string {
  const bin = process.env['MATCHD_BIN'] ?? resolve(__dirname, '..', '..', '..', '..', 'target', 'debug', 'matchd');
  if (!existsSync(bin)) throw new Error(`no matchd at ${bin}: run \`cargo build -p matchd\` or set MATCHD_BIN`);
  return bin;
}

/** A matchd configuration: the embedded default with edits. */
export class ConfigText {
  constructor(public text: string) {}

  /**
   * The embedded default with small journal segments and the harness's session timeouts, in
   * risk mode as shipped (alice and bob funded).
   */
  static risk(): ConfigText {
    const text = execFileSync(matchdBin(), ['print-default-config'], { encoding: 'utf8' });
    return new ConfigText(text)
      .set('journal.segment_bytes', '4194304')
      .set('server.login_timeout_ms', '60000')
      .set('server.heartbeat_timeout_ms', '60000');
  }

  /** Matching only (no balances or fees): exact report sequences of the order flow. */
  static matchingOnly(): ConfigText {
    return ConfigText.risk().set('engine.risk_checks', 'false');
  }

  /** Replaces the line `key = ...` of `[section]` (it must occur exactly once there). */
  set(sectionKey: string, value: string): ConfigText {
    const [section, key] = sectionKey.split('.') as [string, string];
    let inSection = false;
    let found = 0;
    const lines = this.text.split('\n').map((l) => {
      if (l.startsWith('[')) inSection = l.trim() === `[${section}]`;
      if (inSection && l.startsWith(`${key} = `)) {
        found += 1;
        return `${key} = ${value}`;
      }
      return l;
    });
    if (found !== 1) throw new Error(`config key ${sectionKey} found ${found} times`);
    this.text = lines.join('\n');
    return this;
  }

  /** Replaces a literal line (e.g. uncomments an example). */
  replaceLine(from: string, to: string): ConfigText {
    if (!this.text.includes(from)) throw new Error(`config lacks ${from}`);
    this.text = this.text.replace(from, to);
    return this;
  }
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of running) c.kill('SIGKILL');
});

/** A running matchd. */
export class Matchd {
  private constructor(
    readonly child: ChildProcess,
    readonly dir: string,
    readonly host: string,
    readonly port: number,
    readonly lines: Map<string, string>,
  ) {}

  /** Starts matchd with `cfg` on a fresh data directory and waits for its ready line. */
  static async start(cfg: ConfigText = ConfigText.matchingOnly(), dir?: string): Promise<Matchd> {
    const d = dir ?? mkdtempSync(join(tmpdir(), 'matchd-ts-'));
    writeFileSync(join(d, 'matchd.toml'), cfg.text);
    const child = spawn(
      matchdBin(),
      ['--data-dir', join(d, 'data'), '--listen', '127.0.0.1:0', '--metrics-listen', '127.0.0.1:0', '--config', join(d, 'matchd.toml')],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    running.add(child);
    let stderr = '';
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    const lines = new Map<string, string>();
    const ready = await new Promise<string>((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`matchd not ready within ${IO_MS} ms; stderr:\n${stderr}`)), IO_MS);
      child.once('exit', (code) => rej(new Error(`matchd exited (${code}) before it was ready; stderr:\n${stderr}`)));
      createInterface({ input: child.stdout! }).on('line', (line) => {
        // "matchd <what> listen=ADDR ..."
        const m = /^matchd (.+) listen=(\S+)/.exec(line.trim());
        if (m === null) return;
        lines.set(m[1]!, m[2]!);
        if (m[1] === 'ready') {
          clearTimeout(timer);
          res(m[2]!);
        }
      });
    });
    const i = ready.lastIndexOf(':');
    return new Matchd(child, d, ready.slice(0, i), Number(ready.slice(i + 1)), lines);
  }

  /** An address matchd printed (`tls`, `market-data`, `metrics` ...). */
  listen(what: string): { host: string; port: number } {
    const a = this.lines.get(what);
    if (a === undefined) throw new Error(`matchd printed no "${what} listen=" line`);
    const i = a.lastIndexOf(':');
    return { host: a.slice(0, i), port: Number(a.slice(i + 1)) };
  }

  /**
   * Logs in, retrying while the server still holds the account's previous connection
   * (`AlreadyLoggedIn` right after a disconnect: it has not read the EOF yet).
   */
  async login(who: { account: number; secret: string }, extra: Partial<OrderClientOptions> = {}): Promise<OrderClient> {
    const until = Date.now() + IO_MS;
    for (;;) {
      try {
        return await OrderClient.connect({ host: this.host, port: this.port, connectTimeoutMs: IO_MS, ...who, ...extra });
      } catch (e) {
        const reason = (e as { reason?: string }).reason;
        if (reason !== 'AlreadyLoggedIn' || Date.now() > until) throw e;
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  }

  /** An admin session. */
  admin(): Promise<OrderClient> {
    return this.login(ADMIN, { role: 'Admin' });
  }

  /** SIGTERM, wait for the exit, remove the data directory. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null) {
      const exited = new Promise((r) => this.child.once('exit', r));
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), IO_MS);
      await exited;
      clearTimeout(timer);
    }
    running.delete(this.child);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Collects a client's reports so a test can wait for them: `next()` resolves with the next report
 * (heartbeats never show up; session rejects are in `sessionRejects`).
 */
export class Reports {
  readonly all: Report[] = [];
  private read = 0;
  private waiter: (() => void) | undefined;

  constructor(readonly client: OrderClient) {
    client.on('report', (r) => {
      this.all.push(r);
      this.waiter?.();
    });
  }

  /** The next report not yet returned (waits for it; `IO_MS` bounds a hang). */
  async next(): Promise<Report> {
    const until = Date.now() + IO_MS;
    while (this.read >= this.all.length) {
      if (!this.client.isOpen) throw new Error(`account ${this.client.account}: closed while waiting for a report`);
      await new Promise<void>((res, rej) => {
        const t = setTimeout(() => rej(new Error(`account ${this.client.account}: no report within ${IO_MS} ms`)), Math.max(1, until - Date.now()));
        this.waiter = () => {
          clearTimeout(t);
          this.waiter = undefined;
          res();
        };
      });
    }
    return this.all[this.read++]!;
  }

  /** The next `n` reports. */
  async take(n: number): Promise<Report[]> {
    const out: Report[] = [];
    for (let i = 0; i < n; i++) out.push(await this.next());
    return out;
  }

  /** Reports until (and with) the first that `pred` accepts. */
  async until(pred: (r: Report) => boolean): Promise<Report[]> {
    const out: Report[] = [];
    for (;;) {
      const r = await this.next();
      out.push(r);
      if (pred(r)) return out;
    }
  }

  /** Skips everything received so far. */
  skipAll(): void {
    this.read = this.all.length;
  }
}

let marker = 1n << 62n;

/**
 * A barrier: cancels a client order id never used (answered `CommandRejected(UnknownOrder)`) and
 * returns every report that came before that answer.
 */
export async function sync(c: OrderClient, reports: Reports): Promise<Report[]> {
  const cid = (marker += 1n);
  const answered = c.cancel({ client: cid }).catch((e: unknown) => e);
  const got = await reports.until((r) => r.type === 'CommandRejected' && r.clientOrderId === cid);
  await answered;
  return got.slice(0, -1);
}

/**
 * The trader sessions a test file opens through {@link Sessions.pair}; `closeAll` (run it in
 * `afterEach`) mass-cancels what each left and logs it out, so tests do not see each other's orders.
 */
export class Sessions {
  private open: OrderClient[] = [];

  /** Logs alice and bob in with report collectors, past the history resent at login. */
  async pair(m: Matchd): Promise<[OrderClient, Reports, OrderClient, Reports]> {
    const a = await m.login(ALICE);
    this.open.push(a);
    const ra = new Reports(a);
    const b = await m.login(BOB);
    this.open.push(b);
    const rb = new Reports(b);
    await sync(a, ra);
    await sync(b, rb);
    return [a, ra, b, rb];
  }

  async closeAll(): Promise<void> {
    for (const c of this.open.splice(0)) {
      if (c.isOpen) {
        await c.massCancel();
        await c.logout();
      }
    }
  }
}
