/**
 * Every message of docs/protocol.md as a TypeScript type. `u64` fields are `bigint` (JavaScript
 * numbers cannot hold them), `u8`/`u16`/`u32` fields are `number`, enums are their names
 * (`enums.ts`). Prices and quantities are integers in the instrument's units (see `decimal.ts`).
 */
import type {
  AccountStatus,
  AdlRole,
  BalanceReason,
  CancelOnDisconnect,
  CancelReason,
  CommandType,
  InstrumentState,
  Liquidity,
  ListKind,
  LoginRejectReason,
  LogoutReason,
  MarginMode,
  MdDeleteReason,
  MdInstrumentKind,
  MdRejectReason,
  MdSnapshotRejectReason,
  OrderType,
  RejectReason,
  Role,
  SessionRejectReason,
  Side,
  StpMode,
  TimeInForce,
  TrailUnit,
  TriggerKind,
  TriggerSource,
} from './enums';

/** An order reference: the engine's order id or the client's order id. */
export type OrderRef = { engine: bigint } | { client: bigint };

/** An instrument's definition (the spec block of `AddInstrument`, `InstrumentAdded`, `MdInstrument`). */
export interface InstrumentSpec {
  id: number;
  baseAsset: number;
  quoteAsset: number;
  priceBandBps: number;
  /** Printable ASCII, at most 16 bytes. */
  symbol: string;
  tick: bigint;
  lot: bigint;
  minQty: bigint;
  maxQty: bigint;
  minNotional: bigint;
  referencePrice: bigint;
  /** notional = price * qty / qtyScale. */
  qtyScale: bigint;
}

// ---------------------------------------------------------------------------------------------
// Client → server.

export interface Login {
  type: 'Login';
  lastSeenSeq: bigint;
  account: number;
  heartbeatIntervalMs: number;
  role: Role;
  cancelOnDisconnect: CancelOnDisconnect;
  /** The secret: at most 32 bytes, no NUL (NUL-padded on the wire). */
  credential: Buffer;
}

export interface NewOrder {
  type: 'NewOrder';
  clientOrderId: bigint;
  /** 0 for market orders. */
  price: bigint;
  qty: bigint;
  instrument: number;
  side: Side;
  orderType: OrderType;
  tif: TimeInForce;
  stp: StpMode;
}

/**
 * A conditional order (stop-loss or take-profit, market or limit): armed until the instrument's
 * last trade price reaches `triggerPrice`, then placed as the `NewOrder` its first fields describe
 * (docs/matching.md, "Conditional orders"). Never in market data while armed.
 */
export interface NewStopOrder extends Omit<NewOrder, 'type'> {
  type: 'NewStopOrder';
  /** Last trade price that fires it: a positive multiple of the tick. */
  triggerPrice: bigint;
  trigger: TriggerKind;
}

/**
 * An order with options a `NewOrder` has no room for (docs/matching.md, "Advanced orders"); each
 * option is off at 0 / absent, and with all off it places exactly what a `NewOrder` would.
 * Which go together: `quoteQty` only on a market IOC/FOK order with `qty` 0, no trigger and no
 * expiry; `expireTimeNs` only on a limit GTC/post-only order or a conditional one (`trigger`);
 * `displayQty` only on a limit GTC/post-only order that is not conditional; `trailing` only with
 * a `StopLoss` trigger whose `triggerPrice` is 0.
 * Anything else is refused with `InvalidField`.
 */
export interface NewAdvancedOrder extends Omit<NewOrder, 'type'> {
  type: 'NewAdvancedOrder';
  /**
   * Good till date: nanoseconds since the Unix epoch on the gateway's clock; the order (resting
   * or armed) is cancelled with reason `Expired` once that time passes. 0 = no expiry.
   */
  expireTimeNs: bigint;
  /** A market order by quote quantity (quote minor units, before fees); 0 = `qty` is the quantity. */
  quoteQty: bigint;
  /** Conditional: armed until the last trade price reaches `triggerPrice`; null = placed now. */
  trigger: { triggerPrice: bigint; kind: TriggerKind } | null;
  /**
   * Iceberg: while it rests, the book and market data show at most this much of it (a multiple of
   * the lot, below `qty`; limit GTC/post-only, not conditional). 0 = all shown.
   */
  displayQty: bigint;
  /**
   * Trailing stop: the trigger follows the best last trade price since arming (the highest for a
   * sell, the lowest for a buy) at `delta` ticks or basis points (1 to 5,000) of it, rounded away
   * from it to the tick (docs/protocol.md, "NewAdvancedOrder"). Its `OrderArmed.triggerPrice` is
   * the trigger at arming, its `OrderTriggered.triggerPrice` the one it fired at. null = a fixed
   * trigger.
   */
  trailing: { delta: number; unit: TrailUnit } | null;
  /**
   * Perpetuals: the order may only reduce its owner's position (docs/futures.md, section 5).
   * Absent = false.
   */
  reduceOnly?: boolean;
  /** Perpetuals: a market order with `qty` 0 that closes the whole position. Absent = false. */
  closePosition?: boolean;
  /**
   * Perpetuals, with a fixed `trigger`: `MarkPrice` arms it against the perpetual's mark and
   * fires it when the oracle's mark reaches the trigger (docs/futures.md, "Mark-price
   * triggers"). Absent = `LastPrice`.
   */
  triggerSource?: TriggerSource;
}

/**
 * One contingent leg of a {@link NewOrderList}: a limit order (`trigger` null) or a conditional
 * one (stop-loss or take-profit, market or limit). Its side and quantity are the list's.
 */
export interface ListLeg {
  orderType: OrderType;
  tif: TimeInForce;
  /** Limit price (0 for market). */
  price: bigint;
  /** A conditional leg's trigger; null = a limit leg. */
  trigger: { triggerPrice: bigint; kind: TriggerKind } | null;
}

/**
 * An order list, placed whole or refused whole (docs/protocol.md, "NewOrderList"): `Oco` has two
 * `legs` and no `working` order; `Oto` a `working` limit order (GTC or post-only) and one pending
 * leg placed once it has filled completely; `Otoco` a working order and a pending OCO pair. Leg
 * `k` (working order first) has client order id `clientOrderId + k`.
 */
export interface NewOrderList {
  type: 'NewOrderList';
  /** The first leg's; the others follow it. */
  clientOrderId: bigint;
  instrument: number;
  kind: ListKind;
  /** Every leg's self-trade prevention mode. */
  stp: StpMode;
  /** `Oto`, `Otoco`: the working limit order; null (sent as zeros) for an `Oco`. */
  working: { side: Side; tif: TimeInForce; price: bigint; qty: bigint } | null;
  /** The contingent legs' side. */
  side: Side;
  /** The contingent legs' quantity. */
  qty: bigint;
  /** The contingent legs: one for `Oto`, two for `Oco` and `Otoco`. */
  legs: ListLeg[];
}

/** Moves an armed conditional order's trigger price (it goes to the back of the new price). */
export interface AmendTrigger {
  type: 'AmendTrigger';
  order: OrderRef;
  triggerPrice: bigint;
}

export interface Cancel {
  type: 'Cancel';
  order: OrderRef;
}

export interface Amend {
  type: 'Amend';
  order: OrderRef;
  /** New total quantity (filled included); absent = unchanged. */
  newQty?: bigint;
  /** New price; absent = unchanged. */
  newPrice?: bigint;
}

export interface MassCancel {
  type: 'MassCancel';
  /** Only this instrument; absent = all. */
  instrument?: number;
  /** Only this side; absent = both. */
  side?: Side;
}

export interface AddInstrument {
  type: 'AddInstrument';
  spec: InstrumentSpec;
}

export interface SetInstrumentState {
  type: 'SetInstrumentState';
  instrument: number;
  state: InstrumentState;
}

export interface CreateAccount {
  type: 'CreateAccount';
  target: number;
  status: AccountStatus;
  tier: number;
}

/** A spot transfer, or (perpetuals, admin) a futures wallet's deposit, withdrawal or debit. */
export interface Transfer {
  type: 'Deposit' | 'Withdraw' | 'MarginDeposit' | 'MarginWithdraw' | 'MarginDebit';
  amount: bigint;
  txId: bigint;
  target: number;
  asset: number;
}

export interface SetAccountStatus {
  type: 'SetAccountStatus';
  target: number;
  status: AccountStatus;
  tier: number;
}

export interface SetFeeSchedule {
  type: 'SetFeeSchedule';
  instrument: number;
  makerPpm: number;
  takerPpm: number;
  tier: number;
}

export interface QueryAccount {
  type: 'QueryAccount';
  target: number;
}

export interface SetCredential {
  type: 'SetCredential';
  target: number;
  /** 16 random bytes. */
  salt: Buffer;
  /** SHA-256(salt || secret), 32 bytes (see `credential.ts`). */
  hash: Buffer;
}

export interface RevokeCredential {
  type: 'RevokeCredential';
  target: number;
}

export interface MdSubscribe {
  type: 'MdSubscribe';
  heartbeatIntervalMs: number;
  orderByOrder: boolean;
}

export interface MdSnapshotRequest {
  type: 'MdSnapshotRequest';
  instrument: number;
  /** Levels per side; 0 = the server's maximum. */
  depth: number;
  /** The resting orders too (order-by-order subscriptions only). */
  orders: boolean;
}

/** Admin: adds a perpetual (the spot instrument's spec; `quoteAsset` is the margin asset). */
export interface AddPerpetual {
  type: 'AddPerpetual';
  spec: InstrumentSpec;
}

/** Admin: appends risk tier `index` (a leverage bracket) to a perpetual. */
export interface SetRiskTier {
  type: 'SetRiskTier';
  instrument: number;
  index: number;
  maxLeverage: number;
  mmrPpm: number;
  maxNotional: bigint;
  maintAmount: bigint;
}

/** The session's leverage on a perpetual. */
export interface SetLeverage {
  type: 'SetLeverage';
  instrument: number;
  leverage: number;
}

/** The session's margin mode on a perpetual. */
export interface SetMarginMode {
  type: 'SetMarginMode';
  instrument: number;
  mode: MarginMode;
}

/** Moves margin into (`delta` > 0) or out of (< 0) the session's isolated position. */
export interface AdjustIsolatedMargin {
  type: 'AdjustIsolatedMargin';
  instrument: number;
  delta: bigint;
}

/** Moves money between the session's spot balance and its futures wallet. */
export interface WalletTransfer {
  type: 'WalletTransfer';
  asset: number;
  amount: bigint;
  toFutures: boolean;
}

/** The oracle: a perpetual's new mark price. */
export interface SetMarkPrice {
  type: 'SetMarkPrice';
  instrument: number;
  markPrice: bigint;
}

/** The oracle: settles a perpetual's funding at its current mark (ppm; > 0 longs pay). */
export interface ApplyFunding {
  type: 'ApplyFunding';
  instrument: number;
  ratePpm: number;
  /**
   * When the oracle will settle the next funding, ns since the Unix epoch: strictly after the
   * server's receive time (else `CommandRejected` `InvalidFundingTime`); 0 is refused
   * (`SessionReject` `BadFieldValue`).
   */
  nextFundingTimeNs: bigint;
}

export interface Heartbeat {
  type: 'Heartbeat';
}

export interface Logout {
  type: 'Logout';
  reason: LogoutReason;
}

export type ClientMessage =
  | Login
  | Heartbeat
  | Logout
  | NewOrder
  | NewStopOrder
  | NewAdvancedOrder
  | NewOrderList
  | AmendTrigger
  | Cancel
  | Amend
  | MassCancel
  | AddInstrument
  | SetInstrumentState
  | CreateAccount
  | Transfer
  | SetAccountStatus
  | SetFeeSchedule
  | QueryAccount
  | SetCredential
  | RevokeCredential
  | MdSubscribe
  | MdSnapshotRequest
  | AddPerpetual
  | SetRiskTier
  | SetLeverage
  | SetMarginMode
  | AdjustIsolatedMargin
  | WalletTransfer
  | SetMarkPrice
  | ApplyFunding;

// ---------------------------------------------------------------------------------------------
// Server → client: session layer (not sequenced).

export interface LoginAccepted {
  type: 'LoginAccepted';
  nextSeq: bigint;
  highestSeq: bigint;
  account: number;
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  role: Role;
  cancelOnDisconnect: boolean;
}

/** A replica set leader's order-entry address. */
export interface LeaderAddress {
  /** IPv4 dotted quad, or IPv6 text form. */
  host: string;
  port: number;
}

export interface LoginRejected {
  type: 'LoginRejected';
  highestSeq: bigint;
  oldestAvailableSeq: bigint;
  account: number;
  reason: LoginRejectReason;
  /** For `NotLeader`, when the node knows the leader (a version-2 block with a non-zero port). */
  leader: LeaderAddress | null;
}

export interface SessionReject {
  type: 'SessionReject';
  clientOrderId: bigint;
  refTemplateId: number;
  /** Block offset of the bad field for `BadFieldValue`; else null. */
  fieldOffset: number | null;
  reason: SessionRejectReason;
}

// ---------------------------------------------------------------------------------------------
// Server → client: sequenced reports. Each carries the account stream's `seq` and `account`.

interface ReportBase {
  seq: bigint;
  account: number;
}

export interface OrderAccepted extends ReportBase {
  type: 'OrderAccepted';
  instrument: number;
  orderId: bigint;
  clientOrderId: bigint;
  price: bigint;
  qty: bigint;
  timestampNs: bigint;
  side: Side;
  orderType: OrderType;
  tif: TimeInForce;
}

export interface CommandRejected extends ReportBase {
  type: 'CommandRejected';
  instrument: number;
  clientOrderId: bigint;
  orderId: bigint;
  reason: RejectReason;
  command: CommandType;
}

export interface Fill extends ReportBase {
  type: 'Fill';
  instrument: number;
  orderId: bigint;
  clientOrderId: bigint;
  tradeId: bigint;
  price: bigint;
  qty: bigint;
  leavesQty: bigint;
  timestampNs: bigint;
  side: Side;
  liquidity: Liquidity;
  /** Quote asset minor units; negative = rebate; 0 when the block predates it (80 bytes). */
  fee: bigint;
  /** A perpetual's liquidation order traded (its taker fill has `orderId` 0). */
  liquidation: boolean;
}

export interface OrderCancelled extends ReportBase {
  type: 'OrderCancelled';
  instrument: number;
  orderId: bigint;
  clientOrderId: bigint;
  cancelledQty: bigint;
  filledQty: bigint;
  side: Side;
  reason: CancelReason;
}

export interface OrderAmended extends ReportBase {
  type: 'OrderAmended';
  instrument: number;
  orderId: bigint;
  clientOrderId: bigint;
  price: bigint;
  qty: bigint;
  leavesQty: bigint;
  side: Side;
  keptPriority: boolean;
}

export interface SelfTradePrevented extends ReportBase {
  type: 'SelfTradePrevented';
  instrument: number;
  makerOrderId: bigint;
  takerOrderId: bigint;
  qty: bigint;
  mode: StpMode;
}

export interface MassCancelled extends ReportBase {
  type: 'MassCancelled';
  count: number;
}

/** A `NewStopOrder` is armed (not in the book, not in market data); its `orderId` stays when it fires. */
export interface OrderArmed extends ReportBase {
  type: 'OrderArmed';
  instrument: number;
  orderId: bigint;
  clientOrderId: bigint;
  /** Limit price of the order placed on trigger (0 for market). */
  price: bigint;
  qty: bigint;
  /** The trigger; a trailing stop's at arming (it then follows the price, unreported). */
  triggerPrice: bigint;
  /** Gateway receive time of the `NewStopOrder`. */
  timestampNs: bigint;
  side: Side;
  orderType: OrderType;
  tif: TimeInForce;
  trigger: TriggerKind;
  /** Which price fires it: the last trade price, or (perpetuals) the mark. */
  triggerSource: TriggerSource;
}

/**
 * An armed order fired: it is placed now (its fills, rest or `OrderCancelled` follow as for a new
 * order; a failure at this moment is `OrderCancelled` with reason `Unfundable`, `FokCannotFill`
 * or `PostOnlyWouldTake`).
 */
export interface OrderTriggered extends ReportBase {
  type: 'OrderTriggered';
  instrument: number;
  orderId: bigint;
  clientOrderId: bigint;
  /** Limit price of the order placed now (0 for market). */
  price: bigint;
  qty: bigint;
  /** The trigger it fired at (a trailing stop's as it had followed the price). */
  triggerPrice: bigint;
  /** The price that reached the trigger: the last trade price, or the mark (`triggerSource`). */
  lastPrice: bigint;
  /** Gateway receive time of the command whose trade (or mark) fired it. */
  timestampNs: bigint;
  side: Side;
  orderType: OrderType;
  /** Which price `lastPrice` is. */
  triggerSource: TriggerSource;
}

/** An armed order's trigger price was moved (`AmendTrigger`); it is the last armed at that price. */
export interface OrderTriggerAmended extends ReportBase {
  type: 'OrderTriggerAmended';
  instrument: number;
  orderId: bigint;
  clientOrderId: bigint;
  /** The new trigger price. */
  triggerPrice: bigint;
  side: Side;
}

/**
 * An order list was accepted (the answer to `NewOrderList`); the reports of the legs placed now
 * follow it (`OrderAccepted`, fills, `OrderArmed`). Pending legs have no report until placed.
 */
export interface OrderListAccepted extends ReportBase {
  type: 'OrderListAccepted';
  instrument: number;
  /** The first leg's engine order id; leg `k` has `listId + k`. */
  listId: bigint;
  /** The first leg's client order id; leg `k` has this plus `k`. */
  clientOrderId: bigint;
  /** Gateway receive time of the command. */
  timestampNs: bigint;
  kind: ListKind;
  /** Number of legs (2 or 3). */
  legs: number;
}

export interface InstrumentAdded extends ReportBase {
  type: 'InstrumentAdded';
  spec: InstrumentSpec;
  /** Added by `AddPerpetual` (byte 12, reserved and zero before perpetuals). */
  perpetual: boolean;
}

export interface InstrumentStateChanged extends ReportBase {
  type: 'InstrumentStateChanged';
  instrument: number;
  state: InstrumentState;
}

export interface BalanceChanged extends ReportBase {
  type: 'BalanceChanged';
  asset: number;
  available: bigint;
  reservedAmount: bigint;
  commandSeq: bigint;
  reason: BalanceReason;
}

export interface AccountUpdated extends ReportBase {
  type: 'AccountUpdated';
  target: number;
  command: CommandType;
  status: AccountStatus;
  tier: number;
}

export interface TransferApplied extends ReportBase {
  type: 'TransferApplied';
  target: number;
  amount: bigint;
  txId: bigint;
  available: bigint;
  asset: number;
  command: CommandType;
}

export interface FeeScheduleSet extends ReportBase {
  type: 'FeeScheduleSet';
  instrument: number;
  makerPpm: number;
  takerPpm: number;
  tier: number;
}

export interface AccountBalance extends ReportBase {
  type: 'AccountBalance';
  target: number;
  available: bigint;
  reservedAmount: bigint;
  asset: number;
}

export interface OpenOrder extends ReportBase {
  type: 'OpenOrder';
  target: number;
  orderId: bigint;
  clientOrderId: bigint;
  price: bigint;
  qty: bigint;
  leavesQty: bigint;
  instrument: number;
  side: Side;
  tif: TimeInForce;
  stp: StpMode;
}

export interface QueryDone extends ReportBase {
  type: 'QueryDone';
  target: number;
  commandSeq: bigint;
  balances: number;
  orders: number;
  status: AccountStatus;
  tier: number;
}

export interface CredentialChanged extends ReportBase {
  type: 'CredentialChanged';
  target: number;
  /** First 8 bytes of the hash, big-endian; 0 for a revocation. */
  fingerprint: bigint;
  command: CommandType;
}

// Perpetual futures reports (docs/protocol.md, "Perpetual futures"). Amounts are signed.

export interface RiskTierSet extends ReportBase {
  type: 'RiskTierSet';
  instrument: number;
  index: number;
  maxLeverage: number;
  mmrPpm: number;
  maxNotional: bigint;
  maintAmount: bigint;
}

export interface LeverageSet extends ReportBase {
  type: 'LeverageSet';
  instrument: number;
  leverage: number;
}

export interface MarginModeSet extends ReportBase {
  type: 'MarginModeSet';
  instrument: number;
  mode: MarginMode;
}

export interface IsolatedMarginAdjusted extends ReportBase {
  type: 'IsolatedMarginAdjusted';
  instrument: number;
  delta: bigint;
  isolatedMargin: bigint;
}

export interface FundingPayment extends ReportBase {
  type: 'FundingPayment';
  instrument: number;
  /** > 0 received, < 0 paid. */
  amount: bigint;
}

export interface Liquidation extends ReportBase {
  type: 'Liquidation';
  instrument: number;
  size: bigint;
  markPrice: bigint;
  /** 0: none. */
  liqPrice: bigint;
  bankruptcyPrice: bigint;
}

export interface TakenOver extends ReportBase {
  type: 'TakenOver';
  instrument: number;
  qty: bigint;
  price: bigint;
}

/** One account's side of an auto-deleveraging (the other account is not named). */
export interface AutoDeleveraged extends ReportBase {
  type: 'AutoDeleveraged';
  instrument: number;
  qty: bigint;
  price: bigint;
  role: AdlRole;
}

export interface LiquidationDone extends ReportBase {
  type: 'LiquidationDone';
  instrument: number;
  clearance: bigint;
}

export interface BankruptcyCovered extends ReportBase {
  type: 'BankruptcyCovered';
  amount: bigint;
}

/** A resting reduce-only order cut down to its owner's position (it keeps its priority). */
export interface OrderTrimmed extends ReportBase {
  type: 'OrderTrimmed';
  instrument: number;
  orderId: bigint;
  clientOrderId: bigint;
  leavesQty: bigint;
  cutQty: bigint;
  side: Side;
}

/** A position after a command (signed `size`: > 0 long). */
export interface PositionChanged extends ReportBase {
  type: 'PositionChanged';
  instrument: number;
  size: bigint;
  cost: bigint;
  entryPrice: bigint;
  realisedPnl: bigint;
  isolatedMargin: bigint;
  /** 0: none. */
  liqPrice: bigint;
  commandSeq: bigint;
}

/** A futures wallet after a command. */
export interface WalletChanged extends ReportBase {
  type: 'WalletChanged';
  asset: number;
  wallet: bigint;
  spot: bigint;
  commandSeq: bigint;
}

/** `QueryAccount` answer: one position of `target`. */
export interface PositionReport extends ReportBase {
  type: 'PositionReport';
  target: number;
  instrument: number;
  leverage: number;
  size: bigint;
  cost: bigint;
  entryPrice: bigint;
  realisedPnl: bigint;
  isolatedMargin: bigint;
  liqPrice: bigint;
  markPrice: bigint;
  upnl: bigint;
  maintMargin: bigint;
  mode: MarginMode;
}

/** `QueryAccount` answer: a futures wallet of `target` and its margin figures. */
export interface MarginReport extends ReportBase {
  type: 'MarginReport';
  target: number;
  asset: number;
  wallet: bigint;
  equity: bigint;
  available: bigint;
  withdrawable: bigint;
  positionMargin: bigint;
  orderMargin: bigint;
  maintMargin: bigint;
}

/** To the oracle: a mark price was applied. */
export interface MarkPriceSet extends ReportBase {
  type: 'MarkPriceSet';
  instrument: number;
  markPrice: bigint;
}

/** To the oracle: a funding settlement finished. */
export interface FundingApplied extends ReportBase {
  type: 'FundingApplied';
  instrument: number;
  markPrice: bigint;
  openInterest: bigint;
  paid: bigint;
  received: bigint;
  residue: bigint;
  ratePpm: number;
  /** The next funding time the `ApplyFunding` announced, ns since the Unix epoch (0: none). */
  nextFundingTimeNs: bigint;
}

export type Report =
  | OrderAccepted
  | CommandRejected
  | Fill
  | OrderCancelled
  | OrderAmended
  | SelfTradePrevented
  | MassCancelled
  | OrderArmed
  | OrderTriggered
  | OrderTriggerAmended
  | OrderListAccepted
  | InstrumentAdded
  | InstrumentStateChanged
  | BalanceChanged
  | AccountUpdated
  | TransferApplied
  | FeeScheduleSet
  | AccountBalance
  | OpenOrder
  | QueryDone
  | CredentialChanged
  | RiskTierSet
  | LeverageSet
  | MarginModeSet
  | IsolatedMarginAdjusted
  | FundingPayment
  | Liquidation
  | TakenOver
  | AutoDeleveraged
  | LiquidationDone
  | BankruptcyCovered
  | OrderTrimmed
  | PositionChanged
  | WalletChanged
  | PositionReport
  | MarginReport
  | MarkPriceSet
  | FundingApplied;

/** Everything an order-entry (or admin) session receives. */
export type ServerMessage = LoginAccepted | LoginRejected | Heartbeat | Logout | SessionReject | Report;

// ---------------------------------------------------------------------------------------------
// Server → market-data subscriber.

export interface MdSubscribeAccepted {
  type: 'MdSubscribeAccepted';
  feedEpoch: bigint;
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  snapshotDepthMax: number;
  instruments: number;
  orderByOrder: boolean;
}

export interface MdSubscribeRejected {
  type: 'MdSubscribeRejected';
  reason: MdRejectReason;
}

export interface MdInstrument {
  type: 'MdInstrument';
  seq: bigint;
  instrument: number;
  state: InstrumentState;
  kind: MdInstrumentKind;
  orderSeq: bigint;
  spec: InstrumentSpec;
  /** A perpetual (byte 14, reserved and zero before perpetuals); false for a spot instrument. */
  perpetual: boolean;
}

export interface MdInstrumentState {
  type: 'MdInstrumentState';
  seq: bigint;
  instrument: number;
  state: InstrumentState;
}

export interface MdTrade {
  type: 'MdTrade';
  seq: bigint;
  instrument: number;
  aggressor: Side;
  tradeId: bigint;
  price: bigint;
  qty: bigint;
  timestampNs: bigint;
  /** A perpetual's liquidation order was the aggressor. */
  liquidation: boolean;
}

/** A perpetual's mark price changed (market-by-price stream). */
export interface MdMarkPrice {
  type: 'MdMarkPrice';
  seq: bigint;
  instrument: number;
  markPrice: bigint;
}

/** A perpetual's funding was settled (market-by-price stream). */
export interface MdFunding {
  type: 'MdFunding';
  seq: bigint;
  instrument: number;
  ratePpm: number;
  markPrice: bigint;
  openInterest: bigint;
  /**
   * When the oracle will settle the next funding, ns since the Unix epoch (0: none, a funding
   * replayed from an old journal, or a server before the field).
   */
  nextFundingTimeNs: bigint;
}

/** A perpetual's open interest changed (market-by-price stream). */
export interface MdOpenInterest {
  type: 'MdOpenInterest';
  seq: bigint;
  instrument: number;
  /** The sum of the long positions' sizes (= the short ones'), qty units. */
  openInterest: bigint;
}

export interface MdLevel {
  type: 'MdLevel' | 'MdSnapshotLevel';
  seq: bigint;
  instrument: number;
  side: Side;
  price: bigint;
  /** 0 = the level is gone (deltas only). */
  qty: bigint;
  orderCount: number;
}

export interface MdTopOfBook {
  type: 'MdTopOfBook';
  seq: bigint;
  instrument: number;
  bidPrice: bigint;
  bidQty: bigint;
  askPrice: bigint;
  askQty: bigint;
}

export interface MdSnapshotOrder {
  type: 'MdSnapshotOrder';
  seq: bigint;
  instrument: number;
  side: Side;
  orderId: bigint;
  price: bigint;
  qty: bigint;
}

export interface MdSnapshotEnd {
  type: 'MdSnapshotEnd';
  seq: bigint;
  instrument: number;
  state: InstrumentState;
  truncated: boolean;
  ordersIncluded: boolean;
  orderSeq: bigint;
  feedEpoch: bigint;
  bidLevels: number;
  askLevels: number;
  orders: number;
  /** A perpetual's mark price as of the snapshot (0 for spot, and from a server before the field). */
  markPrice: bigint;
  /** A perpetual's open interest as of the snapshot (0 for spot). */
  openInterest: bigint;
  /** The rate of the last announced funding, ppm (0 before one, and for spot). */
  fundingRatePpm: number;
  /** The next funding time that funding announced, ns since the Unix epoch (0 before one, and for spot). */
  nextFundingTimeNs: bigint;
}

export interface MdSnapshotRejected {
  type: 'MdSnapshotRejected';
  instrument: number;
  reason: MdSnapshotRejectReason;
}

export interface MdOrderAdded {
  type: 'MdOrderAdded';
  orderSeq: bigint;
  instrument: number;
  side: Side;
  orderId: bigint;
  price: bigint;
  qty: bigint;
}

export interface MdOrderExecuted {
  type: 'MdOrderExecuted';
  orderSeq: bigint;
  instrument: number;
  side: Side;
  orderId: bigint;
  tradeId: bigint;
  qty: bigint;
  leaves: bigint;
}

export interface MdOrderDeleted {
  type: 'MdOrderDeleted';
  orderSeq: bigint;
  instrument: number;
  side: Side;
  reason: MdDeleteReason;
  orderId: bigint;
  qty: bigint;
}

export interface MdOrderModified {
  type: 'MdOrderModified';
  orderSeq: bigint;
  instrument: number;
  side: Side;
  keptPriority: boolean;
  orderId: bigint;
  price: bigint;
  qty: bigint;
}

/** Everything a market-data subscriber receives. */
export type MdServerMessage =
  | Heartbeat
  | Logout
  | SessionReject
  | MdSubscribeAccepted
  | MdSubscribeRejected
  | MdInstrument
  | MdInstrumentState
  | MdTrade
  | MdMarkPrice
  | MdFunding
  | MdOpenInterest
  | MdLevel
  | MdTopOfBook
  | MdSnapshotOrder
  | MdSnapshotEnd
  | MdSnapshotRejected
  | MdOrderAdded
  | MdOrderExecuted
  | MdOrderDeleted
  | MdOrderModified;
