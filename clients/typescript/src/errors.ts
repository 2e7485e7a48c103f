/** What can go wrong, one class per case, each saying what the caller can do. */
import type { LoginRejectReason, LogoutReason } from './enums';
import type { CommandRejected, LeaderAddress, LoginRejected, SessionReject } from './messages';

/** The server refused the login (and closed the connection). */
export class LoginRejectedError extends Error {
  readonly reason: LoginRejectReason;
  constructor(readonly rejected: LoginRejected) {
    super(`login of account ${rejected.account} rejected: ${rejected.reason}`);
    this.name = 'LoginRejectedError';
    this.reason = rejected.reason;
  }
  /** For `NotLeader`: where the leader is, when the node knows. */
  get leader(): LeaderAddress | null {
    return this.rejected.leader;
  }
}

/** The engine refused a command (`CommandRejected`): nothing changed. */
export class CommandRejectedError extends Error {
  constructor(readonly report: CommandRejected) {
    super(`${report.command} rejected: ${report.reason}`);
    this.name = 'CommandRejectedError';
  }
}

/**
 * The gateway refused a message before the engine saw it (`SessionReject`): nothing happened; a
 * `RateLimited` message may be sent again later.
 */
export class SessionRejectedError extends Error {
  constructor(readonly reject: SessionReject) {
    super(`message (template ${reject.refTemplateId}) refused by the session: ${reject.reason}`);
    this.name = 'SessionRejectedError';
  }
}

/**
 * The connection ended before an answer came. The request may or may not have reached the engine:
 * reconnect with `lastSeenSeq`, read the resent reports, and resend only what has no answer (with
 * the same client order id; docs/protocol.md, "Idempotency and resending").
 */
export class ConnectionClosedError extends Error {
  constructor(
    detail: string,
    /** The server's `Logout` reason, when it sent one. */
    readonly logoutReason?: LogoutReason,
  ) {
    super(`connection closed: ${detail}`);
    this.name = 'ConnectionClosedError';
  }
}

/** A report's `seq` was not the previous one + 1 (a server bug): reconnect with `lastSeenSeq`. */
export class SequenceGapError extends Error {
  constructor(
    readonly expected: bigint,
    readonly got: bigint,
  ) {
    super(`sequence gap: expected report ${expected}, got ${got}`);
    this.name = 'SequenceGapError';
  }
}

/** The server sent bytes this client cannot read (framing or decoding): reconnect. */
export class ProtocolError extends Error {
  constructor(
    message: string,
    override readonly cause?: Error,
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
}

/** No answer or no sign of life within the allowed time. */
export class TimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TimeoutError';
  }
}
