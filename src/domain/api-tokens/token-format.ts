import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';

/**
 * The format of generated API tokens, modelled on GitHub's (github.blog, "Behind GitHub's new
 * authentication token formats", 2021): a recognisable prefix, a random body and a checksum.
 *
 *   ghat_ <43 base62 characters: 256 random bits> <6 base62 characters: CRC32 of prefix + body>
 *
 * - The prefix (`ghat_`: GateHouse API Token, beside the client secrets' `ghcs_`) lets secret
 *   scanners and people recognise a leaked token; the checksum lets a scanner tell a real one
 *   from a random string without asking us, and lets Gatehouse refuse a typo or a made-up token
 *   before any lookup.
 * - base62 (no `-`/`_`) so a double-click selects the whole token.
 * - 43 base62 characters carry 43 × log2(62) ≈ 256.03 bits, drawn without modulo bias.
 * The checksum is not a secret and protects nothing: security rests on the 256 random bits.
 */
export const API_TOKEN_PREFIX = 'ghat_';
const BODY_LENGTH = 43;
const CHECKSUM_LENGTH = 6;
export const API_TOKEN_LENGTH = API_TOKEN_PREFIX.length + BODY_LENGTH + CHECKSUM_LENGTH;

/** How every API token is shown after its creation response. */
export const MASKED_SECRET = '************';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const SHAPE = new RegExp(`^${API_TOKEN_PREFIX}[0-9A-Za-z]{${BODY_LENGTH + CHECKSUM_LENGTH}}$`);

/** `n` uniformly random base62 characters (bytes ≥ 248 are drawn again: 248 = 4 × 62). */
function randomBase62(n: number): string {
  let out = '';
  while (out.length < n) {
    for (const byte of randomBytes(n + 8)) {
      if (byte < 248) out += ALPHABET[byte % 62];
      if (out.length === n) break;
    }
  }
  return out;
}

function checksum(prefixAndBody: string): string {
  let value = crc32(prefixAndBody);
  let out = '';
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    out = ALPHABET[value % 62] + out;
    value = Math.floor(value / 62);
  }
  return out;
}

/** A new API token secret. */
export function generateApiToken(): string {
  const head = API_TOKEN_PREFIX + randomBase62(BODY_LENGTH);
  return head + checksum(head);
}

/** Whether `secret` has the generated format and a correct checksum (no lookup needed to refuse it). */
export function isWellFormedApiToken(secret: string): boolean {
  if (secret.length !== API_TOKEN_LENGTH || !SHAPE.test(secret)) return false;
  const head = secret.slice(0, -CHECKSUM_LENGTH);
  return checksum(head) === secret.slice(-CHECKSUM_LENGTH);
}

/**
 * What lists show to tell tokens apart: the prefix and the first 4 characters of the body
 * (24 bits of 256). Operator-chosen secrets (AUTH_TOKENS) show nothing: a part of a short secret
 * would be a real hint.
 */
export function displayPrefix(secret: string): string {
  return isWellFormedApiToken(secret) ? secret.slice(0, API_TOKEN_PREFIX.length + 4) : '';
}
