/**
 * Hashing an API secret for `SetCredential` exactly as the gateway checks a `Login`:
 * `SHA-256(salt || secret)`, where `secret` is the bytes the login's `credential` carries (docs/protocol.md,
 * "Credentials"). The server never sees the secret.
 */
import { createHash } from 'node:crypto';

import { credentialBytes, EncodeError } from './encode';

/** `SHA-256(salt || secret)`; refuses a secret a login could not carry. */
export function credentialHash(salt: Buffer, secret: string | Buffer): Buffer {
  if (salt.length !== 16) throw new EncodeError(`salt of ${salt.length} bytes; 16 expected`);
  return createHash('sha256').update(salt).update(credentialBytes(secret)).digest();
}

/** The fingerprint a `CredentialChanged` reports for `hash`: its first 8 bytes, big-endian. */
export function credentialFingerprint(hash: Buffer): bigint {
  return hash.readBigUInt64BE(0);
}
