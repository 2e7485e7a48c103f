/**
 * The protocol's enums (docs/protocol.md, "Enums"), by name. Decoded messages carry the names
 * (`'Buy'`, `'PriceOffTick'`); encoders take them. A wire value outside a set refuses the message
 * (`DecodeError` `BadField`), as the Rust decoder does.
 */

/** A name → wire code table, with the reverse lookup the decoder uses. */
export interface WireEnum<N extends string> {
  readonly codes: Readonly<Record<N, number>>;
  readonly names: ReadonlyMap<number, N>;
}

function wireEnum<N extends string>(codes: Record<N, number>): WireEnum<N> {
  const names = new Map<number, N>();
  for (const [name, code] of Object.entries(codes) as [N, number][]) {
    names.set(code, name);
  }
  return { codes, names };
}

export const SIDE = wireEnum({ Buy: 1, Sell: 2 });
export type Side = keyof typeof SIDE.codes;

export const ORDER_TYPE = wireEnum({ Limit: 1, Market: 2 });
export type OrderType = keyof typeof ORDER_TYPE.codes;

export const TIME_IN_FORCE = wireEnum({ GTC: 1, IOC: 2, FOK: 3, PostOnly: 4 });
export type TimeInForce = keyof typeof TIME_IN_FORCE.codes;

export const STP_MODE = wireEnum({ None: 0, CancelTaker: 1, CancelMaker: 2, CancelBoth: 3 });
export type StpMode = keyof typeof STP_MODE.codes;

export const INSTRUMENT_STATE = wireEnum({ Trading: 1, Halted: 2, CancelOnly: 3, Closed: 4 });
export type InstrumentState = keyof typeof INSTRUMENT_STATE.codes;

export const REF_KIND = wireEnum({ Engine: 1, Client: 2 });
export type RefKind = keyof typeof REF_KIND.codes;

export const ROLE = wireEnum({ Trader: 1, Admin: 2 });
export type Role = keyof typeof ROLE.codes;

export const CANCEL_ON_DISCONNECT = wireEnum({ Default: 0, Enabled: 1, Disabled: 2 });
export type CancelOnDisconnect = keyof typeof CANCEL_ON_DISCONNECT.codes;

export const LIQUIDITY = wireEnum({ Maker: 1, Taker: 2 });
export type Liquidity = keyof typeof LIQUIDITY.codes;

export const COMMAND_TYPE = wireEnum({
  NewOrder: 1,
  Cancel: 2,
  Amend: 3,
  MassCancel: 4,
  AddInstrument: 5,
  SetInstrumentState: 6,
  CreateAccount: 7,
  Deposit: 8,
  Withdraw: 9,
  SetAccountStatus: 10,
  SetFeeSchedule: 11,
  QueryAccount: 12,
  SetCredential: 13,
  RevokeCredential: 14,
  NewStopOrder: 15,
  NewAdvancedOrder: 16,
  AmendTrigger: 17,
  NewOrderList: 18,
  AddPerpetual: 19,
  SetRiskTier: 20,
  SetLeverage: 21,
  SetMarginMode: 22,
  AdjustIsolatedMargin: 23,
  MarginDeposit: 24,
  MarginWithdraw: 25,
  MarginDebit: 26,
  WalletTransfer: 27,
  SetMarkPrice: 28,
  ApplyFunding: 29,
});
export type CommandType = keyof typeof COMMAND_TYPE.codes;

/** `CommandRejected.reason` (a `u16` on the wire). */
export const REJECT_REASON = wireEnum({
  UnknownInstrument: 1,
  InstrumentNotTrading: 2,
  PriceOffTick: 3,
  QtyOffLot: 4,
  QtyOutOfRange: 5,
  BelowMinNotional: 6,
  OutsidePriceBand: 7,
  DuplicateClientOrderId: 8,
  UnknownOrder: 9,
  NotYourOrder: 10,
  PostOnlyWouldTake: 11,
  FokCannotFill: 12,
  CapacityReached: 13,
  TooManyOpenOrders: 14,
  InvalidField: 15,
  UnknownAccount: 16,
  InstrumentExists: 17,
  InvalidInstrument: 18,
  InvalidStateTransition: 19,
  InsufficientBalance: 20,
  AccountSuspended: 21,
  AccountExists: 22,
  UnknownAsset: 23,
  DuplicateTransaction: 24,
  InvalidFee: 25,
  AccountsDisabled: 26,
  SystemAccount: 27,
  WouldTriggerImmediately: 28,
  /** A quote-quantity market order that would trade nothing (no liquidity in the band, or less than a lot). */
  NothingToFill: 29,
  /** A good-till-date order whose expiry time is not after the engine's time. */
  AlreadyExpired: 30,
  /** An `AmendTrigger` of an order that is not an armed conditional order. */
  NotArmed: 31,
  /** An `Amend` of an OCO leg or a pending leg of an order list (cancel the list and place another). */
  OrderListLeg: 32,
  /** Perpetuals (docs/futures.md, section 10): a futures command on a spot instrument. */
  NotPerpetual: 33,
  /** A risk tier out of order, discontinuous, or whose maintenance rate times its leverage reaches 100 %. */
  InvalidRiskTier: 34,
  /** A position or open order prevents it (a tier change, a margin-mode change). */
  PositionOpen: 35,
  /** Leverage above tier 0's, or the position with its orders above the cap at that leverage. */
  LeverageAboveTier: 36,
  /** The order's worst-case position would exceed the cap at the account's leverage. */
  PositionLimitExceeded: 37,
  /** Free margin cannot cover it. */
  InsufficientMargin: 38,
  /** A reduce-only or close-position order that would open or increase a position. */
  ReduceOnlyWouldOpen: 39,
  /** A mark price of 0. */
  InvalidMarkPrice: 40,
  /** A mark price further than the price band from the previous mark. */
  MarkOutsideBand: 41,
  /** Funding on a perpetual with no position. */
  NoOpenInterest: 42,
  /** A mark price or funding from an account that is not the oracle. */
  NotOracle: 43,
  /** No isolated position to adjust. */
  NoPosition: 44,
  /** A futures transfer in an asset no perpetual settles in. */
  NotMarginAsset: 45,
  InvalidFundingTime: 46,
  /** A mark-price trigger on a perpetual whose oracle has not set a mark yet. */
  NoMarkPrice: 47,
});
export type RejectReason = keyof typeof REJECT_REASON.codes;

export const ACCOUNT_STATUS = wireEnum({ Active: 1, Suspended: 2 });
export type AccountStatus = keyof typeof ACCOUNT_STATUS.codes;

export const BALANCE_REASON = wireEnum({ Order: 1, Cancel: 2, Trade: 3, Deposit: 4, Withdraw: 5, WalletTransfer: 6 });
export type BalanceReason = keyof typeof BALANCE_REASON.codes;

export const CANCEL_REASON = wireEnum({
  User: 1,
  ImmediateRemainder: 2,
  SelfTrade: 3,
  MassCancel: 4,
  InstrumentState: 5,
  /** A triggered order's reservation could not be funded when it fired (risk mode). */
  Unfundable: 6,
  /** A triggered fill-or-kill order could not be filled completely. */
  FokCannotFill: 7,
  /** A triggered post-only order would have taken. */
  PostOnlyWouldTake: 8,
  /** Its good-till-date expiry time passed (`NewAdvancedOrder.expireTimeNs`). */
  Expired: 9,
  /** Another leg of its order list traded, fired or was cancelled (or its working order was cancelled). */
  OrderList: 10,
  /** Perpetuals: a reduce-only order whose position is gone or now on its side. */
  ReduceOnly: 11,
  /** Perpetuals: its owner's position or account is being liquidated. */
  Liquidation: 12,
});
export type CancelReason = keyof typeof CANCEL_REASON.codes;

/**
 * A conditional order's trigger (`NewStopOrder.trigger`, `NewAdvancedOrder.trigger`): a buy stop-loss and a sell take-profit
 * fire when the last trade price rises to the trigger price, a sell stop-loss and a buy
 * take-profit when it falls to it.
 */
export const TRIGGER_KIND = wireEnum({ StopLoss: 1, TakeProfit: 2 });
export type TriggerKind = keyof typeof TRIGGER_KIND.codes;

/**
 * Which price fires a conditional order (`NewAdvancedOrder.triggerSource`, `OrderArmed` and
 * `OrderTriggered`): the last trade price, or a perpetual's mark price (Binance's `workingType`).
 */
export const TRIGGER_SOURCE = wireEnum({ LastPrice: 0, MarkPrice: 1 });
export type TriggerSource = keyof typeof TRIGGER_SOURCE.codes;

/**
 * A trailing stop's unit (`NewAdvancedOrder.trailing`): whole ticks of the instrument, or basis
 * points (1/10,000) of the best last trade price since the order armed.
 */
export const TRAIL_UNIT = wireEnum({ ticks: 1, bps: 2 });
export type TrailUnit = keyof typeof TRAIL_UNIT.codes;

/**
 * An order list's kind (`NewOrderList.kind`, `OrderListAccepted.kind`): one cancels the other (two
 * contingent legs), one triggers the other (a working order and a pending leg), one triggers an
 * OCO (a working order and a pending pair).
 */
export const LIST_KIND = wireEnum({ Oco: 1, Oto: 2, Otoco: 3 });
export type ListKind = keyof typeof LIST_KIND.codes;

/** How a perpetual position is margined: sharing the futures wallet, or with its own margin. */
export const MARGIN_MODE = wireEnum({ Cross: 1, Isolated: 2 });
export type MarginMode = keyof typeof MARGIN_MODE.codes;

/** Which side of an auto-deleveraging an `AutoDeleveraged` report tells its account about. */
export const ADL_ROLE = wireEnum({ Liquidated: 1, Reduced: 2 });
export type AdlRole = keyof typeof ADL_ROLE.codes;

export const MD_REJECT_REASON = wireEnum({ TooManySubscribers: 1, NotReady: 2 });
export type MdRejectReason = keyof typeof MD_REJECT_REASON.codes;

export const MD_SNAPSHOT_REJECT_REASON = wireEnum({ UnknownInstrument: 1, TooLarge: 2, OrdersNotSubscribed: 3 });
export type MdSnapshotRejectReason = keyof typeof MD_SNAPSHOT_REJECT_REASON.codes;

export const MD_INSTRUMENT_KIND = wireEnum({ Directory: 1, Added: 2 });
export type MdInstrumentKind = keyof typeof MD_INSTRUMENT_KIND.codes;

export const MD_DELETE_REASON = wireEnum({ Cancelled: 1, PriceAmended: 2 });
export type MdDeleteReason = keyof typeof MD_DELETE_REASON.codes;

export const LOGIN_REJECT_REASON = wireEnum({
  BadCredentials: 1,
  UnknownAccount: 2,
  AlreadyLoggedIn: 3,
  SequenceAhead: 4,
  NotReady: 5,
  TooManySessions: 6,
  SequenceUnavailable: 7,
  TooManyAttempts: 8,
  NotPermittedHere: 9,
  NotLeader: 10,
});
export type LoginRejectReason = keyof typeof LOGIN_REJECT_REASON.codes;

export const LOGOUT_REASON = wireEnum({
  UserRequest: 1,
  HeartbeatTimeout: 2,
  SlowConsumer: 3,
  ProtocolError: 4,
  ServerShutdown: 5,
  LoginTimeout: 6,
  ConnectionLimit: 7,
  CredentialRevoked: 8,
});
export type LogoutReason = keyof typeof LOGOUT_REASON.codes;

export const SESSION_REJECT_REASON = wireEnum({
  UnknownTemplate: 1,
  BadLength: 2,
  BadFieldValue: 3,
  NotLoggedIn: 4,
  RateLimited: 5,
  TooLarge: 6,
  UnknownSchema: 7,
  UnsupportedVersion: 8,
  NotPermitted: 9,
  UnexpectedMessage: 10,
});
export type SessionRejectReason = keyof typeof SESSION_REJECT_REASON.codes;
