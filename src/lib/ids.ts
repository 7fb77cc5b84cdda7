import { randomBytes } from 'node:crypto';

/** Random URL-safe identifier with a readable type prefix, e.g. `app_3xkQ…`. 128 bits. */
export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(16).toString('base64url')}`;
}

/** Public client identifier: 128 random bits, URL-safe, no prefix (it appears in URLs and logs). */
export function newClientId(): string {
  return randomBytes(16).toString('base64url');
}

/**
 * A generated secret: a recognisable prefix (so leaked secrets can be found by scanners) followed
 * by 256 random bits, base64url.
 */
export function newSecret(prefix: string): string {
  return `${prefix}${randomBytes(32).toString('base64url')}`;
}
