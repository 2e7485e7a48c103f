/**
 * @matchd/client: a client for matchd's binary protocol (docs/protocol.md) for Node.js.
 *
 * - {@link OrderClient}: order entry and administration, sequenced reports with resend.
 * - {@link connectLeader}: the same against a replica set (follows `NotLeader`).
 * - {@link MdFeed} / {@link MdClient}: public market data and live books ({@link BookBuilder}).
 * - {@link InstrumentUnits}, {@link parseDecimal}, {@link formatDecimal}: prices and quantities
 *   as decimal strings, `bigint` on the wire.
 * - {@link encode}, {@link decodeServerMessage}, {@link decodeMdMessage}, {@link decodeFrame}: the codec.
 */
export * from './book';
export * from './connection';
export * from './credential';
export * from './decimal';
export * from './decode';
export * from './encode';
export * from './enums';
export * from './errors';
export * from './frame';
export * from './leader';
export * from './md_client';
export type * from './messages';
export * from './order_client';
