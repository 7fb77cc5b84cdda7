import { createHmac, type KeyObject, timingSafeEqual } from 'node:crypto';

/**
 * CSRF tokens of Gatehouse's own forms and of the browser session on the admin API: an HMAC of
 * what the token is bound to, under a key derived from the master key (so every instance makes and
 * checks the same tokens, and nothing is stored).
 *
 * - A sign-in form (login, consent, cancel) is bound to its interaction: `interaction` + the uid
 *   that the browser's signed `_interaction` cookie must name too (oidc/interactions.ts checks it).
 *   A page elsewhere can neither read the token nor make the browser send the cookie with a
 *   cross-site POST (SameSite=Lax), and the uid of someone else's sign-in is not known to it.
 * - The device flow's code-entry form (http/device-pages.tsx) is bound to `device` + a random value
 *   in its own cookie (`_device_entry`, HttpOnly, SameSite=Lax): a "signed double submit" that
 *   needs no session, so a person typing a code before signing in costs no stored state. The
 *   library's own device forms (confirm, deny) carry its `xsrf` field, which it checks against
 *   the browser session it keeps from that point on.
 * - An unsafe admin API request made with the browser session is bound to that session: `session`
 *   + the session's id (its cookie value), read by the page from `GET /api/v1/me` and sent back in
 *   the `X-CSRF-Token` header (the "synchronizer token" pattern of the OWASP CSRF cheat sheet).
 */
export type CsrfPurpose = 'interaction' | 'session' | 'device';

export function csrfToken(key: KeyObject, purpose: CsrfPurpose, boundTo: string): string {
  return createHmac('sha256', key).update(`${purpose}\u0000${boundTo}`).digest('base64url');
}

/** Whether `presented` is the token for `boundTo`, compared in constant time. */
export function isCsrfToken(key: KeyObject, purpose: CsrfPurpose, boundTo: string, presented: unknown): boolean {
  if (typeof presented !== 'string' || presented.length === 0 || presented.length > 100) return false;
  const expected = Buffer.from(csrfToken(key, purpose, boundTo));
  const given = Buffer.from(presented);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The form field that carries it. */
export const CSRF_FIELD = 'csrf';
/** The header that carries it on the admin API. */
export const CSRF_HEADER = 'x-csrf-token';
