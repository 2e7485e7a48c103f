/**
 * Decoding server → client messages: the order-entry direction ({@link decodeServerMessage}) and
 * the market-data direction ({@link decodeMdMessage}). Both check the header as docs/protocol.md
 * says, accept a longer block than they know (fields appended by a later version) and refuse an
 * enum value outside its set with a {@link DecodeError} of kind `BadField`. Nothing a server sends
 * makes them throw anything else.
 */
import {
  ACCOUNT_STATUS,
  ADL_ROLE,
  BALANCE_REASON,
  CANCEL_REASON,
  COMMAND_TYPE,
  INSTRUMENT_STATE,
  LIQUIDITY,
  LIST_KIND,
  LOGIN_REJECT_REASON,
  LOGOUT_REASON,
  MARGIN_MODE,
  MD_DELETE_REASON,
  MD_INSTRUMENT_KIND,
  MD_REJECT_REASON,
  MD_SNAPSHOT_REJECT_REASON,
  ORDER_TYPE,
  REJECT_REASON,
  ROLE,
  SESSION_REJECT_REASON,
  SIDE,
  STP_MODE,
  TIME_IN_FORCE,
  TRIGGER_KIND,
  TRIGGER_SOURCE,
  type WireEnum,
} from './enums';
import { checkHeader, DecodeError, TEMPLATE as T, type Frame } from './frame';
import type {
  InstrumentSpec,
  LeaderAddress,
  MdServerMessage,
  Report,
  ServerMessage,
} from './messages';

/** Bounds-safe little-endian reads from a block whose length was checked (a read past it gives 0). */
class BlockReader {
  constructor(
    private readonly b: Buffer,
    private readonly templateId: number,
  ) {}

  u8(at: number): number {
    return at + 1 <= this.b.length ? this.b.readUInt8(at) : 0;
  }
  u16(at: number): number {
    return at + 2 <= this.b.length ? this.b.readUInt16LE(at) : 0;
  }
  u32(at: number): number {
    return at + 4 <= this.b.length ? this.b.readUInt32LE(at) : 0;
  }
  i32(at: number): number {
    return at + 4 <= this.b.length ? this.b.readInt32LE(at) : 0;
  }
  u64(at: number): bigint {
    return at + 8 <= this.b.length ? this.b.readBigUInt64LE(at) : 0n;
  }
  i64(at: number): bigint {
    return at + 8 <= this.b.length ? this.b.readBigInt64LE(at) : 0n;
  }
  get length(): number {
    return this.b.length;
  }
  slice(at: number, len: number): Buffer {
    return this.b.subarray(at, at + len);
  }

  /** A `u8` enum; a value outside the set refuses the message. */
  enum<N extends string>(at: number, table: WireEnum<N>, field: string): N {
    const v = this.u8(at);
    const name = table.names.get(v);
    if (name === undefined) throw this.bad(field, at, v);
    return name;
  }
  /** A `u8` that must be 0 or 1. */
  bool(at: number, field: string): boolean {
    const v = this.u8(at);
    if (v > 1) throw this.bad(field, at, v);
    return v === 1;
  }
  /** A flags byte with only the `known` bits allowed. */
  flags(at: number, known: number): number {
    const v = this.u8(at);
    if ((v & ~known) !== 0) throw this.bad('flags', at, v);
    return v;
  }
  bad(field: string, offset: number, value: number): DecodeError {
    return new DecodeError('BadField', this.templateId, `field \`${field}\` at offset ${offset} has invalid value ${value}`, {
      name: field,
      offset,
      value,
    });
  }
}

/** Shortest block each server → client (order-entry direction) template may have. */
const SERVER_MIN_BLOCK: ReadonlyMap<number, number> = new Map([
  [T.LoginAccepted, 32],
  [T.LoginRejected, 24], // version 1's block, before the leader's address
  [T.Heartbeat, 0],
  [T.Logout, 8],
  [T.SessionReject, 16],
  [T.OrderAccepted, 64],
  [T.CommandRejected, 40],
  [T.Fill, 80], // before `fee` was appended
  [T.OrderCancelled, 56],
  [T.OrderAmended, 64],
  [T.SelfTradePrevented, 48],
  [T.MassCancelled, 16],
  [T.OrderArmed, 72],
  [T.OrderTriggered, 80],
  [T.OrderTriggerAmended, 48],
  [T.OrderListAccepted, 48],
  [T.InstrumentAdded, 104],
  [T.InstrumentStateChanged, 24],
  [T.BalanceChanged, 48],
  [T.AccountUpdated, 24],
  [T.TransferApplied, 48],
  [T.FeeScheduleSet, 32],
  [T.AccountBalance, 40],
  [T.OpenOrder, 64],
  [T.QueryDone, 40],
  [T.CredentialChanged, 32],
  [T.RiskTierSet, 48],
  [T.LeverageSet, 24],
  [T.MarginModeSet, 24],
  [T.IsolatedMarginAdjusted, 32],
  [T.FundingPayment, 24],
  [T.Liquidation, 48],
  [T.TakenOver, 32],
  [T.AutoDeleveraged, 40],
  [T.LiquidationDone, 24],
  [T.BankruptcyCovered, 24],
  [T.OrderTrimmed, 56],
  [T.PositionChanged, 72],
  [T.WalletChanged, 40],
  [T.PositionReport, 104],
  [T.MarginReport, 80],
  [T.MarkPriceSet, 24],
  [T.FundingApplied, 64], // before `next_funding_time_ns` was appended
]);

/** Block length of each market-data direction template. */
const MD_MIN_BLOCK: ReadonlyMap<number, number> = new Map([
  [T.Heartbeat, 0],
  [T.Logout, 8],
  [T.SessionReject, 16],
  [T.MdSubscribeAccepted, 32],
  [T.MdSubscribeRejected, 8],
  [T.MdInstrument, 112],
  [T.MdInstrumentState, 16],
  [T.MdTrade, 48],
  [T.MdMarkPrice, 24],
  [T.MdFunding, 32], // before `next_funding_time_ns` was appended
  [T.MdOpenInterest, 24],
  [T.MdLevel, 40],
  [T.MdTopOfBook, 48],
  [T.MdSnapshotLevel, 40],
  [T.MdSnapshotOrder, 40],
  [T.MdSnapshotEnd, 48], // before a perpetual's state was appended
  [T.MdSnapshotRejected, 8],
  [T.MdOrderAdded, 40],
  [T.MdOrderExecuted, 48],
  [T.MdOrderDeleted, 32],
  [T.MdOrderModified, 40],
]);

/** Largest market-data message (`MdInstrument`, length prefix included). */
export const MD_MAX_MESSAGE_LEN = 2 + 8 + 112;

/** Reads the 88-byte instrument spec block at `at`. */
function readSpec(r: BlockReader, at: number): InstrumentSpec {
  const sym = r.slice(at + 16, 16);
  const end = sym.indexOf(0);
  return {
    id: r.u32(at),
    baseAsset: r.u32(at + 4),
    quoteAsset: r.u32(at + 8),
    priceBandBps: r.u32(at + 12),
    symbol: sym.subarray(0, end < 0 ? sym.length : end).toString('latin1'),
    tick: r.u64(at + 32),
    lot: r.u64(at + 40),
    minQty: r.u64(at + 48),
    maxQty: r.u64(at + 56),
    minNotional: r.u64(at + 64),
    referencePrice: r.u64(at + 72),
    qtyScale: r.u64(at + 80),
  };
}

/** `leader_addr`/`leader_port` of a version-2 `LoginRejected`; null when absent or port 0. */
function readLeader(r: BlockReader): LeaderAddress | null {
  if (r.length < 48) return null;
  const port = r.u16(40);
  if (port === 0) return null;
  const ip = r.slice(24, 16);
  const mapped = ip.subarray(0, 10).every((x) => x === 0) && ip[10] === 0xff && ip[11] === 0xff;
  if (mapped) return { host: `${ip[12]}.${ip[13]}.${ip[14]}.${ip[15]}`, port };
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(ip.readUInt16BE(i).toString(16));
  // The URL parser writes an IPv6 address in its canonical (compressed) form.
  return { host: new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1), port };
}

function readSessionReject(r: BlockReader): ServerMessage & MdServerMessage {
  const reason = r.enum(12, SESSION_REJECT_REASON, 'reason');
  const off = r.u16(10);
  return {
    type: 'SessionReject',
    clientOrderId: r.u64(0),
    refTemplateId: r.u16(8),
    fieldOffset: off === 0xffff ? null : off,
    reason,
  };
}

/** Decodes one order-entry direction message; throws {@link DecodeError} if it is refused. */
export function decodeServerMessage(frame: Frame): ServerMessage {
  const t = frame.header.templateId;
  checkHeader(frame, SERVER_MIN_BLOCK.get(t));
  const r = new BlockReader(frame.body, t);
  switch (t) {
    case T.LoginAccepted: {
      const role = r.enum(28, ROLE, 'role');
      const cod = r.bool(29, 'cancel_on_disconnect');
      return {
        type: 'LoginAccepted',
        nextSeq: r.u64(0),
        highestSeq: r.u64(8),
        account: r.u32(16),
        heartbeatIntervalMs: r.u32(20),
        heartbeatTimeoutMs: r.u32(24),
        role,
        cancelOnDisconnect: cod,
      };
    }
    case T.LoginRejected: {
      const reason = r.enum(20, LOGIN_REJECT_REASON, 'reason');
      return {
        type: 'LoginRejected',
        highestSeq: r.u64(0),
        oldestAvailableSeq: r.u64(8),
        account: r.u32(16),
        reason,
        leader: readLeader(r),
      };
    }
    case T.Heartbeat:
      return { type: 'Heartbeat' };
    case T.Logout:
      return { type: 'Logout', reason: r.enum(0, LOGOUT_REASON, 'reason') };
    case T.SessionReject:
      return readSessionReject(r);
    default:
      return readReport(t, r);
  }
}

/** Every report block starts with `seq` (u64) and `account` (u32). */
function readReport(t: number, r: BlockReader): Report {
  const seq = r.u64(0);
  const account = r.u32(8);
  switch (t) {
    case T.OrderAccepted:
      return {
        type: 'OrderAccepted', seq, account,
        instrument: r.u32(12),
        orderId: r.u64(16),
        clientOrderId: r.u64(24),
        price: r.u64(32),
        qty: r.u64(40),
        timestampNs: r.u64(48),
        side: r.enum(56, SIDE, 'side'),
        orderType: r.enum(57, ORDER_TYPE, 'order_type'),
        tif: r.enum(58, TIME_IN_FORCE, 'tif'),
      };
    case T.CommandRejected: {
      const command = r.enum(34, COMMAND_TYPE, 'command');
      const code = r.u16(32);
      const reason = REJECT_REASON.names.get(code);
      if (reason === undefined) throw r.bad('reason', 32, code);
      return {
        type: 'CommandRejected', seq, account,
        instrument: r.u32(12),
        clientOrderId: r.u64(16),
        orderId: r.u64(24),
        reason,
        command,
      };
    }
    case T.Fill:
      return {
        type: 'Fill', seq, account,
        instrument: r.u32(12),
        orderId: r.u64(16),
        clientOrderId: r.u64(24),
        tradeId: r.u64(32),
        price: r.u64(40),
        qty: r.u64(48),
        leavesQty: r.u64(56),
        timestampNs: r.u64(64),
        side: r.enum(72, SIDE, 'side'),
        liquidity: r.enum(73, LIQUIDITY, 'liquidity'),
        fee: r.i64(80), // absent (0) in an 80-byte block
        liquidation: (r.flags(74, 1) & 1) !== 0,
      };
    case T.OrderCancelled:
      return {
        type: 'OrderCancelled', seq, account,
        instrument: r.u32(12),
        orderId: r.u64(16),
        clientOrderId: r.u64(24),
        cancelledQty: r.u64(32),
        filledQty: r.u64(40),
        side: r.enum(48, SIDE, 'side'),
        reason: r.enum(49, CANCEL_REASON, 'reason'),
      };
    case T.OrderAmended:
      return {
        type: 'OrderAmended', seq, account,
        instrument: r.u32(12),
        orderId: r.u64(16),
        clientOrderId: r.u64(24),
        price: r.u64(32),
        qty: r.u64(40),
        leavesQty: r.u64(48),
        side: r.enum(56, SIDE, 'side'),
        keptPriority: r.bool(57, 'kept_priority'),
      };
    case T.SelfTradePrevented:
      return {
        type: 'SelfTradePrevented', seq, account,
        instrument: r.u32(12),
        makerOrderId: r.u64(16),
        takerOrderId: r.u64(24),
        qty: r.u64(32),
        mode: r.enum(40, STP_MODE, 'mode'),
      };
    case T.MassCancelled:
      return { type: 'MassCancelled', seq, account, count: r.u32(12) };
    case T.OrderArmed:
      return {
        type: 'OrderArmed', seq, account,
        instrument: r.u32(12),
        orderId: r.u64(16),
        clientOrderId: r.u64(24),
        price: r.u64(32),
        qty: r.u64(40),
        triggerPrice: r.u64(48),
        timestampNs: r.u64(56),
        side: r.enum(64, SIDE, 'side'),
        orderType: r.enum(65, ORDER_TYPE, 'order_type'),
        tif: r.enum(66, TIME_IN_FORCE, 'tif'),
        trigger: r.enum(67, TRIGGER_KIND, 'trigger'),
        triggerSource: r.enum(68, TRIGGER_SOURCE, 'trigger_source'),
      };
    case T.OrderTriggered:
      return {
        type: 'OrderTriggered', seq, account,
        instrument: r.u32(12),
        orderId: r.u64(16),
        clientOrderId: r.u64(24),
        price: r.u64(32),
        qty: r.u64(40),
        triggerPrice: r.u64(48),
        lastPrice: r.u64(56),
        timestampNs: r.u64(64),
        side: r.enum(72, SIDE, 'side'),
        orderType: r.enum(73, ORDER_TYPE, 'order_type'),
        triggerSource: r.enum(74, TRIGGER_SOURCE, 'trigger_source'),
      };
    case T.OrderTriggerAmended:
      return {
        type: 'OrderTriggerAmended', seq, account,
        instrument: r.u32(12),
        orderId: r.u64(16),
        clientOrderId: r.u64(24),
        triggerPrice: r.u64(32),
        side: r.enum(40, SIDE, 'side'),
      };
    case T.OrderListAccepted:
      return {
        type: 'OrderListAccepted', seq, account,
        instrument: r.u32(12),
        listId: r.u64(16),
        clientOrderId: r.u64(24),
        timestampNs: r.u64(32),
        kind: r.enum(40, LIST_KIND, 'kind'),
        legs: r.u8(41),
      };
    case T.InstrumentAdded:
      // Byte 12, reserved before perpetuals: any nonzero value is a perpetual (as in Rust).
      return { type: 'InstrumentAdded', seq, account, spec: readSpec(r, 16), perpetual: r.u8(12) !== 0 };
    case T.InstrumentStateChanged:
      return {
        type: 'InstrumentStateChanged', seq, account,
        instrument: r.u32(12),
        state: r.enum(16, INSTRUMENT_STATE, 'state'),
      };
    case T.BalanceChanged:
      return {
        type: 'BalanceChanged', seq, account,
        asset: r.u32(12),
        available: r.u64(16),
        reservedAmount: r.u64(24),
        commandSeq: r.u64(32),
        reason: r.enum(40, BALANCE_REASON, 'reason'),
      };
    case T.AccountUpdated:
      return {
        type: 'AccountUpdated', seq, account,
        target: r.u32(12),
        command: r.enum(16, COMMAND_TYPE, 'command'),
        status: r.enum(17, ACCOUNT_STATUS, 'status'),
        tier: r.u8(18),
      };
    case T.TransferApplied:
      return {
        type: 'TransferApplied', seq, account,
        target: r.u32(12),
        amount: r.u64(16),
        txId: r.u64(24),
        available: r.u64(32),
        asset: r.u32(40),
        command: r.enum(44, COMMAND_TYPE, 'command'),
      };
    case T.FeeScheduleSet:
      return {
        type: 'FeeScheduleSet', seq, account,
        instrument: r.u32(12),
        makerPpm: r.i32(16),
        takerPpm: r.i32(20),
        tier: r.u8(24),
      };
    case T.AccountBalance:
      return {
        type: 'AccountBalance', seq, account,
        target: r.u32(12),
        available: r.u64(16),
        reservedAmount: r.u64(24),
        asset: r.u32(32),
      };
    case T.OpenOrder:
      return {
        type: 'OpenOrder', seq, account,
        target: r.u32(12),
        orderId: r.u64(16),
        clientOrderId: r.u64(24),
        price: r.u64(32),
        qty: r.u64(40),
        leavesQty: r.u64(48),
        instrument: r.u32(56),
        side: r.enum(60, SIDE, 'side'),
        tif: r.enum(61, TIME_IN_FORCE, 'tif'),
        stp: r.enum(62, STP_MODE, 'stp'),
      };
    case T.QueryDone:
      return {
        type: 'QueryDone', seq, account,
        target: r.u32(12),
        commandSeq: r.u64(16),
        balances: r.u32(24),
        orders: r.u32(28),
        status: r.enum(32, ACCOUNT_STATUS, 'status'),
        tier: r.u8(33),
      };
    case T.CredentialChanged: {
      const command = r.enum(24, COMMAND_TYPE, 'command');
      if (command !== 'SetCredential' && command !== 'RevokeCredential') throw r.bad('command', 24, r.u8(24));
      return { type: 'CredentialChanged', seq, account, target: r.u32(12), fingerprint: r.u64(16), command };
    }
    default:
      return readFuturesReport(t, r, seq, account);
  }
}

/** The perpetual-futures reports (templates 170-186). */
function readFuturesReport(t: number, r: BlockReader, seq: bigint, account: number): Report {
  switch (t) {
    case T.RiskTierSet:
      return {
        type: 'RiskTierSet', seq, account,
        instrument: r.u32(12),
        maxNotional: r.u64(16),
        maintAmount: r.u64(24),
        maxLeverage: r.u32(32),
        mmrPpm: r.u32(36),
        index: r.u8(40),
      };
    case T.LeverageSet:
      return { type: 'LeverageSet', seq, account, instrument: r.u32(12), leverage: r.u32(16) };
    case T.MarginModeSet:
      return { type: 'MarginModeSet', seq, account, instrument: r.u32(12), mode: r.enum(16, MARGIN_MODE, 'mode') };
    case T.IsolatedMarginAdjusted:
      return {
        type: 'IsolatedMarginAdjusted', seq, account,
        instrument: r.u32(12),
        delta: r.i64(16),
        isolatedMargin: r.i64(24),
      };
    case T.FundingPayment:
      return { type: 'FundingPayment', seq, account, instrument: r.u32(12), amount: r.i64(16) };
    case T.Liquidation:
      return {
        type: 'Liquidation', seq, account,
        instrument: r.u32(12),
        size: r.i64(16),
        markPrice: r.u64(24),
        liqPrice: r.u64(32),
        bankruptcyPrice: r.u64(40),
      };
    case T.TakenOver:
      return { type: 'TakenOver', seq, account, instrument: r.u32(12), qty: r.u64(16), price: r.u64(24) };
    case T.AutoDeleveraged:
      return {
        type: 'AutoDeleveraged', seq, account,
        instrument: r.u32(12),
        qty: r.u64(16),
        price: r.u64(24),
        role: r.enum(32, ADL_ROLE, 'role'),
      };
    case T.LiquidationDone:
      return { type: 'LiquidationDone', seq, account, instrument: r.u32(12), clearance: r.i64(16) };
    case T.BankruptcyCovered:
      return { type: 'BankruptcyCovered', seq, account, amount: r.i64(16) };
    case T.OrderTrimmed:
      return {
        type: 'OrderTrimmed', seq, account,
        instrument: r.u32(12),
        orderId: r.u64(16),
        clientOrderId: r.u64(24),
        leavesQty: r.u64(32),
        cutQty: r.u64(40),
        side: r.enum(48, SIDE, 'side'),
      };
    case T.PositionChanged:
      return {
        type: 'PositionChanged', seq, account,
        instrument: r.u32(12),
        size: r.i64(16),
        cost: r.i64(24),
        entryPrice: r.u64(32),
        realisedPnl: r.i64(40),
        isolatedMargin: r.i64(48),
        liqPrice: r.u64(56),
        commandSeq: r.u64(64),
      };
    case T.WalletChanged:
      return {
        type: 'WalletChanged', seq, account,
        asset: r.u32(12),
        wallet: r.i64(16),
        spot: r.u64(24),
        commandSeq: r.u64(32),
      };
    case T.PositionReport:
      return {
        type: 'PositionReport', seq, account,
        target: r.u32(12),
        instrument: r.u32(16),
        leverage: r.u32(20),
        size: r.i64(24),
        cost: r.i64(32),
        entryPrice: r.u64(40),
        realisedPnl: r.i64(48),
        isolatedMargin: r.i64(56),
        liqPrice: r.u64(64),
        markPrice: r.u64(72),
        upnl: r.i64(80),
        maintMargin: r.i64(88),
        mode: r.enum(96, MARGIN_MODE, 'mode'),
      };
    case T.MarginReport:
      return {
        type: 'MarginReport', seq, account,
        target: r.u32(12),
        asset: r.u32(16),
        wallet: r.i64(24),
        equity: r.i64(32),
        available: r.i64(40),
        withdrawable: r.i64(48),
        positionMargin: r.i64(56),
        orderMargin: r.i64(64),
        maintMargin: r.i64(72),
      };
    case T.MarkPriceSet:
      return { type: 'MarkPriceSet', seq, account, instrument: r.u32(12), markPrice: r.u64(16) };
    case T.FundingApplied:
      return {
        type: 'FundingApplied', seq, account,
        instrument: r.u32(12),
        markPrice: r.u64(16),
        openInterest: r.u64(24),
        paid: r.i64(32),
        received: r.i64(40),
        residue: r.i64(48),
        ratePpm: r.i32(56),
        nextFundingTimeNs: r.u64(64), // absent (0) in a 64-byte block
      };
    default:
      // Unreachable: checkHeader refused templates without a block length.
      throw new DecodeError('UnknownTemplate', t, 'unknown template');
  }
}

/** Decodes one market-data direction message; throws {@link DecodeError} if it is refused. */
export function decodeMdMessage(frame: Frame): MdServerMessage {
  const t = frame.header.templateId;
  checkHeader(frame, MD_MIN_BLOCK.get(t));
  const r = new BlockReader(frame.body, t);
  switch (t) {
    case T.Heartbeat:
      return { type: 'Heartbeat' };
    case T.Logout:
      return { type: 'Logout', reason: r.enum(0, LOGOUT_REASON, 'reason') };
    case T.SessionReject:
      return readSessionReject(r);
    case T.MdSubscribeAccepted: {
      const flags = r.flags(24, 1);
      return {
        type: 'MdSubscribeAccepted',
        feedEpoch: r.u64(0),
        heartbeatIntervalMs: r.u32(8),
        heartbeatTimeoutMs: r.u32(12),
        snapshotDepthMax: r.u32(16),
        instruments: r.u32(20),
        orderByOrder: (flags & 1) !== 0,
      };
    }
    case T.MdSubscribeRejected:
      return { type: 'MdSubscribeRejected', reason: r.enum(0, MD_REJECT_REASON, 'reason') };
    case T.MdInstrument: {
      const state = r.enum(12, INSTRUMENT_STATE, 'state');
      const kind = r.enum(13, MD_INSTRUMENT_KIND, 'kind');
      const perpetual = r.bool(14, 'perpetual');
      const instrument = r.u32(8);
      // The instrument id at offset 8 is the one that counts (as in the Rust decoder).
      const spec = { ...readSpec(r, 24), id: instrument };
      return { type: 'MdInstrument', seq: r.u64(0), instrument, state, kind, orderSeq: r.u64(16), spec, perpetual };
    }
    case T.MdInstrumentState:
      return {
        type: 'MdInstrumentState',
        seq: r.u64(0),
        instrument: r.u32(8),
        state: r.enum(12, INSTRUMENT_STATE, 'state'),
      };
    case T.MdTrade:
      return {
        type: 'MdTrade',
        seq: r.u64(0),
        instrument: r.u32(8),
        aggressor: r.enum(12, SIDE, 'aggressor'),
        tradeId: r.u64(16),
        price: r.u64(24),
        qty: r.u64(32),
        timestampNs: r.u64(40),
        liquidation: (r.flags(13, 1) & 1) !== 0,
      };
    case T.MdMarkPrice:
      return { type: 'MdMarkPrice', seq: r.u64(0), instrument: r.u32(8), markPrice: r.u64(16) };
    case T.MdFunding:
      return {
        type: 'MdFunding',
        seq: r.u64(0),
        instrument: r.u32(8),
        ratePpm: r.i32(12),
        markPrice: r.u64(16),
        openInterest: r.u64(24),
        nextFundingTimeNs: r.u64(32), // absent (0) in a 32-byte block
      };
    case T.MdOpenInterest:
      return { type: 'MdOpenInterest', seq: r.u64(0), instrument: r.u32(8), openInterest: r.u64(16) };
    case T.MdLevel:
    case T.MdSnapshotLevel:
      return {
        type: t === T.MdLevel ? 'MdLevel' : 'MdSnapshotLevel',
        seq: r.u64(0),
        instrument: r.u32(8),
        side: r.enum(12, SIDE, 'side'),
        price: r.u64(16),
        qty: r.u64(24),
        orderCount: r.u32(32),
      };
    case T.MdTopOfBook:
      return {
        type: 'MdTopOfBook',
        seq: r.u64(0),
        instrument: r.u32(8),
        bidPrice: r.u64(16),
        bidQty: r.u64(24),
        askPrice: r.u64(32),
        askQty: r.u64(40),
      };
    case T.MdSnapshotOrder:
      return {
        type: 'MdSnapshotOrder',
        seq: r.u64(0),
        instrument: r.u32(8),
        side: r.enum(12, SIDE, 'side'),
        orderId: r.u64(16),
        price: r.u64(24),
        qty: r.u64(32),
      };
    case T.MdSnapshotEnd: {
      const state = r.enum(12, INSTRUMENT_STATE, 'state');
      const flags = r.flags(13, 0b11);
      return {
        type: 'MdSnapshotEnd',
        seq: r.u64(0),
        instrument: r.u32(8),
        state,
        truncated: (flags & 1) !== 0,
        ordersIncluded: (flags & 2) !== 0,
        orderSeq: r.u64(16),
        feedEpoch: r.u64(24),
        bidLevels: r.u32(32),
        askLevels: r.u32(36),
        orders: r.u32(40),
        // A perpetual's state: absent (0) in a 48-byte block, like a field the block does not hold whole.
        markPrice: r.u64(48),
        openInterest: r.u64(56),
        fundingRatePpm: r.i32(64),
        nextFundingTimeNs: r.u64(72),
      };
    }
    case T.MdSnapshotRejected:
      return {
        type: 'MdSnapshotRejected',
        instrument: r.u32(0),
        reason: r.enum(4, MD_SNAPSHOT_REJECT_REASON, 'reason'),
      };
    case T.MdOrderAdded:
      return {
        type: 'MdOrderAdded',
        orderSeq: r.u64(0),
        instrument: r.u32(8),
        side: r.enum(12, SIDE, 'side'),
        orderId: r.u64(16),
        price: r.u64(24),
        qty: r.u64(32),
      };
    case T.MdOrderExecuted:
      return {
        type: 'MdOrderExecuted',
        orderSeq: r.u64(0),
        instrument: r.u32(8),
        side: r.enum(12, SIDE, 'side'),
        orderId: r.u64(16),
        tradeId: r.u64(24),
        qty: r.u64(32),
        leaves: r.u64(40),
      };
    case T.MdOrderDeleted: {
      const side = r.enum(12, SIDE, 'side');
      const reason = r.enum(13, MD_DELETE_REASON, 'reason');
      return { type: 'MdOrderDeleted', orderSeq: r.u64(0), instrument: r.u32(8), side, reason, orderId: r.u64(16), qty: r.u64(24) };
    }
    case T.MdOrderModified: {
      const side = r.enum(12, SIDE, 'side');
      const keptPriority = r.bool(13, 'kept_priority');
      return {
        type: 'MdOrderModified',
        orderSeq: r.u64(0),
        instrument: r.u32(8),
        side,
        keptPriority,
        orderId: r.u64(16),
        price: r.u64(24),
        qty: r.u64(32),
      };
    }
    default:
      throw new DecodeError('UnknownTemplate', t, 'unknown template');
  }
}
