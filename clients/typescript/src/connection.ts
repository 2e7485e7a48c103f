/**
 * The transport both clients share: a TCP or TLS socket, a frame reader, and heartbeats (send
 * one after `heartbeatIntervalMs` without sending; give up after `heartbeatTimeoutMs` without
 * hearing anything).
 */
import * as net from 'node:net';
import * as tls from 'node:tls';

import { encode } from './encode';
import { ConnectionClosedError, ProtocolError, TimeoutError } from './errors';
import { FrameReader, type Frame } from './frame';
import type { ClientMessage } from './messages';

/** Where to connect. */
export interface Endpoint {
  host: string;
  port: number;
  /**
   * TLS (`server.tls_listen`, `market_data.tls_listen`): node's `tls.connect` options, e.g.
   * `{ ca: fs.readFileSync('ca.pem'), servername: 'matchd.example' }`. Absent = plain TCP.
   */
  tls?: tls.ConnectionOptions;
  /** Bound on the TCP connect, the TLS handshake and the login answer; default 10,000 ms. */
  connectTimeoutMs?: number;
}

/** Opens the socket (and completes the TLS handshake) within the endpoint's connect timeout. */
export function openSocket(ep: Endpoint): Promise<net.Socket> {
  const timeoutMs = ep.connectTimeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    const sock: net.Socket = ep.tls
      ? tls.connect({ ...ep.tls, host: ep.host, port: ep.port })
      : net.connect({ host: ep.host, port: ep.port });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new TimeoutError(`connect to ${ep.host}:${ep.port}: no connection within ${timeoutMs} ms`));
    }, timeoutMs);
    const ready = ep.tls ? 'secureConnect' : 'connect';
    sock.once(ready, () => {
      clearTimeout(timer);
      sock.removeListener('error', onError);
      sock.setNoDelay(true);
      resolve(sock);
    });
    const onError = (e: Error): void => {
      clearTimeout(timer);
      reject(e);
    };
    sock.once('error', onError);
  });
}

/**
 * A framed connection: decodes every frame with `decode`, hands each message to `onMessage`, keeps
 * heartbeats once {@link FramedConnection.startHeartbeats} is called, and reports its end once
 * (`onClose`, with the error that ended it, if any).
 */
export class FramedConnection<M> {
  private readonly reader: FrameReader;
  private lastSentMs = Date.now();
  private lastReceivedMs = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private corked = false;
  private paused = false;
  private closedWith: Error | null | undefined;

  constructor(
    readonly socket: net.Socket,
    private readonly decode: (f: Frame) => M,
    private readonly onMessage: (m: M) => void,
    private readonly onClose: (err: Error | null) => void,
    maxMessageLen: number,
  ) {
    this.reader = new FrameReader(maxMessageLen);
    socket.on('data', (chunk: Buffer) => {
      this.lastReceivedMs = Date.now();
      this.reader.push(chunk);
      this.drain();
    });
    socket.on('error', (e) => this.close(e));
    socket.on('close', () => this.close(null));
  }

  /** Whether the connection has ended. */
  get closed(): boolean {
    return this.closedWith !== undefined;
  }

  /**
   * Stops handing out messages (they stay buffered) until {@link resume}: lets a caller attach its
   * listeners after the login answer without losing the reports that came with it.
   */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.drain();
  }

  private drain(): void {
    while (!this.paused && this.closedWith === undefined) {
      let frame: Frame | null;
      try {
        frame = this.reader.next();
      } catch (e) {
        this.close(new ProtocolError(`unreadable frame from the server: ${(e as Error).message}`, e as Error));
        return;
      }
      if (frame === null) return;
      let msg: M;
      try {
        msg = this.decode(frame);
      } catch (e) {
        // The protocol: a client treats a malformed server message as fatal.
        this.close(new ProtocolError(`malformed message from the server: ${(e as Error).message}`, e as Error));
        return;
      }
      this.onMessage(msg);
    }
  }

  /** Sends one message. Writes within one tick go out together (one syscall). */
  send(m: ClientMessage): void {
    this.sendBytes(encode(m));
  }

  /** Sends raw bytes (tests of malformed input). */
  sendBytes(b: Buffer): void {
    if (this.closedWith !== undefined) throw new ConnectionClosedError('cannot send on a closed connection');
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    this.socket.write(b);
    this.lastSentMs = Date.now();
  }

  /** Heartbeats for the session's interval; gives up after `timeoutMs` of silence from the server. */
  startHeartbeats(intervalMs: number, timeoutMs: number): void {
    const interval = intervalMs > 0 ? intervalMs : 1000;
    const tick = Math.max(10, Math.min(interval, timeoutMs > 0 ? timeoutMs : interval) / 4);
    this.timer = setInterval(() => {
      const now = Date.now();
      if (timeoutMs > 0 && now - this.lastReceivedMs >= timeoutMs) {
        this.close(new TimeoutError(`the server was silent for ${timeoutMs} ms (heartbeat timeout)`));
        return;
      }
      if (now - this.lastSentMs >= interval && this.closedWith === undefined) {
        this.send({ type: 'Heartbeat' });
      }
    }, tick);
    // The socket keeps the process alive while it is open; the timer need not.
    this.timer.unref();
  }

  /** Ends the connection (idempotent); `err` says why, null for an orderly end. */
  close(err: Error | null = null): void {
    if (this.closedWith !== undefined) return;
    this.closedWith = err;
    if (this.timer !== undefined) clearInterval(this.timer);
    if (err === null) this.socket.end();
    this.socket.destroy();
    this.onClose(err);
  }
}
