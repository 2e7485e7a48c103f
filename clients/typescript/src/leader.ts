/**
 * Finding a replica set's leader (docs/replication.md): log in to whichever node leads,
 * following `NotLeader` answers (which name the leader when the node knows it) and trying the
 * nodes in turn while an election is under way. After a failover, call it again with the old
 * session's `lastSeenSeq`: every node numbers an account's reports identically, so the new leader
 * resends exactly what the client has not seen.
 */
import { LoginRejectedError, TimeoutError } from './errors';
import { OrderClient, type OrderClientOptions } from './order_client';

/** The nodes' order-entry addresses and how long to keep trying. */
export interface LeaderOptions extends Omit<OrderClientOptions, 'host' | 'port'> {
  nodes: { host: string; port: number }[];
  /** Give up after this long; default 30,000 ms. */
  deadlineMs?: number;
}

/**
 * Logs in to the leader. A refusal other than `NotLeader`/`NotReady` (bad credentials, a sequence
 * the server does not have) is thrown at once: no other node would answer differently.
 */
export async function connectLeader(o: LeaderOptions): Promise<OrderClient> {
  if (o.nodes.length === 0) throw new RangeError('at least one node address');
  const until = Date.now() + (o.deadlineMs ?? 30_000);
  let hint: { host: string; port: number } | null = null;
  let next = 0;
  let last: Error = new TimeoutError('no leader found');
  for (;;) {
    const addr = hint ?? o.nodes[next++ % o.nodes.length]!;
    hint = null;
    try {
      return await OrderClient.connect({ ...o, host: addr.host, port: addr.port });
    } catch (e) {
      last = e as Error;
      if (e instanceof LoginRejectedError) {
        if (e.reason === 'NotLeader') {
          const l = e.leader;
          // Follow the hint once; without one an election is under way: try the next node.
          if (l !== null && !(l.host === addr.host && l.port === addr.port)) hint = l;
        } else if (e.reason !== 'NotReady') {
          throw e;
        }
      }
    }
    if (Date.now() >= until) throw last;
    if (hint === null && next % o.nodes.length === 0) {
      // A whole round without a leader: an election takes a moment.
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
