/**
 * The order-entry client (docs/protocol.md, "Session flow"): login, order entry, admin commands,
 * sequenced reports with resend after a reconnect, heartbeats.
 *
 * ```ts
 * const c = await OrderClient.connect({ host: '127.0.0.1', port: 7001, account: 1, secret: 'alice-demo',
 *   onReport: (r) => console.log(r) });
 * const accepted = await c.placeOrder({ instrument: 1, side: 'Buy', price: 5_000_000n, qty: 100_000n });
 * await c.cancel({ engine: accepted.orderId });
 * await c.logout();
 * ```
 *
 * Every report arrives as a `report` event (resent ones first, flagged `resent`); the client checks
 * that each `seq` is the previous one + 1 and keeps the highest in {@link OrderClient.lastSeenSeq}:
 * log in with it after a reconnect and the server resends exactly what was missed. Requests return
 * promises that settle on their answer (the first report that answers them, a `CommandRejected`,
 * or a `SessionReject`), matched by client order id, order id, or (for commands without one) by
 * order of sending, which is the order the server answers a session's commands in.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';

import { FramedConnection, openSocket, type Endpoint } from './connection';
import { credentialHash } from './credential';
import { decodeServerMessage } from './decode';
import type {
  AccountStatus,
  CancelOnDisconnect,
  CommandType,
  InstrumentState,
  ListKind,
  LogoutReason,
  OrderType,
  Role,
  Side,
  StpMode,
  TimeInForce,
  TrailUnit,
  TriggerKind,
  TriggerSource,
} from './enums';
import { EncodeError } from './encode';
import {
  CommandRejectedError,
  ConnectionClosedError,
  LoginRejectedError,
  ProtocolError,
  SequenceGapError,
  SessionRejectedError,
  TimeoutError,
} from './errors';
import { DEFAULT_MAX_MESSAGE_LEN, TEMPLATE } from './frame';
import type {
  AccountBalance,
  AccountUpdated,
  ClientMessage,
  CredentialChanged,
  FeeScheduleSet,
  InstrumentAdded,
  InstrumentSpec,
  InstrumentStateChanged,
  ListLeg,
  LoginAccepted,
  MassCancelled,
  OpenOrder,
  OrderAccepted,
  OrderAmended,
  OrderArmed,
  OrderCancelled,
  OrderListAccepted,
  OrderRef,
  OrderTriggerAmended,
  OrderTriggered,
  QueryDone,
  Report,
  ServerMessage,
  SessionReject,
  TransferApplied,
} from './messages';

/** How to log in. */
export interface OrderClientOptions extends Endpoint {
  account: number;
  /** The account's API secret (at most 32 bytes). */
  secret: string | Buffer;
  /** Default `'Trader'`. */
  role?: Role;
  /** Last report `seq` processed (0 = none: the server resends the retained history). */
  lastSeenSeq?: bigint;
  /** Requested heartbeat interval; 0 (default) = the server's default. */
  heartbeatIntervalMs?: number;
  /** Default `'Default'` (the server's `cancel_on_disconnect_default`). */
  cancelOnDisconnect?: CancelOnDisconnect;
  /** Attached as a `report` listener before the login, so no report is ever missed. */
  onReport?: (report: Report, info: ReportInfo) => void;
  /** Bound on each request's answer; 0 (default) = none (the connection's end still settles it). */
  requestTimeoutMs?: number;
}

/** How a report arrived. */
export interface ReportInfo {
  /** A resend of a report from before this login (`seq <= LoginAccepted.highestSeq`). */
  resent: boolean;
}

/** The client's events. */
export interface OrderClientEvents {
  /** Every sequenced report, in `seq` order. */
  report: [report: Report, info: ReportInfo];
  /** An `OrderArmed` report (also delivered as a `report`): a conditional order is armed. */
  armed: [report: OrderArmed, info: ReportInfo];
  /** An `OrderTriggered` report (also delivered as a `report`): an armed order fired and is placed now. */
  triggered: [report: OrderTriggered, info: ReportInfo];
  /** An `OrderTriggerAmended` report (also delivered as a `report`): an armed order's trigger moved. */
  triggerAmended: [report: OrderTriggerAmended, info: ReportInfo];
  /** The resends are over: every later report is new (fired at once if nothing was missed). */
  caughtUp: [];
  /** A message refused by the gateway (also delivered to the request it answers). */
  sessionReject: [reject: SessionReject];
  /** The server's `Logout`. */
  logout: [reason: LogoutReason];
  /** The connection ended: `err` null after an orderly logout. */
  close: [err: Error | null];
}

/** A `NewOrder` (the client order id is drawn from {@link OrderClient.nextClientOrderId} if absent). */
export interface NewOrderParams {
  instrument: number;
  side: Side;
  /** Limit price in price units (0 or absent for market orders). */
  price?: bigint;
  qty: bigint;
  clientOrderId?: bigint;
  /** Default `'Limit'`. */
  orderType?: OrderType;
  /** Default `'GTC'` (market orders: `'IOC'`). */
  tif?: TimeInForce;
  /** Default `'None'`. */
  stp?: StpMode;
}

/**
 * A `NewStopOrder`: the order placed when the last trade price reaches `triggerPrice`
 * (docs/matching.md, "Conditional orders"). A buy stop-loss and a sell take-profit fire when the
 * price rises to the trigger, a sell stop-loss and a buy take-profit when it falls to it.
 */
export interface StopOrderParams extends NewOrderParams {
  /** Last trade price that fires it (a positive multiple of the tick). */
  triggerPrice: bigint;
  trigger: TriggerKind;
}

/**
 * A `NewAdvancedOrder` (docs/matching.md, "Advanced orders"): a {@link NewOrderParams} with
 * options, each off when absent. `expireTimeNs` (good till date, ns since the Unix epoch on the
 * gateway's clock) goes on a limit GTC/post-only order or a conditional one; `quoteQty` on a
 * market IOC/FOK order with `qty` 0 (the default here when `quoteQty` is given) and nothing else.
 * `trailingDelta` with `trailingUnit` makes a trailing stop-loss (its trigger is then a
 * `StopLoss` at price 0 unless given).
 */
export interface AdvancedOrderParams extends Omit<NewOrderParams, 'qty'> {
  /** Base quantity; default 0 (what a quote-quantity order must send). */
  qty?: bigint;
  /** Cancelled with reason `Expired` once the gateway's clock passes it. */
  expireTimeNs?: bigint;
  /** Market orders: trade at most this notional (quote minor units, before fees). */
  quoteQty?: bigint;
  /** Conditional: armed until the last trade price reaches `triggerPrice`. */
  trigger?: { triggerPrice: bigint; kind: TriggerKind };
  /** Iceberg: show at most this much while it rests. */
  displayQty?: bigint;
  /**
   * Trailing stop-loss: the trigger follows the best last trade price since arming (the highest
   * for a sell, the lowest for a buy) at this many `trailingUnit`s, and the order fires when the
   * price comes back to it.
   */
  trailingDelta?: number;
  /** With `trailingDelta`: whole ticks, or basis points of that best price (1 to 5,000). */
  trailingUnit?: TrailUnit;
  /** Perpetuals: never opens or grows the position; trimmed or cancelled as it shrinks. */
  reduceOnly?: boolean;
  /** Perpetuals: a market order (qty 0) for the whole position, at placement or when it fires. */
  closePosition?: boolean;
  /** Perpetuals: which price fires `trigger`, the last trade price (default) or the mark. */
  triggerSource?: TriggerSource;
}

/**
 * The `trailing` field of a `NewAdvancedOrder` from {@link AdvancedOrderParams}; a delta without
 * a unit (or the reverse) is refused here, since guessing the unit would move the trigger by a
 * factor.
 */
function trailingOf(o: AdvancedOrderParams): { delta: number; unit: TrailUnit } | null {
  if (o.trailingDelta === undefined && o.trailingUnit === undefined) return null;
  if (o.trailingDelta === undefined || o.trailingUnit === undefined) {
    throw new EncodeError('a trailing stop needs both trailingDelta and trailingUnit');
  }
  return { delta: o.trailingDelta, unit: o.trailingUnit };
}

/**
 * A contingent leg of an order list (its side and quantity are the list's): a limit leg (a
 * `price`, no `trigger`) or a conditional one (a `trigger`; market without a `price`, limit with
 * one).
 */
export interface ListLegParams {
  /** Limit price; absent for a market leg. */
  price?: bigint;
  /** Default `'Limit'` with a price, `'Market'` without. */
  orderType?: OrderType;
  /**
   * Default: `'IOC'` for a market leg, `'GTC'` for a conditional limit leg; a limit leg without a
   * trigger is `'PostOnly'` in an OCO pair (the only kind an OCO takes) and `'GTC'` as an OTO's
   * pending leg.
   */
  tif?: TimeInForce;
  /** Conditional: armed until the last trade price reaches `triggerPrice`. */
  trigger?: { triggerPrice: bigint; kind: TriggerKind };
}

/** An order list's options every kind shares. */
interface ListParams {
  instrument: number;
  /** The first leg's client order id; default: the next ids of {@link OrderClient.nextClientOrderId}, one per leg. */
  clientOrderId?: bigint;
  /** Every leg's self-trade prevention; default `'None'`. */
  stp?: StpMode;
}

/**
 * An OCO (docs/matching.md, "Order lists"): two contingent legs on one side and quantity; when
 * one trades, fires or is cancelled, the other is cancelled (`OrderCancelled`, reason
 * `OrderList`). At most one leg is a limit leg (post-only), the other conditional, or both are.
 */
export interface OcoParams extends ListParams {
  side: Side;
  qty: bigint;
  legs: [ListLegParams, ListLegParams];
}

/** The working order of an OTO or OTOCO: a limit order, GTC (default) or post-only. */
export interface WorkingOrderParams {
  side: Side;
  price: bigint;
  qty: bigint;
  tif?: 'GTC' | 'PostOnly';
}

/** An OTO: `working`, placed now, and `pending`, placed once the working order has filled completely. */
export interface OtoParams extends ListParams {
  working: WorkingOrderParams;
  pending: ListLegParams & { side: Side; qty: bigint };
}

/** An OTOCO: `working`, placed now, and the OCO pair `pending`, placed once it has filled completely. */
export interface OtocoParams extends ListParams {
  working: WorkingOrderParams;
  pending: { side: Side; qty: bigint; legs: [ListLegParams, ListLegParams] };
}

/** The wire leg of {@link ListLegParams}, with the defaults it documents. */
function listLeg(p: ListLegParams, inOcoPair: boolean): ListLeg {
  const orderType = p.orderType ?? (p.price === undefined ? 'Market' : 'Limit');
  const restingTif = p.trigger === undefined && inOcoPair ? 'PostOnly' : 'GTC';
  return {
    orderType,
    tif: p.tif ?? (orderType === 'Market' ? 'IOC' : restingTif),
    price: p.price ?? 0n,
    trigger: p.trigger ?? null,
  };
}

/** The answer to {@link OrderClient.queryAccount}. */
export interface AccountSnapshot {
  balances: AccountBalance[];
  orders: OpenOrder[];
  done: QueryDone;
}

/** One request waiting for its answer. */
interface Pending {
  templateId: number;
  /** The client order id the gateway echoes in a `SessionReject`, if any. */
  clientOrderId?: bigint;
  /** Whether a `CommandRejected` answers this request. */
  rejectedBy(r: Report & { type: 'CommandRejected' }): boolean;
  /** Handles a live report; true when it answered (settled) the request. */
  answer(r: Report): boolean;
  fail(e: Error): void;
  timer?: NodeJS.Timeout;
}

function refMatches(ref: OrderRef, orderId: bigint, clientOrderId: bigint): boolean {
  return 'engine' in ref ? orderId === ref.engine : clientOrderId === ref.client;
}

/** An order-entry (or admin) session. See the module docs. */
export class OrderClient extends EventEmitter<OrderClientEvents> {
  private conn!: FramedConnection<ServerMessage>;
  private pending: Pending[] = [];
  private lastSeq = 0n;
  private caughtUp = false;
  private logoutReason: LogoutReason | undefined;
  private nextCid: bigint;
  private closeErr: Error | null | undefined;
  private loginAnswer: ((m: ServerMessage | Error) => void) | undefined;
  /** The login's answer. */
  session!: LoginAccepted;

  private constructor(private readonly opts: OrderClientOptions) {
    super();
    // Client order ids from the wall clock in microseconds: not reused across runs.
    this.nextCid = BigInt(Date.now()) * 1000n;
  }

  /** Connects and logs in; rejects with {@link LoginRejectedError} if the server refuses. */
  static async connect(opts: OrderClientOptions): Promise<OrderClient> {
    const c = new OrderClient(opts);
    if (opts.onReport) c.on('report', opts.onReport);
    await c.login();
    return c;
  }

  /** Highest report `seq` processed: log in with it after a reconnect. */
  get lastSeenSeq(): bigint {
    return this.lastSeq;
  }

  /** Whether the session is open. */
  get isOpen(): boolean {
    return this.closeErr === undefined;
  }

  /** The account logged in. */
  get account(): number {
    return this.session.account;
  }

  /** A fresh, strictly increasing client order id. */
  nextClientOrderId(): bigint {
    this.nextCid += 1n;
    return this.nextCid;
  }

  /** The first of `n` fresh consecutive client order ids (an order list's legs). */
  nextClientOrderIds(n: number): bigint {
    const first = this.nextCid + 1n;
    this.nextCid += BigInt(n);
    return first;
  }

  private async login(): Promise<void> {
    const o = this.opts;
    const sock = await openSocket(o);
    this.conn = new FramedConnection(
      sock,
      decodeServerMessage,
      (m) => this.onMessage(m),
      (err) => this.onClosed(err),
      DEFAULT_MAX_MESSAGE_LEN,
    );
    const answer = new Promise<ServerMessage | Error>((resolve) => (this.loginAnswer = resolve));
    this.lastSeq = o.lastSeenSeq ?? 0n;
    this.conn.send({
      type: 'Login',
      account: o.account,
      credential: typeof o.secret === 'string' ? Buffer.from(o.secret, 'utf8') : o.secret,
      lastSeenSeq: this.lastSeq,
      heartbeatIntervalMs: o.heartbeatIntervalMs ?? 0,
      role: o.role ?? 'Trader',
      cancelOnDisconnect: o.cancelOnDisconnect ?? 'Default',
    });
    const timeoutMs = o.connectTimeoutMs ?? 10_000;
    const timer = setTimeout(() => this.loginAnswer?.(new TimeoutError(`no login answer within ${timeoutMs} ms`)), timeoutMs);
    const got = await answer;
    clearTimeout(timer);
    this.loginAnswer = undefined;
    if (got instanceof Error) {
      this.conn.close(got);
      throw got;
    }
    if (got.type === 'LoginRejected') {
      const e = new LoginRejectedError(got);
      this.conn.close(e);
      throw e;
    }
    if (got.type !== 'LoginAccepted') {
      // e.g. Logout(ConnectionLimit) for a connection beyond its address's budget.
      const e =
        got.type === 'Logout'
          ? new ConnectionClosedError(`the server logged out before the login answer: ${got.reason}`, got.reason)
          : new ProtocolError(`expected the login answer, got ${got.type}`);
      this.conn.close(e);
      throw e;
    }
    this.session = got;
    this.lastSeq = got.nextSeq - 1n;
    this.conn.startHeartbeats(got.heartbeatIntervalMs, got.heartbeatTimeoutMs);
    // Reports may have come with the answer: hold them until the caller has its listeners on.
    this.conn.pause();
    setImmediate(() => {
      if (got.highestSeq <= this.lastSeq) this.markCaughtUp();
      this.conn.resume();
    });
  }

  private markCaughtUp(): void {
    if (!this.caughtUp) {
      this.caughtUp = true;
      this.emit('caughtUp');
    }
  }

  private onMessage(m: ServerMessage): void {
    if (this.loginAnswer !== undefined) {
      if (m.type !== 'Heartbeat') {
        this.loginAnswer(m);
        this.loginAnswer = undefined;
        if (m.type === 'LoginAccepted') this.conn.pause();
      }
      return;
    }
    switch (m.type) {
      case 'Heartbeat':
        return;
      case 'Logout':
        this.logoutReason = m.reason;
        this.emit('logout', m.reason);
        return;
      case 'SessionReject':
        this.onSessionReject(m);
        return;
      case 'LoginAccepted':
      case 'LoginRejected':
        this.conn.close(new ProtocolError(`${m.type} after the login`));
        return;
      default:
        this.onReport(m);
    }
  }

  private onReport(r: Report): void {
    const expected = this.lastSeq + 1n;
    if (r.seq !== expected) {
      // A gap or a duplicate is a server bug: reconnect with the last seq processed.
      this.conn.close(new SequenceGapError(expected, r.seq));
      return;
    }
    this.lastSeq = r.seq;
    const resent = r.seq <= this.session.highestSeq;
    this.emit('report', r, { resent });
    if (r.type === 'OrderArmed') this.emit('armed', r, { resent });
    else if (r.type === 'OrderTriggered') this.emit('triggered', r, { resent });
    else if (r.type === 'OrderTriggerAmended') this.emit('triggerAmended', r, { resent });
    if (resent) {
      if (r.seq === this.session.highestSeq) this.markCaughtUp();
      return;
    }
    // Only live reports answer requests of this session.
    for (let i = 0; i < this.pending.length; i++) {
      const p = this.pending[i]!;
      let done: boolean;
      if (r.type === 'CommandRejected' && p.rejectedBy(r)) {
        p.fail(new CommandRejectedError(r));
        done = true;
      } else {
        done = p.answer(r);
      }
      if (done) {
        this.settle(i);
        return;
      }
    }
  }

  private onSessionReject(sr: SessionReject): void {
    this.emit('sessionReject', sr);
    const i = this.pending.findIndex(
      (p) => p.templateId === sr.refTemplateId && (sr.clientOrderId === 0n || p.clientOrderId === sr.clientOrderId),
    );
    if (i >= 0) {
      this.pending[i]!.fail(new SessionRejectedError(sr));
      this.settle(i);
    }
  }

  private settle(i: number): void {
    const [p] = this.pending.splice(i, 1);
    if (p?.timer !== undefined) clearTimeout(p.timer);
  }

  private onClosed(err: Error | null): void {
    this.closeErr = err;
    if (this.loginAnswer !== undefined) {
      this.loginAnswer(err ?? new ConnectionClosedError('the server closed the connection before answering the login'));
      this.loginAnswer = undefined;
    }
    const failure = err ?? new ConnectionClosedError('the session ended before the answer', this.logoutReason);
    for (const p of this.pending.splice(0)) {
      if (p.timer !== undefined) clearTimeout(p.timer);
      p.fail(failure);
    }
    if (this.session !== undefined) this.emit('close', err);
  }

  /**
   * Sends `msg` and returns a promise that `answer` settles (`answer` returns the value once a
   * report answers the request, undefined for reports that do not).
   */
  private request<T>(
    msg: ClientMessage,
    templateId: number,
    command: CommandType,
    answer: (r: Report) => T | undefined,
    rejectedBy: (r: Report & { type: 'CommandRejected' }) => boolean = () => true,
    clientOrderId?: bigint,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.closeErr !== undefined) {
        reject(this.closeErr ?? new ConnectionClosedError('the session has ended'));
        return;
      }
      const p: Pending = {
        templateId,
        rejectedBy: (r) => r.command === command && rejectedBy(r),
        answer: (r) => {
          const v = answer(r);
          if (v === undefined) return false;
          resolve(v);
          return true;
        },
        fail: reject,
      };
      if (clientOrderId !== undefined) p.clientOrderId = clientOrderId;
      // Sent first: a value the wire cannot carry throws here and leaves nothing pending. No
      // answer can arrive before the send returns (answers come in later socket events).
      this.conn.send(msg);
      const t = this.opts.requestTimeoutMs ?? 0;
      if (t > 0) {
        p.timer = setTimeout(() => {
          const i = this.pending.indexOf(p);
          if (i >= 0) this.pending.splice(i, 1);
          reject(new TimeoutError(`no answer to ${command} within ${t} ms`));
        }, t);
      }
      this.pending.push(p);
    });
  }

  /** Sends any message without waiting for an answer (its reports still arrive as events). */
  send(msg: ClientMessage): void {
    this.conn.send(msg);
  }

  /** Sends raw bytes as they are (tests of malformed input). */
  sendRaw(bytes: Buffer): void {
    this.conn.sendBytes(bytes);
  }

  /** Places an order; resolves with its `OrderAccepted` (fills follow as `report` events). */
  placeOrder(o: NewOrderParams): Promise<OrderAccepted> {
    const cid = o.clientOrderId ?? this.nextClientOrderId();
    const orderType = o.orderType ?? 'Limit';
    return this.request(
      {
        type: 'NewOrder',
        clientOrderId: cid,
        instrument: o.instrument,
        side: o.side,
        price: o.price ?? 0n,
        qty: o.qty,
        orderType,
        tif: o.tif ?? (orderType === 'Market' ? 'IOC' : 'GTC'),
        stp: o.stp ?? 'None',
      },
      TEMPLATE.NewOrder,
      'NewOrder',
      (r) => (r.type === 'OrderAccepted' && r.clientOrderId === cid ? r : undefined),
      (r) => r.clientOrderId === cid,
      cid,
    );
  }

  /**
   * Arms a conditional order (stop-loss or take-profit, market or limit); resolves with its
   * `OrderArmed`, rejects with {@link CommandRejectedError} (e.g. `WouldTriggerImmediately` when
   * the last trade price has already reached the trigger). When it fires, an `OrderTriggered`
   * report (the `triggered` event) comes first, then its fills and cancellation as for a new
   * order. Cancel or amend it like any order, by its `orderId` or client order id.
   */
  stopOrder(o: StopOrderParams): Promise<OrderArmed> {
    const cid = o.clientOrderId ?? this.nextClientOrderId();
    const orderType = o.orderType ?? 'Limit';
    return this.request(
      {
        type: 'NewStopOrder',
        clientOrderId: cid,
        instrument: o.instrument,
        side: o.side,
        price: o.price ?? 0n,
        qty: o.qty,
        orderType,
        tif: o.tif ?? (orderType === 'Market' ? 'IOC' : 'GTC'),
        stp: o.stp ?? 'None',
        triggerPrice: o.triggerPrice,
        trigger: o.trigger,
      },
      TEMPLATE.NewStopOrder,
      'NewStopOrder',
      (r) => (r.type === 'OrderArmed' && r.clientOrderId === cid ? r : undefined),
      (r) => r.clientOrderId === cid,
      cid,
    );
  }

  /**
   * Places an order with options (good till date, quote quantity, a trigger with an expiry, a
   * trailing stop, an iceberg); resolves with its `OrderAccepted`, or `OrderArmed` when it has a
   * trigger; rejects with {@link CommandRejectedError} (`InvalidField` for options that do not go
   * together, `AlreadyExpired`, `NothingToFill` ...). A good-till-date order that is still live
   * when its time passes ends with an `OrderCancelled` of reason `Expired`. A quote-quantity
   * order's `OrderAccepted.qty` is the quantity the engine derived from the book. A trailing
   * stop's `OrderArmed.triggerPrice` is its trigger at arming; its `OrderTriggered.triggerPrice`
   * the trigger it fired at (nothing is sent while the trigger follows the price).
   */
  advancedOrder(o: AdvancedOrderParams): Promise<OrderAccepted | OrderArmed> {
    let trailing: { delta: number; unit: TrailUnit } | null;
    try {
      trailing = trailingOf(o);
    } catch (e) {
      return Promise.reject(e as Error);
    }
    const cid = o.clientOrderId ?? this.nextClientOrderId();
    const orderType = o.orderType ?? 'Limit';
    // A trailing stop's trigger is a stop-loss whose price the engine computes.
    const trigger = o.trigger ?? (trailing === null ? null : { triggerPrice: 0n, kind: 'StopLoss' as const });
    return this.request<OrderAccepted | OrderArmed>(
      {
        type: 'NewAdvancedOrder',
        clientOrderId: cid,
        instrument: o.instrument,
        side: o.side,
        price: o.price ?? 0n,
        qty: o.qty ?? 0n,
        orderType,
        tif: o.tif ?? (orderType === 'Market' ? 'IOC' : 'GTC'),
        stp: o.stp ?? 'None',
        expireTimeNs: o.expireTimeNs ?? 0n,
        quoteQty: o.quoteQty ?? 0n,
        trigger,
        displayQty: o.displayQty ?? 0n,
        trailing,
        // Perpetuals' options, sent only when given (absent reads as false / the last price).
        ...(o.reduceOnly === undefined ? {} : { reduceOnly: o.reduceOnly }),
        ...(o.closePosition === undefined ? {} : { closePosition: o.closePosition }),
        ...(o.triggerSource === undefined ? {} : { triggerSource: o.triggerSource }),
      },
      TEMPLATE.NewAdvancedOrder,
      'NewAdvancedOrder',
      (r) => ((r.type === 'OrderAccepted' || r.type === 'OrderArmed') && r.clientOrderId === cid ? r : undefined),
      (r) => r.clientOrderId === cid,
      cid,
    );
  }

  /**
   * Places an OCO pair; resolves with its `OrderListAccepted` (the legs' `OrderAccepted` /
   * `OrderArmed` follow as `report` events), rejects with {@link CommandRejectedError} for the
   * first failing leg's reason (`InvalidField` for a pair of the wrong shape). Legs take the
   * client order ids `clientOrderId` and `clientOrderId + 1`, engine ids `listId` and `listId + 1`.
   */
  oco(o: OcoParams): Promise<OrderListAccepted> {
    return this.orderList('Oco', o, null, o.side, o.qty, o.legs.map((l) => listLeg(l, true)));
  }

  /**
   * Places an OTO: the working order now, the pending leg once the working order has filled
   * completely (then its own `OrderAccepted` or `OrderArmed`, as if just sent; nothing before).
   * Client order ids `clientOrderId` (working) and `clientOrderId + 1` (pending).
   */
  oto(o: OtoParams): Promise<OrderListAccepted> {
    return this.orderList('Oto', o, o.working, o.pending.side, o.pending.qty, [listLeg(o.pending, false)]);
  }

  /**
   * Places an OTOCO: the working order now, the pending OCO pair once it has filled completely.
   * Client order ids `clientOrderId` (working), `+ 1` and `+ 2` (the pair).
   */
  otoco(o: OtocoParams): Promise<OrderListAccepted> {
    const legs = o.pending.legs.map((l) => listLeg(l, true));
    return this.orderList('Otoco', o, o.working, o.pending.side, o.pending.qty, legs);
  }

  private orderList(
    kind: ListKind,
    o: ListParams,
    working: WorkingOrderParams | null,
    side: Side,
    qty: bigint,
    legs: ListLeg[],
  ): Promise<OrderListAccepted> {
    const cid = o.clientOrderId ?? this.nextClientOrderIds(legs.length + (working === null ? 0 : 1));
    return this.request(
      {
        type: 'NewOrderList',
        clientOrderId: cid,
        instrument: o.instrument,
        kind,
        stp: o.stp ?? 'None',
        working: working === null ? null : { ...working, tif: working.tif ?? 'GTC' },
        side,
        qty,
        legs,
      },
      TEMPLATE.NewOrderList,
      'NewOrderList',
      (r) => (r.type === 'OrderListAccepted' && r.clientOrderId === cid ? r : undefined),
      (r) => r.clientOrderId === cid,
      cid,
    );
  }

  /**
   * Moves an armed order's trigger price; resolves with `OrderTriggerAmended`, rejects with
   * {@link CommandRejectedError} (`NotArmed` for an order that is not armed,
   * `WouldTriggerImmediately` for a trigger the last trade price has reached ...).
   */
  amendTrigger(order: OrderRef, triggerPrice: bigint): Promise<OrderTriggerAmended> {
    return this.request(
      { type: 'AmendTrigger', order, triggerPrice },
      TEMPLATE.AmendTrigger,
      'AmendTrigger',
      (r) => (r.type === 'OrderTriggerAmended' && refMatches(order, r.orderId, r.clientOrderId) ? r : undefined),
      (r) => refMatches(order, r.orderId, r.clientOrderId),
      'client' in order ? order.client : undefined,
    );
  }

  /** Cancels one order (armed ones too); resolves with its `OrderCancelled`. */
  cancel(order: OrderRef): Promise<OrderCancelled> {
    return this.request(
      { type: 'Cancel', order },
      TEMPLATE.Cancel,
      'Cancel',
      (r) => (r.type === 'OrderCancelled' && r.reason === 'User' && refMatches(order, r.orderId, r.clientOrderId) ? r : undefined),
      (r) => refMatches(order, r.orderId, r.clientOrderId),
      'client' in order ? order.client : undefined,
    );
  }

  /**
   * Amends one order (`newQty` is the new total, filled included); resolves with `OrderAmended`,
   * or `OrderCancelled` when the new quantity is at or below the filled quantity.
   */
  amend(order: OrderRef, change: { newQty?: bigint; newPrice?: bigint }): Promise<OrderAmended | OrderCancelled> {
    const msg: ClientMessage = { type: 'Amend', order };
    if (change.newQty !== undefined) msg.newQty = change.newQty;
    if (change.newPrice !== undefined) msg.newPrice = change.newPrice;
    return this.request<OrderAmended | OrderCancelled>(
      msg,
      TEMPLATE.Amend,
      'Amend',
      (r) =>
        (r.type === 'OrderAmended' || (r.type === 'OrderCancelled' && r.reason === 'User')) &&
        refMatches(order, r.orderId, r.clientOrderId)
          ? r
          : undefined,
      (r) => refMatches(order, r.orderId, r.clientOrderId),
      'client' in order ? order.client : undefined,
    );
  }

  /** Cancels the account's orders (optionally one instrument and/or side); resolves with `MassCancelled`. */
  massCancel(filter: { instrument?: number; side?: Side } = {}): Promise<MassCancelled> {
    const msg: ClientMessage = { type: 'MassCancel' };
    if (filter.instrument !== undefined) msg.instrument = filter.instrument;
    if (filter.side !== undefined) msg.side = filter.side;
    return this.request(msg, TEMPLATE.MassCancel, 'MassCancel', (r) => (r.type === 'MassCancelled' ? r : undefined));
  }

  /** An account's balances and open orders (a trader: its own; default the session's account). */
  queryAccount(target: number = this.account): Promise<AccountSnapshot> {
    const balances: AccountBalance[] = [];
    const orders: OpenOrder[] = [];
    return this.request(
      { type: 'QueryAccount', target },
      TEMPLATE.QueryAccount,
      'QueryAccount',
      (r) => {
        if (r.type === 'AccountBalance' && r.target === target) balances.push(r);
        if (r.type === 'OpenOrder' && r.target === target) orders.push(r);
        return r.type === 'QueryDone' && r.target === target ? { balances, orders, done: r } : undefined;
      },
    );
  }

  // -- Administration (admin sessions) ---------------------------------------------------------

  addInstrument(spec: InstrumentSpec): Promise<InstrumentAdded> {
    return this.request({ type: 'AddInstrument', spec }, TEMPLATE.AddInstrument, 'AddInstrument', (r) =>
      r.type === 'InstrumentAdded' && r.spec.id === spec.id ? r : undefined,
    );
  }

  setInstrumentState(instrument: number, state: InstrumentState): Promise<InstrumentStateChanged> {
    return this.request(
      { type: 'SetInstrumentState', instrument, state },
      TEMPLATE.SetInstrumentState,
      'SetInstrumentState',
      (r) => (r.type === 'InstrumentStateChanged' && r.instrument === instrument ? r : undefined),
    );
  }

  createAccount(target: number, status: AccountStatus = 'Active', tier = 0): Promise<AccountUpdated> {
    return this.request({ type: 'CreateAccount', target, status, tier }, TEMPLATE.CreateAccount, 'CreateAccount', (r) =>
      r.type === 'AccountUpdated' && r.command === 'CreateAccount' && r.target === target ? r : undefined,
    );
  }

  setAccountStatus(target: number, status: AccountStatus, tier = 0): Promise<AccountUpdated> {
    return this.request(
      { type: 'SetAccountStatus', target, status, tier },
      TEMPLATE.SetAccountStatus,
      'SetAccountStatus',
      (r) => (r.type === 'AccountUpdated' && r.command === 'SetAccountStatus' && r.target === target ? r : undefined),
    );
  }

  /** Credits `amount` of `asset` (`txId` never used before). */
  deposit(target: number, asset: number, amount: bigint, txId: bigint): Promise<TransferApplied> {
    return this.transfer('Deposit', target, asset, amount, txId);
  }

  /** Debits `amount` of `asset` (`txId` never used before). */
  withdraw(target: number, asset: number, amount: bigint, txId: bigint): Promise<TransferApplied> {
    return this.transfer('Withdraw', target, asset, amount, txId);
  }

  private transfer(type: 'Deposit' | 'Withdraw', target: number, asset: number, amount: bigint, txId: bigint) {
    return this.request({ type, target, asset, amount, txId }, TEMPLATE[type], type, (r) =>
      r.type === 'TransferApplied' && r.txId === txId && r.command === type ? r : undefined,
    );
  }

  setFeeSchedule(instrument: number, tier: number, makerPpm: number, takerPpm: number): Promise<FeeScheduleSet> {
    return this.request(
      { type: 'SetFeeSchedule', instrument, tier, makerPpm, takerPpm },
      TEMPLATE.SetFeeSchedule,
      'SetFeeSchedule',
      (r) => (r.type === 'FeeScheduleSet' && r.instrument === instrument && r.tier === tier ? r : undefined),
    );
  }

  /** Sets (creates or rotates) an account's secret; only its salted hash is sent. */
  setCredential(target: number, secret: string | Buffer): Promise<CredentialChanged> {
    const salt = randomBytes(16);
    const hash = credentialHash(salt, secret);
    return this.request({ type: 'SetCredential', target, salt, hash }, TEMPLATE.SetCredential, 'SetCredential', (r) =>
      r.type === 'CredentialChanged' && r.command === 'SetCredential' && r.target === target ? r : undefined,
    );
  }

  revokeCredential(target: number): Promise<CredentialChanged> {
    return this.request({ type: 'RevokeCredential', target }, TEMPLATE.RevokeCredential, 'RevokeCredential', (r) =>
      r.type === 'CredentialChanged' && r.command === 'RevokeCredential' && r.target === target ? r : undefined,
    );
  }

  // -- Ending ----------------------------------------------------------------------------------

  /**
   * Sends `Logout(UserRequest)` and waits until the server has sent what it still had queued,
   * answered with its `Logout` and closed (at most `timeoutMs`, then the connection is closed).
   */
  logout(timeoutMs = 10_000): Promise<void> {
    if (this.closeErr !== undefined) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.conn.close(new TimeoutError('no Logout answer')), timeoutMs);
      this.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      this.conn.send({ type: 'Logout', reason: 'UserRequest' });
    });
  }

  /** Closes the connection without a `Logout` (the server sees a disconnect). */
  close(): void {
    this.conn.close(new ConnectionClosedError('closed by the client'));
  }
}
