// The TypeScript codec against the Rust one: test/fixtures/protocol.json holds golden bytes written
// by the protocol crate (protocol/tests/protocol_doc_examples.rs, which fails when the file is
// stale) with what the Rust decoder makes of each. Here the same bytes are decoded (or, for client
// messages, produced) by this package and must agree field by field.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import {
  DecodeError,
  decodeFrame,
  decodeMdMessage,
  decodeServerMessage,
  encode,
  FrameError,
  FrameReader,
  type ClientMessage,
  type InstrumentSpec,
} from '../src/index';

interface Fixture {
  name: string;
  direction: 'client' | 'server' | 'md';
  hex: string;
  rust:
    | { ok: string }
    | { error: string; template_id: number; offset: number | null }
    | { frame_error: 'TooShort' | 'TooLarge' };
}

const FIXTURES: Fixture[] = JSON.parse(
  readFileSync(join(__dirname, '..', '..', 'test', 'fixtures', 'protocol.json'), 'utf8'),
) as Fixture[];

const BTC_USDT: InstrumentSpec = {
  id: 1,
  symbol: 'BTC-USDT',
  baseAsset: 2,
  quoteAsset: 1,
  tick: 1n,
  lot: 1000n,
  minQty: 1000n,
  maxQty: 10_000_000_000n,
  minNotional: 500n,
  priceBandBps: 1000,
  referencePrice: 6_500_000n,
  qtyScale: 100_000_000n,
};

/** `btc_perp()` of protocol/tests/futures_examples/mod.rs. */
const BTC_PERP: InstrumentSpec = {
  id: 3,
  symbol: 'BTC-PERP',
  baseAsset: 2,
  quoteAsset: 1,
  tick: 10n,
  lot: 1n,
  minQty: 1n,
  maxQty: 1_000_000n,
  minNotional: 0n,
  priceBandBps: 500,
  referencePrice: 6_000_000n,
  qtyScale: 1000n,
};

/** `TS` of protocol_doc_examples.rs: 2026-01-01T00:00:00Z in ns. */
const TS = 1_767_225_600_000_000_000n;

/** The client examples of protocol_doc_examples.rs, written with this package's types. */
const CLIENT_EXAMPLES: Record<string, ClientMessage> = {
  Login: {
    type: 'Login',
    account: 7,
    credential: Buffer.from('demo-secret-7'),
    lastSeenSeq: 41n,
    heartbeatIntervalMs: 1000,
    role: 'Trader',
    cancelOnDisconnect: 'Enabled',
  },
  Heartbeat: { type: 'Heartbeat' },
  'Logout (client)': { type: 'Logout', reason: 'UserRequest' },
  NewOrder: {
    type: 'NewOrder',
    clientOrderId: 1001n,
    instrument: 1,
    side: 'Buy',
    orderType: 'Limit',
    tif: 'GTC',
    stp: 'CancelTaker',
    price: 6_500_000n,
    qty: 150_000n,
  },
  NewStopOrder: {
    type: 'NewStopOrder',
    clientOrderId: 1002n,
    instrument: 1,
    side: 'Sell',
    orderType: 'Limit',
    tif: 'GTC',
    stp: 'None',
    price: 5_990_000n,
    qty: 150_000n,
    triggerPrice: 6_000_000n,
    trigger: 'StopLoss',
  },
  'NewAdvancedOrder (good till date)': {
    type: 'NewAdvancedOrder',
    clientOrderId: 1004n,
    instrument: 1,
    side: 'Buy',
    orderType: 'Limit',
    tif: 'GTC',
    stp: 'CancelTaker',
    price: 6_500_000n,
    qty: 150_000n,
    expireTimeNs: TS + 86_400n * 1_000_000_000n,
    quoteQty: 0n,
    trigger: null,
    displayQty: 0n,
    trailing: null,
  },
  'NewAdvancedOrder (quote quantity)': {
    type: 'NewAdvancedOrder',
    clientOrderId: 1005n,
    instrument: 1,
    side: 'Buy',
    orderType: 'Market',
    tif: 'IOC',
    stp: 'CancelTaker',
    price: 0n,
    qty: 0n,
    expireTimeNs: 0n,
    quoteQty: 100_000n,
    trigger: null,
    displayQty: 0n,
    trailing: null,
  },
  'NewAdvancedOrder (conditional, good till date)': {
    type: 'NewAdvancedOrder',
    clientOrderId: 1006n,
    instrument: 1,
    side: 'Sell',
    orderType: 'Limit',
    tif: 'GTC',
    stp: 'None',
    price: 5_990_000n,
    qty: 150_000n,
    expireTimeNs: TS + 3_600n * 1_000_000_000n,
    quoteQty: 0n,
    trigger: { triggerPrice: 6_000_000n, kind: 'StopLoss' },
    displayQty: 0n,
    trailing: null,
  },
  'NewAdvancedOrder (iceberg)': {
    type: 'NewAdvancedOrder',
    clientOrderId: 1007n,
    instrument: 1,
    side: 'Buy',
    orderType: 'Limit',
    tif: 'GTC',
    stp: 'CancelTaker',
    price: 6_500_000n,
    qty: 150_000n,
    expireTimeNs: 0n,
    quoteQty: 0n,
    trigger: null,
    displayQty: 50_000n,
    trailing: null,
  },
  'NewAdvancedOrder (trailing stop)': {
    type: 'NewAdvancedOrder',
    clientOrderId: 1008n,
    instrument: 1,
    side: 'Sell',
    orderType: 'Market',
    tif: 'IOC',
    stp: 'CancelTaker',
    price: 0n,
    qty: 150_000n,
    expireTimeNs: 0n,
    quoteQty: 0n,
    trigger: { triggerPrice: 0n, kind: 'StopLoss' },
    displayQty: 0n,
    trailing: { delta: 150, unit: 'bps' },
  },
  'NewOrderList (OCO)': {
    type: 'NewOrderList',
    clientOrderId: 1010n,
    instrument: 1,
    kind: 'Oco',
    stp: 'None',
    working: null,
    side: 'Sell',
    qty: 150_000n,
    legs: [
      { orderType: 'Limit', tif: 'PostOnly', price: 6_600_000n, trigger: null },
      { orderType: 'Market', tif: 'IOC', price: 0n, trigger: { triggerPrice: 6_300_000n, kind: 'StopLoss' } },
    ],
  },
  'NewOrderList (OTOCO)': {
    type: 'NewOrderList',
    clientOrderId: 1020n,
    instrument: 1,
    kind: 'Otoco',
    stp: 'None',
    working: { side: 'Buy', tif: 'GTC', price: 6_500_000n, qty: 150_000n },
    side: 'Sell',
    qty: 150_000n,
    legs: [
      { orderType: 'Limit', tif: 'PostOnly', price: 6_800_000n, trigger: null },
      { orderType: 'Limit', tif: 'GTC', price: 6_190_000n, trigger: { triggerPrice: 6_200_000n, kind: 'StopLoss' } },
    ],
  },
  AmendTrigger: { type: 'AmendTrigger', order: { client: 1002n }, triggerPrice: 5_950_000n },
  Cancel: { type: 'Cancel', order: { client: 1001n } },
  Amend: { type: 'Amend', order: { engine: 88n }, newQty: 100_000n },
  MassCancel: { type: 'MassCancel', instrument: 1, side: 'Sell' },
  AddInstrument: { type: 'AddInstrument', spec: BTC_USDT },
  SetInstrumentState: { type: 'SetInstrumentState', instrument: 1, state: 'Halted' },
  CreateAccount: { type: 'CreateAccount', target: 7, tier: 1, status: 'Active' },
  Deposit: { type: 'Deposit', target: 7, asset: 1, amount: 100_000_000n, txId: 9001n },
  Withdraw: { type: 'Withdraw', target: 7, asset: 2, amount: 50_000n, txId: 9002n },
  SetAccountStatus: { type: 'SetAccountStatus', target: 7, status: 'Suspended', tier: 1 },
  SetFeeSchedule: { type: 'SetFeeSchedule', instrument: 1, tier: 0, makerPpm: -100, takerPpm: 500 },
  QueryAccount: { type: 'QueryAccount', target: 7 },
  SetCredential: {
    type: 'SetCredential',
    target: 7,
    salt: Buffer.from([...Array(16).keys()]),
    hash: Buffer.from([...Array(32).keys()].map((i) => 0xa0 + i)),
  },
  RevokeCredential: { type: 'RevokeCredential', target: 7 },
  MdSubscribe: { type: 'MdSubscribe', heartbeatIntervalMs: 1000, orderByOrder: true },
  MdSnapshotRequest: { type: 'MdSnapshotRequest', instrument: 1, depth: 10, orders: true },
  // Perpetual futures (protocol/tests/futures_examples/mod.rs).
  AddPerpetual: { type: 'AddPerpetual', spec: BTC_PERP },
  SetRiskTier: {
    type: 'SetRiskTier',
    instrument: 3,
    index: 1,
    maxLeverage: 100,
    mmrPpm: 5000,
    maxNotional: 25_000_000n,
    maintAmount: 5000n,
  },
  MarginDeposit: { type: 'MarginDeposit', target: 7, asset: 1, amount: 1_000_000n, txId: 9101n },
  MarginWithdraw: { type: 'MarginWithdraw', target: 7, asset: 1, amount: 938_700n, txId: 9102n },
  MarginDebit: { type: 'MarginDebit', target: 7, asset: 1, amount: 50_000n, txId: 9103n },
  SetLeverage: { type: 'SetLeverage', instrument: 3, leverage: 10 },
  SetMarginMode: { type: 'SetMarginMode', instrument: 3, mode: 'Isolated' },
  AdjustIsolatedMargin: { type: 'AdjustIsolatedMargin', instrument: 3, delta: -5000n },
  WalletTransfer: { type: 'WalletTransfer', asset: 1, amount: 938_700n, toFutures: false },
  SetMarkPrice: { type: 'SetMarkPrice', instrument: 3, markPrice: 5_726_630n },
  ApplyFunding: { type: 'ApplyFunding', instrument: 3, ratePpm: 100, nextFundingTimeNs: TS + 8n * 3_600_000_000_000n },
  'NewAdvancedOrder (reduce-only)': {
    type: 'NewAdvancedOrder',
    clientOrderId: 1030n,
    instrument: 3,
    side: 'Sell',
    orderType: 'Limit',
    tif: 'GTC',
    stp: 'CancelTaker',
    price: 6_100_000n,
    qty: 80n,
    expireTimeNs: 0n,
    quoteQty: 0n,
    trigger: null,
    displayQty: 0n,
    trailing: null,
    reduceOnly: true,
  },
  'NewAdvancedOrder (close position)': {
    type: 'NewAdvancedOrder',
    clientOrderId: 1031n,
    instrument: 3,
    side: 'Sell',
    orderType: 'Market',
    tif: 'IOC',
    stp: 'CancelTaker',
    price: 0n,
    qty: 0n,
    expireTimeNs: 0n,
    quoteQty: 0n,
    trigger: null,
    displayQty: 0n,
    trailing: null,
    closePosition: true,
  },
  'NewAdvancedOrder (mark-price stop-loss)': {
    type: 'NewAdvancedOrder',
    clientOrderId: 1032n,
    instrument: 3,
    side: 'Sell',
    orderType: 'Market',
    tif: 'IOC',
    stp: 'CancelTaker',
    price: 0n,
    qty: 0n,
    expireTimeNs: 0n,
    quoteQty: 0n,
    trigger: { triggerPrice: 5_800_000n, kind: 'StopLoss' },
    displayQty: 0n,
    trailing: null,
    closePosition: true,
    triggerSource: 'MarkPrice',
  },
};

/** Field names that differ between structs (both sides are renamed to the right-hand side). */
const RUST_ALIASES: Record<string, string> = { leaves: 'leaves_qty', reserved: 'reserved_amount', cut: 'cut_qty' };

/**
 * The leaf fields of a Rust `Debug` rendering as sorted `name=value` lines (nested structs
 * flattened; byte arrays such as `symbol` skipped, and checked separately).
 */
function rustFields(debug: string): string[] {
  const out: string[] = [];
  const re = /(\w+): (Some\(([^)]*)\)|None|-?\d+|true|false|[A-Z]\w*)(?![\w({]| \{)/g;
  for (const m of debug.matchAll(re)) {
    const key = RUST_ALIASES[m[1]!] ?? m[1]!;
    const value = m[2] === 'None' ? 'null' : (m[3] ?? m[2]!);
    out.push(`${key}=${value.toLowerCase()}`);
  }
  return out.sort();
}

function snake(k: string): string {
  return k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** The same for a decoded message of this package. */
function tsFields(msg: Record<string, unknown>): string[] {
  const out: string[] = [];
  const walk = (o: Record<string, unknown>): void => {
    for (const [k, v] of Object.entries(o)) {
      if (k === 'type' || k === 'symbol') continue;
      // The Rust `MdInstrument` keeps the instrument id only in its spec; `OpenOrder`'s target is
      // its `OrderView.account`, `PositionReport`'s its position's.
      if (k === 'instrument' && o['type'] === 'MdInstrument') continue;
      const ownerIsTarget = o['type'] === 'OpenOrder' || o['type'] === 'PositionReport';
      const key = k === 'target' && ownerIsTarget ? 'account' : (RUST_ALIASES[snake(k)] ?? snake(k));
      if (k === 'leader' && v !== null) {
        const l = v as { host: string; port: number };
        out.push(`leader=${(l.host.includes(':') ? `[${l.host}]` : l.host) + ':' + l.port}`);
      } else if (v !== null && typeof v === 'object' && !Buffer.isBuffer(v)) {
        walk(v as Record<string, unknown>);
      } else {
        out.push(`${key}=${String(v).toLowerCase()}`);
      }
    }
  };
  walk(msg);
  return out.sort();
}

function decode(f: Fixture): unknown {
  const got = decodeFrame(Buffer.from(f.hex, 'hex'));
  assert.ok(got !== null, `${f.name}: a whole frame`);
  return f.direction === 'md' ? decodeMdMessage(got.frame) : decodeServerMessage(got.frame);
}

test('the fixture file covers every template of both directions', () => {
  assert.ok(FIXTURES.length >= 70, `only ${FIXTURES.length} fixtures`);
  for (const name of Object.keys(CLIENT_EXAMPLES)) {
    assert.ok(FIXTURES.some((f) => f.name === name && f.direction === 'client'), name);
  }
});

for (const f of FIXTURES) {
  test(`fixture: ${f.name} (${f.direction})`, () => {
    const bytes = Buffer.from(f.hex, 'hex');
    if (f.direction === 'client') {
      const m = CLIENT_EXAMPLES[f.name];
      assert.ok(m !== undefined, `no TypeScript example for ${f.name}`);
      assert.equal(encode(m).toString('hex'), f.hex);
      return;
    }
    const r = f.rust;
    if ('ok' in r) {
      const msg = decode(f) as Record<string, unknown>;
      assert.deepEqual(tsFields(msg), rustFields(r.ok));
      const spec = (msg['spec'] as InstrumentSpec | undefined)?.symbol;
      if (spec !== undefined) assert.ok(spec === 'BTC-USDT' || spec === 'BTC-PERP', spec);
    } else if ('error' in r) {
      assert.throws(
        () => decode(f),
        (e: unknown) =>
          e instanceof DecodeError &&
          e.kind === r.error &&
          e.templateId === r.template_id &&
          (e.field?.offset ?? null) === r.offset,
      );
    } else {
      assert.throws(
        () => decodeFrame(bytes),
        (e: unknown) => e instanceof FrameError && e.kind === r.frame_error,
      );
    }
  });
}

test('frames split at every byte boundary come out whole and in order', () => {
  const valid = FIXTURES.filter((f) => f.direction !== 'client' && 'ok' in f.rust);
  const stream = Buffer.concat(valid.map((f) => Buffer.from(f.hex, 'hex')));
  for (const chunk of [1, 2, 3, 7, 10, 64, stream.length]) {
    const reader = new FrameReader(1024);
    const seen: string[] = [];
    for (let i = 0; i < stream.length; i += chunk) {
      reader.push(stream.subarray(i, i + chunk));
      for (let fr = reader.next(); fr !== null; fr = reader.next()) seen.push(String(fr.header.templateId));
    }
    assert.deepEqual(
      seen,
      valid.map((f) => String(Buffer.from(f.hex, 'hex').readUInt16LE(4))),
      `chunks of ${chunk}`,
    );
    assert.equal(reader.pending, 0);
  }
});

test('a partial frame is not a frame; an impossible length is an error before the rest arrives', () => {
  const hb = Buffer.from('080000000400444d0200', 'hex');
  assert.equal(decodeFrame(hb.subarray(0, 1)), null);
  assert.equal(decodeFrame(hb.subarray(0, 9)), null);
  assert.ok(decodeFrame(hb) !== null);
  // Only the two length bytes: the error is known already.
  assert.throws(() => decodeFrame(Buffer.from([0x07, 0x00])), (e: unknown) => e instanceof FrameError && e.kind === 'TooShort');
  assert.throws(() => decodeFrame(Buffer.from([0xd0, 0x07])), (e: unknown) => e instanceof FrameError && e.kind === 'TooLarge');
});

test('the encoder refuses values the wire cannot carry', () => {
  const order = CLIENT_EXAMPLES['NewOrder'] as ClientMessage & { type: 'NewOrder' };
  assert.throws(() => encode({ ...order, qty: -1n }), /not a u64/);
  assert.throws(() => encode({ ...order, price: 1n << 64n }), /not a u64/);
  assert.throws(() => encode({ ...order, instrument: 2 ** 32 }), /not a u32/);
  const login = CLIENT_EXAMPLES['Login'] as ClientMessage & { type: 'Login' };
  assert.throws(() => encode({ ...login, credential: Buffer.alloc(33, 0x61) }), /at most 32/);
  assert.throws(() => encode({ ...login, credential: Buffer.from('a\0b') }), /NUL/);
  assert.throws(() => encode({ ...login, credential: Buffer.alloc(0) }), /empty/);
  assert.throws(() => encode({ type: 'AddInstrument', spec: { ...BTC_USDT, symbol: 'BTC USDT' } }), /printable/);
});

test('conditional orders: a trigger kind outside the set refuses OrderArmed; the encoder refuses one too', () => {
  const armed = FIXTURES.find((f) => f.name === 'OrderArmed' && f.direction === 'server');
  assert.ok(armed !== undefined);
  const bytes = Buffer.from(armed.hex, 'hex');
  bytes[10 + 67] = 3; // `trigger` at block offset 67
  const got = decodeFrame(bytes);
  assert.ok(got !== null);
  assert.throws(
    () => decodeServerMessage(got.frame),
    (e: unknown) => e instanceof DecodeError && e.kind === 'BadField' && e.field?.name === 'trigger' && e.field.offset === 67,
  );
  const stop = CLIENT_EXAMPLES['NewStopOrder'] as ClientMessage & { type: 'NewStopOrder' };
  assert.throws(() => encode({ ...stop, trigger: 'Trailing' as never }), /trigger: unknown value/);
  assert.throws(() => encode({ ...stop, triggerPrice: -1n }), /not a u64/);
});

test('mark-price triggers: a trigger source outside the set refuses OrderTriggered; the encoder refuses one too', () => {
  const fired = FIXTURES.find((f) => f.name === 'OrderTriggered (mark price)' && f.direction === 'server');
  assert.ok(fired !== undefined);
  const bytes = Buffer.from(fired.hex, 'hex');
  bytes[10 + 74] = 2; // `trigger_source` at block offset 74
  const got = decodeFrame(bytes);
  assert.ok(got !== null);
  assert.throws(
    () => decodeServerMessage(got.frame),
    (e: unknown) =>
      e instanceof DecodeError && e.kind === 'BadField' && e.field?.name === 'trigger_source' && e.field.offset === 74,
  );
  const stop = CLIENT_EXAMPLES['NewAdvancedOrder (mark-price stop-loss)'] as ClientMessage & { type: 'NewAdvancedOrder' };
  assert.throws(() => encode({ ...stop, triggerSource: 'IndexPrice' as never }), /trigger_source: unknown value/);
  // Absent is the last price: byte 59 is 0, as before the field existed.
  const { triggerSource: _, ...absent } = stop;
  const last = encode(absent);
  assert.equal(last[10 + 59], 0);
  assert.equal(encode(stop)[10 + 59], 1);
});

test('conditional orders: the new cancel reasons (6-8) and reject reason 28 decode by name', () => {
  const patched = (name: string, at: number, write: (b: Buffer) => void): Buffer => {
    const f = FIXTURES.find((x) => x.name === name && x.direction === 'server');
    assert.ok(f !== undefined, name);
    const b = Buffer.from(f.hex, 'hex');
    write(b.subarray(10 + at));
    return b;
  };
  const decodeBytes = (b: Buffer) => {
    const got = decodeFrame(b);
    assert.ok(got !== null);
    return decodeServerMessage(got.frame);
  };
  for (const [code, reason] of [[6, 'Unfundable'], [7, 'FokCannotFill'], [8, 'PostOnlyWouldTake']] as const) {
    const m = decodeBytes(patched('OrderCancelled', 49, (b) => b.writeUInt8(code, 0)));
    assert.ok(m.type === 'OrderCancelled');
    assert.equal(m.reason, reason);
  }
  const r = decodeBytes(patched('CommandRejected, command 15', 32, (b) => b.writeUInt16LE(28, 0)));
  assert.ok(r.type === 'CommandRejected');
  assert.deepEqual([r.command, r.reason], ['NewStopOrder', 'WouldTriggerImmediately']);
});

test('advanced orders: cancel reason 9 (Expired), reject reasons 29-31 and command types 16-17 decode by name', () => {
  const patched = (name: string, at: number, write: (b: Buffer) => void): Buffer => {
    const f = FIXTURES.find((x) => x.name === name && x.direction === 'server');
    assert.ok(f !== undefined, name);
    const b = Buffer.from(f.hex, 'hex');
    write(b.subarray(10 + at));
    return b;
  };
  const decodeBytes = (b: Buffer) => {
    const got = decodeFrame(b);
    assert.ok(got !== null);
    return decodeServerMessage(got.frame);
  };
  const expired = decodeBytes(patched('OrderCancelled', 49, (b) => b.writeUInt8(9, 0)));
  assert.ok(expired.type === 'OrderCancelled');
  assert.equal(expired.reason, 'Expired');
  const rejects = [
    [16, 29, 'NewAdvancedOrder', 'NothingToFill'],
    [16, 30, 'NewAdvancedOrder', 'AlreadyExpired'],
    [17, 31, 'AmendTrigger', 'NotArmed'],
  ] as const;
  for (const [command, reason, commandName, reasonName] of rejects) {
    const r = decodeBytes(
      patched('CommandRejected', 32, (b) => {
        b.writeUInt16LE(reason, 0);
        b.writeUInt8(command, 2);
      }),
    );
    assert.ok(r.type === 'CommandRejected');
    assert.deepEqual([r.command, r.reason], [commandName, reasonName]);
  }
});

test('order lists: cancel reason 10, reject reason 32 and command type 18 decode by name; list kind 4 is refused', () => {
  const patched = (name: string, at: number, write: (b: Buffer) => void): Buffer => {
    const f = FIXTURES.find((x) => x.name === name && x.direction === 'server');
    assert.ok(f !== undefined, name);
    const b = Buffer.from(f.hex, 'hex');
    write(b.subarray(10 + at));
    return b;
  };
  const decodeBytes = (b: Buffer) => {
    const got = decodeFrame(b);
    assert.ok(got !== null);
    return decodeServerMessage(got.frame);
  };
  const badField = (offset: number) => (e: unknown) => e instanceof DecodeError && e.kind === 'BadField' && e.field?.offset === offset;
  const cancelled = decodeBytes(patched('OrderCancelled', 49, (b) => b.writeUInt8(10, 0)));
  assert.ok(cancelled.type === 'OrderCancelled');
  assert.equal(cancelled.reason, 'OrderList');
  const rejected = decodeBytes(
    patched('CommandRejected', 32, (b) => {
      b.writeUInt16LE(32, 0);
      b.writeUInt8(18, 2);
    }),
  );
  assert.ok(rejected.type === 'CommandRejected');
  assert.deepEqual([rejected.command, rejected.reason], ['NewOrderList', 'OrderListLeg']);
  for (const [code, kind] of [[2, 'Oto'], [3, 'Otoco']] as const) {
    const m = decodeBytes(patched('OrderListAccepted', 40, (b) => b.writeUInt8(code, 0)));
    assert.ok(m.type === 'OrderListAccepted');
    assert.equal(m.kind, kind);
  }
  assert.throws(() => decodeBytes(patched('OrderListAccepted', 40, (b) => b.writeUInt8(4, 0))), badField(40));
});

test('order lists: the encoder refuses a list whose legs or working order do not fit its kind', () => {
  const oco = CLIENT_EXAMPLES['NewOrderList (OCO)'] as ClientMessage & { type: 'NewOrderList' };
  const otoco = CLIENT_EXAMPLES['NewOrderList (OTOCO)'] as ClientMessage & { type: 'NewOrderList' };
  assert.throws(() => encode({ ...oco, legs: oco.legs.slice(0, 1) }), /Oco list has 2 contingent leg\(s\), not 1/);
  assert.throws(() => encode({ ...oco, working: otoco.working }), /Oco list has no working order/);
  assert.throws(() => encode({ ...otoco, working: null }), /Otoco list needs a working order/);
  assert.throws(() => encode({ ...otoco, kind: 'Oto' }), /Oto list has 1 contingent leg\(s\), not 2/);
  assert.throws(() => encode({ ...oco, kind: 'Ocoo' as never }), /kind: unknown value/);
  // An OTO: the second leg's bytes stay zero.
  const oto = encode({ ...otoco, kind: 'Oto', legs: otoco.legs.slice(1) });
  assert.equal(oto.readUInt8(10 + 12), 2);
  assert.deepEqual([oto.readUInt8(10 + 33), oto.readUInt8(10 + 35), oto.readBigUInt64LE(10 + 56)], [1, 1, 6_200_000n]);
  assert.deepEqual([oto.readUInt8(10 + 36), oto.readBigUInt64LE(10 + 64), oto.readBigUInt64LE(10 + 72)], [0, 0n, 0n]);
});

test('advanced orders: the encoder refuses a bad trigger kind, expiry, quote quantity or trailing stop', () => {
  const gtd = CLIENT_EXAMPLES['NewAdvancedOrder (conditional, good till date)'] as ClientMessage & { type: 'NewAdvancedOrder' };
  assert.throws(() => encode({ ...gtd, trigger: { triggerPrice: 1n, kind: 'Trailing' as never } }), /trigger: unknown value/);
  assert.throws(() => encode({ ...gtd, expireTimeNs: -1n }), /not a u64/);
  assert.throws(() => encode({ ...gtd, quoteQty: 1n << 64n }), /not a u64/);
  const amend = CLIENT_EXAMPLES['AmendTrigger'] as ClientMessage & { type: 'AmendTrigger' };
  assert.throws(() => encode({ ...amend, triggerPrice: -5n }), /not a u64/);
  // No trigger: the trigger price and kind are zero (the Rust decoder refuses a price without a kind).
  const plain = encode({ ...gtd, trigger: null });
  assert.equal(plain.readBigUInt64LE(10 + 48), 0n);
  assert.equal(plain.readUInt8(10 + 56), 0);
  // No trailing: unit and delta are zero (the Rust decoder refuses a delta without a unit).
  assert.equal(plain.readUInt8(10 + 57), 0);
  assert.equal(plain.readUInt32LE(10 + 60), 0);
  const trail = CLIENT_EXAMPLES['NewAdvancedOrder (trailing stop)'] as ClientMessage & { type: 'NewAdvancedOrder' };
  assert.throws(() => encode({ ...trail, trailing: { delta: 150, unit: 'percent' as never } }), /trail_unit: unknown value/);
  assert.throws(() => encode({ ...trail, trailing: { delta: 2 ** 32, unit: 'ticks' } }), /not a u32/);
  assert.throws(() => encode({ ...trail, trailing: { delta: 1.5, unit: 'ticks' } }), /not a u32/);
  const ticks = encode({ ...trail, trailing: { delta: 7, unit: 'ticks' } });
  assert.deepEqual([ticks.readUInt8(10 + 57), ticks.readUInt32LE(10 + 60)], [1, 7]);
});

test('perpetuals: cancel reasons 11-12, reject reasons 33-46, command types 19-29 and balance reason 6 decode by name; the next ones are refused', () => {
  const patched = (name: string, at: number, write: (b: Buffer) => void): Buffer => {
    const f = FIXTURES.find((x) => x.name === name && x.direction === 'server');
    assert.ok(f !== undefined, name);
    const b = Buffer.from(f.hex, 'hex');
    write(b.subarray(10 + at));
    return b;
  };
  const decodeBytes = (b: Buffer) => {
    const got = decodeFrame(b);
    assert.ok(got !== null);
    return decodeServerMessage(got.frame);
  };
  const badField = (offset: number) => (e: unknown) => e instanceof DecodeError && e.kind === 'BadField' && e.field?.offset === offset;
  for (const [code, reason] of [[11, 'ReduceOnly'], [12, 'Liquidation']] as const) {
    const m = decodeBytes(patched('OrderCancelled', 49, (b) => b.writeUInt8(code, 0)));
    assert.ok(m.type === 'OrderCancelled');
    assert.equal(m.reason, reason);
  }
  assert.throws(() => decodeBytes(patched('OrderCancelled', 49, (b) => b.writeUInt8(13, 0))), badField(49));
  const rejected = decodeBytes(
    patched('CommandRejected', 32, (b) => {
      b.writeUInt16LE(43, 0);
      b.writeUInt8(28, 2);
    }),
  );
  assert.ok(rejected.type === 'CommandRejected');
  assert.deepEqual([rejected.command, rejected.reason], ['SetMarkPrice', 'NotOracle']);
  const late = decodeBytes(
    patched('CommandRejected', 32, (b) => {
      b.writeUInt16LE(46, 0);
      b.writeUInt8(29, 2);
    }),
  );
  assert.ok(late.type === 'CommandRejected');
  assert.deepEqual([late.command, late.reason], ['ApplyFunding', 'InvalidFundingTime']);
  // 47 (NoMarkPrice, the mark-price triggers') is the last reason; 48 is refused.
  const noMark = decodeBytes(patched('CommandRejected', 32, (b) => b.writeUInt16LE(47, 0)));
  assert.ok(noMark.type === 'CommandRejected');
  assert.equal(noMark.reason, 'NoMarkPrice');
  assert.throws(() => decodeBytes(patched('CommandRejected', 32, (b) => b.writeUInt16LE(48, 0))), badField(32));
  assert.throws(() => decodeBytes(patched('CommandRejected', 34, (b) => b.writeUInt8(30, 0))), badField(34));
  const balance = decodeBytes(patched('BalanceChanged', 40, (b) => b.writeUInt8(6, 0)));
  assert.ok(balance.type === 'BalanceChanged');
  assert.equal(balance.reason, 'WalletTransfer');
  assert.throws(() => decodeBytes(patched('BalanceChanged', 40, (b) => b.writeUInt8(7, 0))), badField(40));
  // A liquidation's fill: flag bit 0 of byte 74; other bits refuse the message.
  const fill = decodeBytes(patched('Fill (liquidation)', 74, () => {}));
  assert.ok(fill.type === 'Fill');
  assert.equal(fill.liquidation, true);
  assert.equal(fill.orderId, 0n);
  assert.throws(() => decodeBytes(patched('Fill', 74, (b) => b.writeUInt8(2, 0))), badField(74));
  // The encoder refuses a margin mode outside the set.
  assert.throws(() => encode({ type: 'SetMarginMode', instrument: 3, mode: 'Portfolio' as never }), /mode: unknown value/);
});
