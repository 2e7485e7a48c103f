/**
 * The market-data client (docs/protocol.md, "Market data"): {@link MdClient} is the connection
 * (`MdSubscribe`, `MdSnapshotRequest`, heartbeats); {@link MdFeed} runs the client algorithm over
 * it and keeps a live book per instrument (`book.ts`).
 *
 * ```ts
 * const feed = await MdFeed.connect({ host: '127.0.0.1', port: 7001 });
 * feed.on('update', (instrument) => {
 *   const b = feed.books.book(instrument);
 *   if (b && feed.books.isSynced(instrument)) console.log(b.best('Buy'), b.best('Sell'));
 * });
 * ```
 */
import { EventEmitter } from 'node:events';

import { type Applied, FeedBooks, type Gap, instrumentOf } from './book';
import { FramedConnection, openSocket, type Endpoint } from './connection';
import { decodeMdMessage, MD_MAX_MESSAGE_LEN } from './decode';
import type { LogoutReason } from './enums';
import { ConnectionClosedError, ProtocolError, TimeoutError } from './errors';
import { DEFAULT_MAX_MESSAGE_LEN } from './frame';
import type { MdServerMessage, MdSubscribeAccepted, MdSubscribeRejected } from './messages';

/** How to subscribe. */
export interface MdClientOptions extends Endpoint {
  /** Ask for order-by-order messages too (granted if the server offers them). */
  orderByOrder?: boolean;
  /** Requested heartbeat interval; 0 (default) = the server's default. */
  heartbeatIntervalMs?: number;
  /** Attached as a `message` listener before subscribing, so the directory is never missed. */
  onMessage?: (m: MdServerMessage) => void;
}

/** The server refused the subscription (and closed the connection). */
export class SubscribeRejectedError extends Error {
  constructor(readonly rejected: MdSubscribeRejected) {
    super(`subscription rejected: ${rejected.reason}`);
    this.name = 'SubscribeRejectedError';
  }
}

export interface MdClientEvents {
  /** Every message after `MdSubscribeAccepted` (directory, deltas, snapshots, session messages). */
  message: [m: MdServerMessage];
  /** The server's `Logout` (e.g. `SlowConsumer`). */
  logout: [reason: LogoutReason];
  /** The connection ended: `err` null for an orderly end. */
  close: [err: Error | null];
}

/** A market-data subscription. */
export class MdClient extends EventEmitter<MdClientEvents> {
  private conn!: FramedConnection<MdServerMessage>;
  private answer: ((m: MdServerMessage | Error) => void) | undefined;
  private ended = false;
  /** The subscription's answer. */
  accepted!: MdSubscribeAccepted;

  private constructor() {
    super();
  }

  /** Connects and subscribes; rejects with {@link SubscribeRejectedError} if refused. */
  static async connect(o: MdClientOptions): Promise<MdClient> {
    const c = new MdClient();
    if (o.onMessage) c.on('message', o.onMessage);
    await c.subscribe(o);
    return c;
  }

  private async subscribe(o: MdClientOptions): Promise<void> {
    const sock = await openSocket(o);
    this.conn = new FramedConnection(
      sock,
      decodeMdMessage,
      (m) => this.onMessage(m),
      (err) => this.onClosed(err),
      Math.max(MD_MAX_MESSAGE_LEN, DEFAULT_MAX_MESSAGE_LEN),
    );
    const answer = new Promise<MdServerMessage | Error>((resolve) => (this.answer = resolve));
    this.conn.send({ type: 'MdSubscribe', heartbeatIntervalMs: o.heartbeatIntervalMs ?? 0, orderByOrder: o.orderByOrder ?? false });
    const timeoutMs = o.connectTimeoutMs ?? 10_000;
    const timer = setTimeout(() => this.answer?.(new TimeoutError(`no subscription answer within ${timeoutMs} ms`)), timeoutMs);
    const got = await answer;
    clearTimeout(timer);
    this.answer = undefined;
    if (got instanceof Error) {
      this.conn.close(got);
      throw got;
    }
    if (got.type !== 'MdSubscribeAccepted') {
      const e = got.type === 'MdSubscribeRejected' ? new SubscribeRejectedError(got) : new ProtocolError(`expected the subscription answer, got ${got.type}`);
      this.conn.close(e);
      throw e;
    }
    this.accepted = got;
    this.conn.startHeartbeats(got.heartbeatIntervalMs, got.heartbeatTimeoutMs);
    // The directory may have come with the answer: hold it until the caller has its listeners on.
    this.conn.pause();
    setImmediate(() => this.conn.resume());
  }

  private onMessage(m: MdServerMessage): void {
    if (this.answer !== undefined) {
      if (m.type !== 'Heartbeat') {
        this.answer(m);
        this.answer = undefined;
        this.conn.pause();
      }
      return;
    }
    if (m.type === 'Logout') this.emit('logout', m.reason);
    this.emit('message', m);
  }

  private onClosed(err: Error | null): void {
    this.ended = true;
    if (this.answer !== undefined) {
      this.answer(err ?? new ConnectionClosedError('the server closed the connection before answering the subscription'));
      this.answer = undefined;
    }
    if (this.accepted !== undefined) this.emit('close', err);
  }

  get isOpen(): boolean {
    return !this.ended;
  }

  /** Asks for a snapshot of `instrument` (`depth` levels per side, 0 = the server's maximum). */
  requestSnapshot(instrument: number, depth = 0, orders = false): void {
    this.conn.send({ type: 'MdSnapshotRequest', instrument, depth, orders });
  }

  /** Sends `Logout(UserRequest)` and waits for the server to close (at most `timeoutMs`). */
  logout(timeoutMs = 10_000): Promise<void> {
    if (this.ended) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.conn.close(new TimeoutError('no Logout answer')), timeoutMs);
      this.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      this.conn.send({ type: 'Logout', reason: 'UserRequest' });
    });
  }

  /** Closes the connection. */
  close(): void {
    this.conn.close(null);
  }
}

export interface MdFeedEvents {
  /** A message was applied to an instrument's book (or buffered for it). */
  update: [instrument: number, applied: Applied, m: MdServerMessage];
  /** An instrument's book is live (from a snapshot, or a new empty instrument). */
  synced: [instrument: number];
  /** An instrument's book broke; a new snapshot has been asked for. */
  gap: [gap: Gap];
  /** The connection ended (reconnect with a new MdFeed: every book resyncs). */
  close: [err: Error | null];
}

/** The client algorithm over a subscription: sync every book by snapshot, apply deltas, resync on a gap. */
export class MdFeed extends EventEmitter<MdFeedEvents> {
  readonly books: FeedBooks;
  /** Levels per side to ask snapshots for (0 = the server's maximum). */
  depth = 0;
  /**
   * A hook for tests: return false to drop a message before it reaches the books (to lose one on
   * purpose and watch the resync).
   */
  filter: (m: MdServerMessage) => boolean = () => true;

  private constructor(readonly client: MdClient) {
    super();
    this.books = new FeedBooks(client.accepted.orderByOrder);
    client.on('message', (m) => this.onMessage(m));
    client.on('close', (err) => this.emit('close', err));
  }

  /** Subscribes and starts syncing every instrument of the directory. */
  static async connect(o: MdClientOptions): Promise<MdFeed> {
    // Messages are held until the next macrotask after the answer, so the feed sees them all.
    const client = await MdClient.connect(o);
    return new MdFeed(client);
  }

  private onMessage(m: MdServerMessage): void {
    if (!this.filter(m)) return;
    const r = this.books.onMessage(m);
    const id = instrumentOf(m);
    if (typeof r !== 'string') {
      this.emit('gap', r);
    } else if (id !== null) {
      this.emit('update', id, r, m);
      if (r === 'Synced') this.emit('synced', id);
    }
    this.requestSnapshots();
  }

  /** Asks for the snapshots books are waiting for. */
  requestSnapshots(): void {
    if (!this.client.isOpen) return;
    for (const id of this.books.wantingSnapshot()) {
      this.client.requestSnapshot(id, this.depth, this.books.withOrders);
    }
  }

  /** Resolves once every known book is live (bounded by `timeoutMs`, which only bounds a hang). */
  whenAllSynced(timeoutMs = 30_000): Promise<void> {
    return waitFor(this, () => this.books.instruments().length > 0 && this.books.allSynced(), timeoutMs, 'every book synced');
  }

  logout(): Promise<void> {
    return this.client.logout();
  }

  close(): void {
    this.client.close();
  }
}

/** Resolves when `done()` holds after an `update`/`synced`/`gap` (or at once). */
function waitFor(feed: MdFeed, done: () => boolean, timeoutMs: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (done()) {
      resolve();
      return;
    }
    const check = (): void => {
      if (done()) {
        cleanup();
        resolve();
      }
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new TimeoutError(`waited ${timeoutMs} ms for ${what}`));
    }, timeoutMs);
    const onClose = (err: Error | null): void => {
      cleanup();
      reject(err ?? new ConnectionClosedError(`closed while waiting for ${what}`));
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      feed.off('update', check);
      feed.off('close', onClose);
    };
    feed.on('update', check);
    feed.on('close', onClose);
  });
}
