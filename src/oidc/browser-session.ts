import type { Context } from 'koa';
import type { Provider } from 'oidc-provider';

/**
 * The browser session the sign-in page made (oidc-provider's `_session` cookie), as the admin API
 * reads it to authenticate a person's own browser (http/middleware/authenticate.ts).
 *
 * Read through the library's public model: `Session.get(ctx)` verifies the cookie's signature
 * (the cookie keys), loads the stored session through the adapter (a digest lookup, cached) and
 * refuses an expired one (`exp`); a session a logout destroyed is simply not found. It never saves:
 * the library persists sessions only in its own session middleware, which the admin API does not
 * run, so reading one writes nothing to the database. A request without the cookie costs nothing.
 * https://github.com/panva/node-oidc-provider/tree/main/docs#sessions
 */
export interface BrowserSession {
  /** the session's id, which is also its cookie's value (the CSRF token is bound to it) */
  id: string;
  /** the signed-in user */
  accountId: string;
  /** when they signed in (seconds since the epoch) */
  signedInAt: number | undefined;
  expiresAt: Date | null;
}

export type BrowserSessionReader = (ctx: Context) => Promise<BrowserSession | null>;

export function createBrowserSessionReader(provider: () => Provider): BrowserSessionReader {
  return async function signedInSession(ctx) {
    const current = provider();
    // No cookie, no lookup (an anonymous request costs no statement). Only its presence here:
    // Session.get checks the signature.
    if (!ctx.cookies.get(current.cookieName('session'), { signed: false })) return null;
    const session = await current.Session.get(ctx);
    // An unknown, expired or logged-out session reads as a new, empty one: no account.
    if (!session.accountId) return null;
    return {
      id: session.jti,
      accountId: session.accountId,
      signedInAt: session.loginTs,
      expiresAt: typeof session.exp === 'number' ? new Date(session.exp * 1000) : null,
    };
  };
}
