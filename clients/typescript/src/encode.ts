/** Encoding client → server messages (docs/protocol.md, byte for byte). */
import {
  ACCOUNT_STATUS,
  CANCEL_ON_DISCONNECT,
  INSTRUMENT_STATE,
  LIST_KIND,
  LOGOUT_REASON,
  MARGIN_MODE,
  ORDER_TYPE,
  REF_KIND,
  ROLE,
  SIDE,
  STP_MODE,
  TIME_IN_FORCE,
  TRAIL_UNIT,
  TRIGGER_KIND,
  TRIGGER_SOURCE,
} from './enums';
import { HEADER_LEN, LENGTH_PREFIX_LEN, SCHEMA_ID, TEMPLATE, VERSION } from './frame';
import type { ClientMessage, InstrumentSpec, ListLeg, NewOrder, NewOrderList, OrderRef } from './messages';

/** Bytes a `Login` credential carries. */
export const CREDENTIAL_LEN = 32;
/** Bytes of an instrument symbol. */
export const SYMBOL_LEN = 16;
/** Bytes of the instrument spec block. */
export const SPEC_BLOCK_LEN = 88;

const U64_MAX = (1n << 64n) - 1n;
const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;

/** A value the wire cannot carry (out of range, a secret too long ...): nothing was sent. */
export class EncodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EncodeError';
  }
}

/** Little-endian writes into a zeroed block, with range checks (a wrong value throws, never wraps). */
export class BlockWriter {
  constructor(readonly block: Buffer) {}

  u8(at: number, v: number): void {
    checkInt(v, 0xff, 'u8');
    this.block.writeUInt8(v, at);
  }
  u16(at: number, v: number): void {
    checkInt(v, 0xffff, 'u16');
    this.block.writeUInt16LE(v, at);
  }
  u32(at: number, v: number): void {
    checkInt(v, 0xffffffff, 'u32');
    this.block.writeUInt32LE(v, at);
  }
  i32(at: number, v: number): void {
    if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) throw new EncodeError(`${v} is not an i32`);
    this.block.writeInt32LE(v, at);
  }
  u64(at: number, v: bigint): void {
    if (typeof v !== 'bigint' || v < 0n || v > U64_MAX) throw new EncodeError(`${String(v)} is not a u64 bigint`);
    this.block.writeBigUInt64LE(v, at);
  }
  i64(at: number, v: bigint): void {
    if (typeof v !== 'bigint' || v < I64_MIN || v > I64_MAX) throw new EncodeError(`${String(v)} is not an i64 bigint`);
    this.block.writeBigInt64LE(v, at);
  }
  bytes(at: number, v: Uint8Array, max: number, what: string): void {
    if (v.length > max) throw new EncodeError(`${what}: ${v.length} bytes, at most ${max}`);
    this.block.set(v, at);
  }
}

function checkInt(v: number, max: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new EncodeError(`${v} is not a ${what}`);
}

function code<N extends string>(table: { codes: Readonly<Record<N, number>> }, name: N, what: string): number {
  const c = table.codes[name];
  if (c === undefined) throw new EncodeError(`${what}: unknown value ${String(name)}`);
  return c;
}

/** Writes one whole message: length prefix, header, and a zeroed block filled by `fill`. */
export function encodeMessage(templateId: number, blockLen: number, fill: (w: BlockWriter) => void): Buffer {
  const out = Buffer.alloc(LENGTH_PREFIX_LEN + HEADER_LEN + blockLen);
  out.writeUInt16LE(HEADER_LEN + blockLen, 0);
  out.writeUInt16LE(blockLen, 2);
  out.writeUInt16LE(templateId, 4);
  out.writeUInt16LE(SCHEMA_ID, 6);
  out.writeUInt16LE(VERSION, 8);
  fill(new BlockWriter(out.subarray(LENGTH_PREFIX_LEN + HEADER_LEN)));
  return out;
}

function writeRef(w: BlockWriter, valueAt: number, kindAt: number, ref: OrderRef): void {
  if ('engine' in ref) {
    w.u64(valueAt, ref.engine);
    w.u8(kindAt, REF_KIND.codes.Engine);
  } else {
    w.u64(valueAt, ref.client);
    w.u8(kindAt, REF_KIND.codes.Client);
  }
}

/** `NewOrder`'s 32-byte block, also the first 32 bytes of `NewStopOrder`'s and `NewAdvancedOrder`'s. */
function writeNewOrder(w: BlockWriter, m: Omit<NewOrder, 'type'>): void {
  w.u64(0, m.clientOrderId);
  w.u64(8, m.price);
  w.u64(16, m.qty);
  w.u32(24, m.instrument);
  w.u8(28, code(SIDE, m.side, 'side'));
  w.u8(29, code(ORDER_TYPE, m.orderType, 'order_type'));
  w.u8(30, code(TIME_IN_FORCE, m.tif, 'tif'));
  w.u8(31, code(STP_MODE, m.stp, 'stp'));
}

/** Bytes of `NewOrderList`'s block. */
export const ORDER_LIST_BLOCK_LEN = 80;

/**
 * `NewOrderList`'s block. An `Oco`'s working order and an `Oto`'s second leg are zeros (the
 * server ignores them); a list with the wrong number of legs for its kind is refused here, as the
 * server would refuse it (`InvalidField`) after a round trip.
 */
function writeOrderList(w: BlockWriter, m: NewOrderList): void {
  w.u8(12, code(LIST_KIND, m.kind, 'kind'));
  const legs = m.kind === 'Oto' ? 1 : 2;
  if (m.legs.length !== legs) throw new EncodeError(`an ${m.kind} list has ${legs} contingent leg(s), not ${m.legs.length}`);
  if ((m.working === null) !== (m.kind === 'Oco')) {
    throw new EncodeError(m.kind === 'Oco' ? 'an Oco list has no working order' : `an ${m.kind} list needs a working order`);
  }
  w.u64(0, m.clientOrderId);
  w.u32(8, m.instrument);
  w.u8(13, code(STP_MODE, m.stp, 'stp'));
  if (m.working !== null) {
    w.u8(14, code(SIDE, m.working.side, 'working_side'));
    w.u8(15, code(TIME_IN_FORCE, m.working.tif, 'working_tif'));
    w.u64(16, m.working.price);
    w.u64(24, m.working.qty);
  }
  w.u8(32, code(SIDE, m.side, 'side'));
  w.u64(40, m.qty);
  m.legs.forEach((leg, k) => writeListLeg(w, k, leg));
}

/** Contingent leg `k`'s type, tif and trigger kind at 33 + 3k, prices at 48 + 16k. */
function writeListLeg(w: BlockWriter, k: number, leg: ListLeg): void {
  w.u8(33 + 3 * k, code(ORDER_TYPE, leg.orderType, 'leg order_type'));
  w.u8(34 + 3 * k, code(TIME_IN_FORCE, leg.tif, 'leg tif'));
  w.u64(48 + 16 * k, leg.price);
  if (leg.trigger !== null) {
    w.u8(35 + 3 * k, code(TRIGGER_KIND, leg.trigger.kind, 'leg trigger'));
    w.u64(56 + 16 * k, leg.trigger.triggerPrice);
  }
}

/** Writes the 88-byte instrument spec block at `at`. */
export function writeSpec(w: BlockWriter, at: number, s: InstrumentSpec): void {
  const symbol = Buffer.from(s.symbol, 'ascii');
  if (!/^[\x21-\x7e]{1,16}$/.test(s.symbol)) throw new EncodeError(`symbol ${JSON.stringify(s.symbol)}: 1-16 printable ASCII`);
  w.u32(at, s.id);
  w.u32(at + 4, s.baseAsset);
  w.u32(at + 8, s.quoteAsset);
  w.u32(at + 12, s.priceBandBps);
  w.bytes(at + 16, symbol, SYMBOL_LEN, 'symbol');
  w.u64(at + 32, s.tick);
  w.u64(at + 40, s.lot);
  w.u64(at + 48, s.minQty);
  w.u64(at + 56, s.maxQty);
  w.u64(at + 64, s.minNotional);
  w.u64(at + 72, s.referencePrice);
  w.u64(at + 80, s.qtyScale);
}

/** The credential field's bytes for a secret (refused if it cannot log in: empty, > 32 bytes, a NUL). */
export function credentialBytes(secret: Buffer | string): Buffer {
  const b = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret;
  if (b.length === 0) throw new EncodeError('the secret is empty');
  if (b.length > CREDENTIAL_LEN) throw new EncodeError(`the secret has ${b.length} bytes; a login carries at most ${CREDENTIAL_LEN}`);
  if (b.includes(0)) throw new EncodeError('the secret contains a NUL byte (a login secret ends at the first NUL)');
  return b;
}

/** Encodes one client → server message into a new buffer (prefix, header, block). */
export function encode(m: ClientMessage): Buffer {
  const T = TEMPLATE;
  switch (m.type) {
    case 'Login':
      return encodeMessage(T.Login, 56, (w) => {
        w.u64(0, m.lastSeenSeq);
        w.u32(8, m.account);
        w.u32(12, m.heartbeatIntervalMs);
        w.u8(16, code(ROLE, m.role, 'role'));
        w.u8(17, code(CANCEL_ON_DISCONNECT, m.cancelOnDisconnect, 'cancel_on_disconnect'));
        w.bytes(24, credentialBytes(m.credential), CREDENTIAL_LEN, 'credential');
      });
    case 'Heartbeat':
      return encodeMessage(T.Heartbeat, 0, () => {});
    case 'Logout':
      return encodeMessage(T.Logout, 8, (w) => w.u8(0, code(LOGOUT_REASON, m.reason, 'reason')));
    case 'NewOrder':
      return encodeMessage(T.NewOrder, 32, (w) => writeNewOrder(w, m));
    case 'NewStopOrder':
      return encodeMessage(T.NewStopOrder, 48, (w) => {
        writeNewOrder(w, m);
        w.u64(32, m.triggerPrice);
        w.u8(40, code(TRIGGER_KIND, m.trigger, 'trigger'));
      });
    case 'NewAdvancedOrder':
      return encodeMessage(T.NewAdvancedOrder, 72, (w) => {
        writeNewOrder(w, m);
        w.u64(32, m.expireTimeNs);
        w.u64(40, m.quoteQty);
        if (m.trigger !== null) {
          w.u64(48, m.trigger.triggerPrice);
          w.u8(56, code(TRIGGER_KIND, m.trigger.kind, 'trigger'));
        }
        if (m.trailing !== null) {
          w.u8(57, code(TRAIL_UNIT, m.trailing.unit, 'trail_unit'));
          w.u32(60, m.trailing.delta);
        }
        w.u64(64, m.displayQty);
        // Perpetuals' flags (byte 58): bit 0 reduce-only, bit 1 close-position.
        w.u8(58, (m.reduceOnly === true ? 1 : 0) | (m.closePosition === true ? 2 : 0));
        // Perpetuals: which price fires the trigger (byte 59), the last price when absent.
        w.u8(59, code(TRIGGER_SOURCE, m.triggerSource ?? 'LastPrice', 'trigger_source'));
      });
    case 'NewOrderList':
      return encodeMessage(T.NewOrderList, ORDER_LIST_BLOCK_LEN, (w) => writeOrderList(w, m));
    case 'AmendTrigger':
      return encodeMessage(T.AmendTrigger, 24, (w) => {
        writeRef(w, 0, 16, m.order);
        w.u64(8, m.triggerPrice);
      });
    case 'Cancel':
      return encodeMessage(T.Cancel, 16, (w) => writeRef(w, 0, 8, m.order));
    case 'Amend':
      return encodeMessage(T.Amend, 32, (w) => {
        writeRef(w, 0, 24, m.order);
        let flags = 0;
        if (m.newQty !== undefined) {
          w.u64(8, m.newQty);
          flags |= 1;
        }
        if (m.newPrice !== undefined) {
          w.u64(16, m.newPrice);
          flags |= 2;
        }
        w.u8(25, flags);
      });
    case 'MassCancel':
      return encodeMessage(T.MassCancel, 8, (w) => {
        if (m.instrument !== undefined) {
          w.u32(0, m.instrument);
          w.u8(5, 1);
        }
        w.u8(4, m.side === undefined ? 0 : code(SIDE, m.side, 'side'));
      });
    case 'AddInstrument':
      return encodeMessage(T.AddInstrument, SPEC_BLOCK_LEN, (w) => writeSpec(w, 0, m.spec));
    case 'SetInstrumentState':
      return encodeMessage(T.SetInstrumentState, 8, (w) => {
        w.u32(0, m.instrument);
        w.u8(4, code(INSTRUMENT_STATE, m.state, 'state'));
      });
    case 'CreateAccount':
    case 'SetAccountStatus':
      return encodeMessage(m.type === 'CreateAccount' ? T.CreateAccount : T.SetAccountStatus, 8, (w) => {
        w.u32(0, m.target);
        w.u8(4, code(ACCOUNT_STATUS, m.status, 'status'));
        w.u8(5, m.tier);
      });
    case 'Deposit':
    case 'Withdraw':
    case 'MarginDeposit':
    case 'MarginWithdraw':
    case 'MarginDebit':
      return encodeMessage(T[m.type], 24, (w) => {
        w.u64(0, m.amount);
        w.u64(8, m.txId);
        w.u32(16, m.target);
        w.u32(20, m.asset);
      });
    case 'SetFeeSchedule':
      return encodeMessage(T.SetFeeSchedule, 16, (w) => {
        w.u32(0, m.instrument);
        w.i32(4, m.makerPpm);
        w.i32(8, m.takerPpm);
        w.u8(12, m.tier);
      });
    case 'QueryAccount':
      return encodeMessage(T.QueryAccount, 8, (w) => w.u32(0, m.target));
    case 'SetCredential':
      return encodeMessage(T.SetCredential, 56, (w) => {
        if (m.salt.length !== 16 || m.hash.length !== 32) throw new EncodeError('salt must be 16 bytes and hash 32');
        w.u32(0, m.target);
        w.bytes(8, m.salt, 16, 'salt');
        w.bytes(24, m.hash, 32, 'hash');
      });
    case 'RevokeCredential':
      return encodeMessage(T.RevokeCredential, 8, (w) => w.u32(0, m.target));
    case 'MdSubscribe':
      return encodeMessage(T.MdSubscribe, 8, (w) => {
        w.u32(0, m.heartbeatIntervalMs);
        w.u8(4, m.orderByOrder ? 1 : 0);
      });
    case 'MdSnapshotRequest':
      return encodeMessage(T.MdSnapshotRequest, 16, (w) => {
        w.u32(0, m.instrument);
        w.u32(4, m.depth);
        w.u8(8, m.orders ? 1 : 0);
      });
    case 'AddPerpetual':
      return encodeMessage(T.AddPerpetual, SPEC_BLOCK_LEN, (w) => writeSpec(w, 0, m.spec));
    case 'SetRiskTier':
      return encodeMessage(T.SetRiskTier, 32, (w) => {
        w.u64(0, m.maxNotional);
        w.u64(8, m.maintAmount);
        w.u32(16, m.instrument);
        w.u32(20, m.maxLeverage);
        w.u32(24, m.mmrPpm);
        w.u8(28, m.index);
      });
    case 'SetLeverage':
      return encodeMessage(T.SetLeverage, 8, (w) => {
        w.u32(0, m.instrument);
        w.u32(4, m.leverage);
      });
    case 'SetMarginMode':
      return encodeMessage(T.SetMarginMode, 8, (w) => {
        w.u32(0, m.instrument);
        w.u8(4, code(MARGIN_MODE, m.mode, 'mode'));
      });
    case 'AdjustIsolatedMargin':
      return encodeMessage(T.AdjustIsolatedMargin, 16, (w) => {
        w.i64(0, m.delta);
        w.u32(8, m.instrument);
      });
    case 'WalletTransfer':
      return encodeMessage(T.WalletTransfer, 16, (w) => {
        w.u64(0, m.amount);
        w.u32(8, m.asset);
        w.u8(12, m.toFutures ? 1 : 0);
      });
    case 'SetMarkPrice':
      return encodeMessage(T.SetMarkPrice, 16, (w) => {
        w.u64(0, m.markPrice);
        w.u32(8, m.instrument);
      });
    case 'ApplyFunding':
      return encodeMessage(T.ApplyFunding, 16, (w) => {
        w.u32(0, m.instrument);
        w.i32(4, m.ratePpm);
        w.u64(8, m.nextFundingTimeNs);
      });
  }
}
