/**
 * Rebuilding books from the market-data feed (docs/protocol.md, "Client algorithm"), as the Rust
 * `client::md_client::BookBuilder` does:
 *
 * 1. Buffer an instrument's deltas and ask for a snapshot.
 * 2. On `MdSnapshotEnd` (after its levels and orders) the book is the snapshot, at its `seq`; drop
 *    buffered deltas with `seq <= snapshot.seq`, apply the rest, then every new delta.
 * 3. Every delta must carry the book's `seq + 1` (order-by-order ones `orderSeq + 1`); anything
 *    else is a {@link Gap}: drop the book and go back to 1. So is an `MdTopOfBook` that disagrees
 *    with the book, or a later snapshot that does not match the book at the same `seq`.
 */
import type { InstrumentState, Side } from './enums';
import type { InstrumentSpec, MdServerMessage, MdSnapshotEnd, MdTopOfBook } from './messages';

/** Which of an instrument's two streams a sequence number belongs to. */
export type Stream = 'price' | 'order';

/** The book cannot be trusted any more: resync it by snapshot. */
export type Gap =
  | { kind: 'Sequence'; instrument: number; stream: Stream; expected: bigint; got: bigint }
  | { kind: 'Inconsistent'; instrument: number; seq: bigint };

/** What {@link BookBuilder.apply} did with a message. */
export type Applied = 'Ignored' | 'Buffered' | 'Delta' | 'Synced' | 'Verified';

/** A price level's aggregate. */
export interface Level {
  price: bigint;
  qty: bigint;
  orderCount: number;
}

/** A resting order of an order-by-order book. */
export interface BookOrder {
  orderId: bigint;
  side: Side;
  price: bigint;
  qty: bigint;
}

/** One instrument's book as rebuilt from the feed. */
export class Book {
  /** Price → level, per side (unordered: use {@link Book.levels}). */
  readonly bids = new Map<bigint, Level>();
  readonly asks = new Map<bigint, Level>();
  /** Order id → order (order by order only). */
  readonly orders = new Map<bigint, BookOrder>();
  /** "side:price" → order ids in time priority (order by order only). */
  readonly queues = new Map<string, bigint[]>();
  /** `seq` of the last market-by-price message applied. */
  seq = 0n;
  /** `orderSeq` of the last order-by-order message applied. */
  orderSeq = 0n;
  state: InstrumentState | null = null;
  /** The snapshot had more levels than it sent: only the levels down to its depth are known. */
  truncated = false;
  lastTrade: { price: bigint; qty: bigint } | null = null;
  /** Perpetuals: the last mark price (from the snapshot, then `MdMarkPrice` and `MdFunding`). */
  markPrice: bigint | null = null;
  /**
   * Perpetuals: the last funding settled, with the next funding time it announced (ns since the
   * Unix epoch; 0 when none was given).
   */
  lastFunding: { ratePpm: number; openInterest: bigint; nextFundingTimeNs: bigint } | null = null;
  /** Perpetuals: the open interest as last published (the snapshot, `MdOpenInterest` or `MdFunding`). */
  openInterest: bigint | null = null;
  /**
   * Perpetuals: the last announced funding (rate, next funding time in ns since the Unix epoch),
   * from the snapshot or an `MdFunding` that gave a next funding time; null before one.
   */
  funding: { ratePpm: number; nextFundingTimeNs: bigint } | null = null;

  /**
   * A perpetual's state from a snapshot's end: a perpetual's mark is never 0, so a 0 mark is spot
   * or a server before the fields, which says nothing.
   */
  takePerpetualState(end: MdSnapshotEnd): void {
    if (end.markPrice === 0n) return;
    this.markPrice = end.markPrice;
    this.openInterest = end.openInterest;
    if (end.nextFundingTimeNs !== 0n) this.funding = { ratePpm: end.fundingRatePpm, nextFundingTimeNs: end.nextFundingTimeNs };
  }

  side(side: Side): Map<bigint, Level> {
    return side === 'Buy' ? this.bids : this.asks;
  }

  /** One side's levels, best first. */
  levels(side: Side): Level[] {
    const ls = [...this.side(side).values()];
    return ls.sort((a, b) => (side === 'Buy' ? cmp(b.price, a.price) : cmp(a.price, b.price)));
  }

  /** The best level of a side, or null. */
  best(side: Side): Level | null {
    return this.levels(side)[0] ?? null;
  }

  /** One side's resting orders in priority order (best price, then time). */
  ordersInPriority(side: Side): BookOrder[] {
    const prices = [...new Set([...this.orders.values()].filter((o) => o.side === side).map((o) => o.price))];
    prices.sort((a, b) => (side === 'Buy' ? cmp(b, a) : cmp(a, b)));
    const out: BookOrder[] = [];
    for (const p of prices) {
      for (const id of this.queues.get(key(side, p)) ?? []) {
        const o = this.orders.get(id);
        if (o) out.push(o);
      }
    }
    return out;
  }

  addOrder(o: BookOrder): void {
    this.orders.set(o.orderId, o);
    const k = key(o.side, o.price);
    const q = this.queues.get(k);
    if (q) q.push(o.orderId);
    else this.queues.set(k, [o.orderId]);
  }

  removeOrder(id: bigint): BookOrder | undefined {
    const o = this.orders.get(id);
    if (!o) return undefined;
    this.orders.delete(id);
    const k = key(o.side, o.price);
    const q = this.queues.get(k);
    if (q) {
      const i = q.indexOf(id);
      if (i >= 0) q.splice(i, 1);
      if (q.length === 0) this.queues.delete(k);
    }
    return o;
  }

  /** Same levels (and, with `orders`, the same orders in the same queues) as `other`. */
  sameAs(other: Book, orders: boolean): boolean {
    const lv = (b: Book, s: Side) => JSON.stringify(b.levels(s), bigintJson);
    if (lv(this, 'Buy') !== lv(other, 'Buy') || lv(this, 'Sell') !== lv(other, 'Sell')) return false;
    if (!orders) return true;
    const od = (b: Book) =>
      JSON.stringify([...b.queues.entries()].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)).map(([k, ids]) => [k, ids.map((id) => b.orders.get(id))]), bigintJson);
    return this.orderSeq === other.orderSeq && od(this) === od(other);
  }
}

function cmp(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function key(side: Side, price: bigint): string {
  return `${side}:${price}`;
}

function bigintJson(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString() : v;
}

/** The stream and sequence number of a delta; null for everything else (snapshots, directory, session). */
export function sequenceOf(m: MdServerMessage): { stream: Stream; seq: bigint } | null {
  switch (m.type) {
    case 'MdInstrument':
      return m.kind === 'Added' ? { stream: 'price', seq: m.seq } : null;
    case 'MdInstrumentState':
    case 'MdTrade':
    case 'MdMarkPrice':
    case 'MdFunding':
    case 'MdOpenInterest':
    case 'MdLevel':
    case 'MdTopOfBook':
      return { stream: 'price', seq: m.seq };
    case 'MdOrderAdded':
    case 'MdOrderExecuted':
    case 'MdOrderDeleted':
    case 'MdOrderModified':
      return { stream: 'order', seq: m.orderSeq };
    default:
      return null;
  }
}

/** The instrument a market-data message is about, if any. */
export function instrumentOf(m: MdServerMessage): number | null {
  return 'instrument' in m ? m.instrument : null;
}

function topMatches(b: Book, t: MdTopOfBook): boolean {
  const bid = b.best('Buy');
  const ask = b.best('Sell');
  return (
    (bid?.price ?? 0n) === t.bidPrice &&
    (bid?.qty ?? 0n) === t.bidQty &&
    (ask?.price ?? 0n) === t.askPrice &&
    (ask?.qty ?? 0n) === t.askQty
  );
}

/** Rebuilds one instrument's book from a snapshot and the deltas after it. */
export class BookBuilder {
  private live = false;
  private bookNow = new Book();
  private buffer: MdServerMessage[] = [];
  private snapLevels: { side: Side; price: bigint; qty: bigint; orderCount: number }[] = [];
  private snapOrders: BookOrder[] = [];
  /** A snapshot was asked for and has not arrived. */
  snapshotRequested = false;

  /** `withOrders`: keep the order-by-order book too (ask for snapshots with orders). */
  constructor(
    readonly instrument: number,
    readonly withOrders: boolean,
  ) {}

  /** A live builder for a new instrument (`MdInstrument` kind `Added`): an empty book at `seq`. */
  static newInstrument(instrument: number, withOrders: boolean, seq: bigint, state: InstrumentState): BookBuilder {
    const b = new BookBuilder(instrument, withOrders);
    b.live = true;
    b.bookNow.seq = seq;
    b.bookNow.state = state;
    return b;
  }

  /** Whether the book is live (synced by a snapshot and not broken since). */
  get isSynced(): boolean {
    return this.live;
  }

  /** The book (meaningful when {@link isSynced}). */
  get book(): Book {
    return this.bookNow;
  }

  /** Drops the book: back to buffering until the next snapshot (after a gap; then ask for one). */
  reset(): void {
    this.live = false;
    this.bookNow = new Book();
    this.buffer = [];
    this.snapLevels = [];
    this.snapOrders = [];
    this.snapshotRequested = false;
  }

  /** Applies one message about this instrument; a {@link Gap} means: reset and resync. */
  apply(m: MdServerMessage): Applied | Gap {
    switch (m.type) {
      case 'MdSnapshotLevel':
        this.snapLevels.push({ side: m.side, price: m.price, qty: m.qty, orderCount: m.orderCount });
        return 'Buffered';
      case 'MdSnapshotOrder':
        this.snapOrders.push({ orderId: m.orderId, side: m.side, price: m.price, qty: m.qty });
        return 'Buffered';
      case 'MdSnapshotEnd':
        return this.snapshotEnd(m);
      case 'MdSnapshotRejected':
        this.snapLevels = [];
        this.snapOrders = [];
        this.snapshotRequested = false;
        return 'Ignored';
      case 'MdInstrument':
        if (m.kind === 'Directory') {
          if (this.bookNow.state === null) this.bookNow.state = m.state;
          return 'Ignored';
        }
        break;
      default:
        break;
    }
    if (!this.live) {
      if (sequenceOf(m) !== null) {
        this.buffer.push(m);
        return 'Buffered';
      }
      return 'Ignored';
    }
    return this.delta(m);
  }

  private snapshotEnd(end: MdSnapshotEnd): Applied | Gap {
    const book = new Book();
    book.seq = end.seq;
    book.orderSeq = end.orderSeq;
    book.state = end.state;
    book.truncated = end.truncated;
    for (const l of this.snapLevels) book.side(l.side).set(l.price, { price: l.price, qty: l.qty, orderCount: l.orderCount });
    for (const o of this.snapOrders) book.addOrder(o);
    this.snapLevels = [];
    this.snapOrders = [];
    if (this.live) {
      // A snapshot of a live book, taken in the stream at its exact point: it must match.
      if (book.seq !== this.bookNow.seq || !book.sameAs(this.bookNow, end.ordersIncluded)) {
        return { kind: 'Inconsistent', instrument: this.instrument, seq: end.seq };
      }
      // At the book's own seq: its perpetual state is the server's.
      this.bookNow.takePerpetualState(end);
      this.snapshotRequested = false;
      return 'Verified';
    }
    if (this.withOrders && !end.ordersIncluded) {
      // Not the snapshot this builder needs (e.g. one asked for elsewhere): keep waiting.
      return 'Ignored';
    }
    book.lastTrade = this.bookNow.lastTrade;
    book.markPrice = this.bookNow.markPrice;
    book.lastFunding = this.bookNow.lastFunding;
    book.openInterest = this.bookNow.openInterest;
    book.funding = this.bookNow.funding;
    book.takePerpetualState(end);
    this.bookNow = book;
    this.live = true;
    this.snapshotRequested = false;
    const buffered = this.buffer;
    this.buffer = [];
    for (const m of buffered) {
      const r = this.delta(m);
      if (typeof r !== 'string') return r;
    }
    return 'Synced';
  }

  /** Applies a delta to the live book (dropping it if the book already reflects it). */
  private delta(m: MdServerMessage): Applied | Gap {
    const s = sequenceOf(m);
    if (s === null) return 'Ignored';
    const b = this.bookNow;
    if (s.stream === 'order' && !this.withOrders) return 'Ignored';
    const have = s.stream === 'price' ? b.seq : b.orderSeq;
    if (s.seq <= have) return 'Ignored';
    if (s.seq !== have + 1n) {
      return { kind: 'Sequence', instrument: this.instrument, stream: s.stream, expected: have + 1n, got: s.seq };
    }
    switch (m.type) {
      case 'MdLevel': {
        const side = b.side(m.side);
        if (m.qty === 0n) side.delete(m.price);
        else side.set(m.price, { price: m.price, qty: m.qty, orderCount: m.orderCount });
        break;
      }
      case 'MdTopOfBook':
        if (!b.truncated && !topMatches(b, m)) return { kind: 'Inconsistent', instrument: this.instrument, seq: m.seq };
        break;
      case 'MdTrade':
        b.lastTrade = { price: m.price, qty: m.qty };
        break;
      case 'MdMarkPrice':
        b.markPrice = m.markPrice;
        break;
      case 'MdFunding':
        b.markPrice = m.markPrice;
        b.lastFunding = { ratePpm: m.ratePpm, openInterest: m.openInterest, nextFundingTimeNs: m.nextFundingTimeNs };
        b.openInterest = m.openInterest;
        // Only one that announced a next time is the funding a snapshot would carry.
        if (m.nextFundingTimeNs !== 0n) b.funding = { ratePpm: m.ratePpm, nextFundingTimeNs: m.nextFundingTimeNs };
        break;
      case 'MdOpenInterest':
        b.openInterest = m.openInterest;
        break;
      case 'MdInstrumentState':
      case 'MdInstrument':
        b.state = m.state;
        break;
      case 'MdOrderAdded':
        b.addOrder({ orderId: m.orderId, side: m.side, price: m.price, qty: m.qty });
        break;
      case 'MdOrderExecuted': {
        if (m.leaves === 0n) b.removeOrder(m.orderId);
        else {
          const o = b.orders.get(m.orderId);
          if (o) o.qty = m.leaves;
        }
        break;
      }
      case 'MdOrderDeleted':
        b.removeOrder(m.orderId);
        break;
      case 'MdOrderModified': {
        if (m.keptPriority) {
          const o = b.orders.get(m.orderId);
          if (o) o.qty = m.qty;
        } else if (b.removeOrder(m.orderId) !== undefined) {
          b.addOrder({ orderId: m.orderId, side: m.side, price: m.price, qty: m.qty });
        }
        break;
      }
      default:
        break;
    }
    if (s.stream === 'price') b.seq = s.seq;
    else b.orderSeq = s.seq;
    return 'Delta';
  }
}

/** Every instrument's {@link BookBuilder}, fed with every message of a subscription. */
export class FeedBooks {
  private readonly builders = new Map<number, BookBuilder>();
  readonly specs = new Map<number, InstrumentSpec>();
  /** The instruments whose `MdInstrument` said they are perpetuals. */
  readonly perpetuals = new Set<number>();
  /** Gaps (and inconsistencies) detected so far. */
  gaps = 0;
  /** Snapshots applied (initial syncs and resyncs). */
  syncs = 0;
  /** Live books confirmed by a snapshot. */
  verified = 0;

  constructor(readonly withOrders: boolean) {}

  /** Applies one message; a gap resets the instrument's builder (it then wants a snapshot). */
  onMessage(m: MdServerMessage): Applied | Gap {
    if (m.type === 'MdInstrument') {
      this.specs.set(m.instrument, m.spec);
      if (m.perpetual) this.perpetuals.add(m.instrument);
      if (m.kind === 'Added' && !this.builders.has(m.instrument)) {
        this.builders.set(m.instrument, BookBuilder.newInstrument(m.instrument, this.withOrders, m.seq, m.state));
        return 'Synced';
      }
      if (!this.builders.has(m.instrument)) this.builders.set(m.instrument, new BookBuilder(m.instrument, this.withOrders));
    }
    const id = instrumentOf(m);
    const b = id === null ? undefined : this.builders.get(id);
    if (b === undefined) return 'Ignored';
    const r = b.apply(m);
    if (typeof r !== 'string') {
      this.gaps += 1;
      b.reset();
      return r;
    }
    if (r === 'Synced') this.syncs += 1;
    if (r === 'Verified') this.verified += 1;
    return r;
  }

  /** Instruments whose book needs a snapshot not asked for yet; marks them asked. */
  wantingSnapshot(): number[] {
    const out: number[] = [];
    for (const [id, b] of this.builders) {
      if (!b.isSynced && !b.snapshotRequested) {
        b.snapshotRequested = true;
        out.push(id);
      }
    }
    return out;
  }

  /** Forgets every book (after a reconnect: a new epoch). */
  clear(): void {
    this.builders.clear();
  }

  /** Whether an instrument is a perpetual (its `MdInstrument` said so). */
  isPerpetual(instrument: number): boolean {
    return this.perpetuals.has(instrument);
  }

  isSynced(instrument: number): boolean {
    return this.builders.get(instrument)?.isSynced ?? false;
  }

  allSynced(): boolean {
    return [...this.builders.values()].every((b) => b.isSynced);
  }

  book(instrument: number): Book | undefined {
    return this.builders.get(instrument)?.book;
  }

  builder(instrument: number): BookBuilder | undefined {
    return this.builders.get(instrument);
  }

  instruments(): number[] {
    return [...this.builders.keys()].sort((a, b) => a - b);
  }
}
