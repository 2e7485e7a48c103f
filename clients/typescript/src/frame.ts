/**
 * Framing (docs/protocol.md, "Framing"): a little-endian `u16` length prefix (the bytes after it),
 * an 8-byte header (block length, template id, schema id, version), then the block.
 */

/** Schema id in every header (`0x4D44`, bytes `44 4d`). */
export const SCHEMA_ID = 0x4d44;
/** Schema version this client encodes (2: `NotLeader` and the leader's address in `LoginRejected`). */
export const VERSION = 2;
/** Bytes of the length prefix. */
export const LENGTH_PREFIX_LEN = 2;
/** Bytes of the header. */
export const HEADER_LEN = 8;
/** Largest order-entry message this client accepts (the server's default `max_frame_bytes`). */
export const DEFAULT_MAX_MESSAGE_LEN = 1024;

/** Template ids (docs/protocol.md, "Templates"). */
export const TEMPLATE = {
  Login: 1,
  LoginAccepted: 2,
  LoginRejected: 3,
  Heartbeat: 4,
  Logout: 5,
  SessionReject: 6,
  NewOrder: 20,
  Cancel: 21,
  Amend: 22,
  MassCancel: 23,
  NewStopOrder: 24,
  NewAdvancedOrder: 25,
  AmendTrigger: 26,
  NewOrderList: 27,
  OrderAccepted: 40,
  CommandRejected: 41,
  Fill: 42,
  OrderCancelled: 43,
  OrderAmended: 44,
  SelfTradePrevented: 45,
  MassCancelled: 46,
  OrderArmed: 47,
  OrderTriggered: 48,
  OrderTriggerAmended: 49,
  OrderListAccepted: 50,
  AddInstrument: 60,
  SetInstrumentState: 61,
  InstrumentAdded: 70,
  InstrumentStateChanged: 71,
  CreateAccount: 80,
  Deposit: 81,
  Withdraw: 82,
  SetAccountStatus: 83,
  SetFeeSchedule: 84,
  QueryAccount: 85,
  SetCredential: 86,
  RevokeCredential: 87,
  BalanceChanged: 90,
  AccountUpdated: 91,
  TransferApplied: 92,
  FeeScheduleSet: 93,
  AccountBalance: 94,
  OpenOrder: 95,
  QueryDone: 96,
  CredentialChanged: 97,
  MdSubscribe: 100,
  MdSnapshotRequest: 101,
  MdSubscribeAccepted: 110,
  MdSubscribeRejected: 111,
  MdInstrument: 120,
  MdInstrumentState: 121,
  MdTrade: 122,
  MdLevel: 123,
  MdTopOfBook: 124,
  MdMarkPrice: 125,
  MdFunding: 126,
  MdOpenInterest: 127,
  MdSnapshotLevel: 130,
  MdSnapshotOrder: 131,
  MdSnapshotEnd: 132,
  MdSnapshotRejected: 133,
  MdOrderAdded: 140,
  MdOrderExecuted: 141,
  MdOrderDeleted: 142,
  MdOrderModified: 143,
  AddPerpetual: 150,
  SetRiskTier: 151,
  MarginDeposit: 152,
  MarginWithdraw: 153,
  MarginDebit: 154,
  SetLeverage: 155,
  SetMarginMode: 156,
  AdjustIsolatedMargin: 157,
  WalletTransfer: 158,
  SetMarkPrice: 159,
  ApplyFunding: 160,
  RiskTierSet: 170,
  LeverageSet: 171,
  MarginModeSet: 172,
  IsolatedMarginAdjusted: 173,
  FundingPayment: 174,
  Liquidation: 175,
  TakenOver: 176,
  AutoDeleveraged: 177,
  LiquidationDone: 178,
  BankruptcyCovered: 179,
  OrderTrimmed: 180,
  PositionChanged: 181,
  WalletChanged: 182,
  PositionReport: 183,
  MarginReport: 184,
  MarkPriceSet: 185,
  FundingApplied: 186,
} as const;

/** The message header. */
export interface Header {
  blockLength: number;
  templateId: number;
  schemaId: number;
  version: number;
}

/** One frame: its header and the bytes after the header (the block). */
export interface Frame {
  header: Header;
  body: Buffer;
}

/**
 * The byte stream cannot be split into frames (an impossible length prefix): fatal for the
 * connection, which must be closed.
 */
export class FrameError extends Error {
  constructor(
    readonly kind: 'TooShort' | 'TooLarge',
    /** The length prefix (`TooShort`) or the whole message's length (`TooLarge`). */
    readonly length: number,
    readonly max: number,
  ) {
    super(
      kind === 'TooShort'
        ? `frame length ${length} is shorter than the 8-byte header`
        : `message of ${length} bytes exceeds the limit of ${max}`,
    );
    this.name = 'FrameError';
  }
}

/**
 * Splits the first frame off `buf` (from `offset`). `null`: not a whole frame yet, read more.
 * Throws {@link FrameError} as soon as the length prefix is readable and impossible.
 */
export function decodeFrame(
  buf: Buffer,
  offset = 0,
  maxMessageLen = DEFAULT_MAX_MESSAGE_LEN,
): { frame: Frame; used: number } | null {
  if (buf.length - offset < LENGTH_PREFIX_LEN) return null;
  const len = buf.readUInt16LE(offset);
  if (len < HEADER_LEN) throw new FrameError('TooShort', len, maxMessageLen);
  const total = LENGTH_PREFIX_LEN + len;
  if (total > maxMessageLen) throw new FrameError('TooLarge', total, maxMessageLen);
  if (buf.length - offset < total) return null;
  const h = offset + LENGTH_PREFIX_LEN;
  const header: Header = {
    blockLength: buf.readUInt16LE(h),
    templateId: buf.readUInt16LE(h + 2),
    schemaId: buf.readUInt16LE(h + 4),
    version: buf.readUInt16LE(h + 6),
  };
  return { frame: { header, body: buf.subarray(h + HEADER_LEN, offset + total) }, used: total };
}

/**
 * Collects socket chunks and hands out whole frames. Keeps at most one partial frame between
 * calls, so its memory is bounded by the message size limit.
 */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);
  private start = 0;

  constructor(private readonly maxMessageLen = DEFAULT_MAX_MESSAGE_LEN) {}

  /** Appends bytes read from the socket. */
  push(chunk: Buffer): void {
    const rest = this.buf.length - this.start;
    if (rest === 0) {
      this.buf = chunk;
    } else {
      this.buf = Buffer.concat([this.buf.subarray(this.start), chunk]);
    }
    this.start = 0;
  }

  /** The next whole frame, or `null` until more bytes arrive; throws {@link FrameError}. */
  next(): Frame | null {
    const got = decodeFrame(this.buf, this.start, this.maxMessageLen);
    if (got === null) return null;
    this.start += got.used;
    return got.frame;
  }

  /** Bytes held that do not make a whole frame yet. */
  get pending(): number {
    return this.buf.length - this.start;
  }
}

/** A well-framed message was refused (the frame is consumed). The kinds are the Rust decoder's. */
export class DecodeError extends Error {
  constructor(
    readonly kind:
      | 'UnknownSchema'
      | 'UnsupportedVersion'
      | 'UnknownTemplate'
      | 'LengthMismatch'
      | 'BlockTooShort'
      | 'BadField',
    readonly templateId: number,
    detail: string,
    /** For `BadField`: the field's name, block offset and value. */
    readonly field?: { name: string; offset: number; value: number },
  ) {
    super(`template ${templateId}: ${detail}`);
    this.name = 'DecodeError';
  }
}

/**
 * The header checks every decoder starts with, in the document's order: schema, version,
 * template known in this direction, block length equal to the frame's, not below the template's.
 */
export function checkHeader(frame: Frame, minBlockLen: number | undefined): void {
  const { header: h, body } = frame;
  if (h.schemaId !== SCHEMA_ID) {
    throw new DecodeError('UnknownSchema', h.templateId, `unknown schema id 0x${h.schemaId.toString(16)}`);
  }
  if (h.version === 0) throw new DecodeError('UnsupportedVersion', h.templateId, 'unsupported schema version 0');
  if (minBlockLen === undefined) throw new DecodeError('UnknownTemplate', h.templateId, 'unknown template');
  if (body.length !== h.blockLength) {
    throw new DecodeError(
      'LengthMismatch',
      h.templateId,
      `block length ${h.blockLength} but ${body.length} bytes follow the header`,
    );
  }
  if (body.length < minBlockLen) {
    throw new DecodeError('BlockTooShort', h.templateId, `block length ${h.blockLength} is below ${minBlockLen}`);
  }
}
