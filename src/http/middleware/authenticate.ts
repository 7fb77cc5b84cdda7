import type { KeyObject } from 'node:crypto';
import type { Context, Next } from 'koa';
import type { AccessService } from '../../domain/access/access.service.ts';
import { narrow } from '../../domain/access/narrow.ts';
import type { Principal } from '../../domain/access/principal.ts';
import type { ApiTokenService } from '../../domain/api-tokens/api-token.service.ts';
import type { ApplicationService } from '../../domain/applications/application.service.ts';
import type { UserService } from '../../domain/users/user.service.ts';
import { AppError } from '../../lib/app-error.ts';
import { hasControlCharacters } from '../../lib/control-characters.ts';
import type { BrowserSessionReader } from '../../oidc/browser-session.ts';
import type { PolicyCaller } from '../../oidc/introspection-policy.ts';
import type { TokenInspector } from '../../oidc/token-inspector.ts';
import { looksLikeJwt } from '../../oidc/token-kinds/jwt-access-token.ts';
import { CSRF_HEADER, csrfToken, isCsrfToken } from '../csrf.ts';
import type { PasswordThrottle } from '../password-throttle.ts';

/**
 * Who a request to the admin API (`/api/v1`) or the AuthZEN endpoints (`/access/v1`) acts as.
 * The `Authorization` header carries one of:
 *
 * - `Token <secret>`: an API token (api-tokens domain): its user's effective permissions narrowed
 *   by the token's scope and codenames; actor `token:<id>`.
 * - `Bearer <jwt>`: an access token Gatehouse issued **for the admin API itself**, whose audience
 *   is the API `${ISSUER}/api/v1` (register it like any API, JWT format, scopes `read` and
 *   `write`). It is checked by the token inspector exactly as introspection checks it, as if the
 *   admin API were the introspecting resource server: signature by a published key, `typ: at+jwt`,
 *   issuer, expiry, the `jti` denylist, its client and audience still existing. A token whose `sub`
 *   is a user acts as that user (actor `user:<id>`); a client-credentials token (`sub` = its
 *   `client_id`) acts as its application with the codenames granted to the application itself
 *   (`userId: null`, actor `application:<client_id>`). Scope `write` (or no scope) keeps every
 *   permission; a scope without `write` narrows like an API token's `read` scope. Sender-constrained
 *   tokens (`cnf`: DPoP, mTLS) are refused here: this surface checks no proof (RFC 9449 §7.1).
 *   `Bearer <API token>` is accepted as `Token` (clients that speak only Bearer, AuthZEN PEPs).
 *   Opaque OAuth access tokens are not accepted (register the admin API with JWT tokens).
 * - `Basic base64(username:password)` (RFC 7617): the user's effective permissions; failures are
 *   throttled per account and per address (password-throttle.ts), a blocked attempt answers 429
 *   and writes an audit line.
 *
 * Without an `Authorization` header, the **browser session** of the sign-in page (oidc-provider's
 * signed `_session` cookie, read by oidc/browser-session.ts) authenticates a person's own browser:
 * their effective permissions, actor `user:<id>`. A session that is unknown, expired, logged out,
 * or whose user was deactivated or deleted is no credential at all (the route answers 401, a
 * public route still serves). Cookies ride along with cross-site requests, so an unsafe method
 * (anything but GET, HEAD, OPTIONS) with the session must also prove it comes from a page of this
 * origin (OWASP CSRF cheat sheet): the `X-CSRF-Token` header must carry the token `GET /api/v1/me`
 * gives (http/csrf.ts: an HMAC of the session's id, so it changes with each sign-in and needs no
 * storage; a page elsewhere can neither read it nor, without CORS, send the header), and a
 * `Sec-Fetch-Site` or `Origin` header, when the browser sends one, must name this origin. Refused:
 * 403 `auth.csrf_failed`. An `Authorization` header always wins over the cookie.
 *
 * No credentials: no principal (the route answers 401). Bad credentials: 401 at once.
 * Every 401 names the schemes in `WWW-Authenticate` (RFC 9110 §11.6.1). No credential kind writes
 * to the database for a request without credentials; the only writes of a failed one are the
 * password throttle's counts.
 */

/** What authenticated a request, for `GET /api/v1/me` and the read-only rule. */
export type Credential =
  | {
      kind: 'token';
      tokenId: string;
      scope: 'read' | 'write';
      /** explicit codenames the token is narrowed to (or holds, for a declared one) */
      codenames: string[];
      applicationId: string | null;
      expiresAt: Date | null;
      userId: string;
    }
  | {
      kind: 'bearer';
      subject: 'user' | 'application';
      clientId: string;
      userId: string | null;
      applicationId: string | null;
      scope: string;
      /** the scope lacks `write`: read-only, like an API token's `read` scope */
      readOnly: boolean;
      expiresAt: Date | null;
    }
  | { kind: 'basic'; userId: string }
  | {
      kind: 'session';
      userId: string;
      expiresAt: Date | null;
      /** what unsafe requests with this session send in `X-CSRF-Token` (shown by `GET /me`) */
      csrfToken: string;
    }
  | { kind: 'operator' };

export interface Authenticated {
  principal: Principal;
  credential: Credential;
  /** a `read`-scoped credential: safe methods only (and the read-only POST queries) */
  readOnly: boolean;
}

declare module 'koa' {
  interface DefaultState {
    /** how the request authenticated (absent: no credentials, or a surface without HTTP credentials) */
    credential?: Credential;
  }
}

export interface HttpAuthenticatorDeps {
  /** the admin API's identifier: `${ISSUER}/api/v1`, the audience its Bearer tokens must carry */
  audience: string;
  apiTokens: Pick<ApiTokenService, 'authenticate'>;
  access: Pick<AccessService, 'principalFor' | 'principalForApplication' | 'isSignInCurrent'>;
  users: Pick<UserService, 'verifyPassword'>;
  applications: Pick<ApplicationService, 'findClient'>;
  inspector: Pick<TokenInspector, 'introspect'>;
  /** null: password failures are not throttled (both limits 0) */
  passwordThrottle: PasswordThrottle | null;
  /** the sign-in page's browser session; absent: cookies authenticate nobody */
  browserSession?: { read: BrowserSessionReader; csrfKey: KeyObject; origin: string };
}

/** The longest username a sign-in looks up; longer ones cannot exist and are refused like unknown ones. */
const LONGEST_USERNAME = 150;
const LONGEST_CREDENTIAL = 16 * 1024;
const LOGGED_USERNAME_CHARS = 200;

const invalid = (detail: string, code = 'auth.invalid_credentials') => new AppError(code, detail, { status: 401 });

export function createHttpAuthenticator(deps: HttpAuthenticatorDeps) {
  const { audience } = deps;
  // The admin API plays the resource server at introspection: tokens for its audience, from any client.
  const asResourceServer: PolicyCaller = { clientId: '', apis: [{ identifier: audience, introspect: true }] };
  const realm = `realm="${audience}"`;

  /** RFC 9110 §11.6.1: one challenge per scheme; RFC 6750 §3.1 names the error of a bad Bearer token. */
  function challenges(bearerError?: string): string[] {
    return [
      `Token ${realm}`,
      bearerError ? `Bearer ${realm}, error="${bearerError}"` : `Bearer ${realm}`,
      `Basic ${realm}, charset="UTF-8"`,
    ];
  }

  async function apiToken(secret: string, ip: string): Promise<Authenticated> {
    const found = await deps.apiTokens.authenticate(secret, { ip });
    if (!found) throw invalid('the token is not valid (unknown, revoked or expired)', 'auth.invalid_token');
    const { token } = found;
    return {
      principal: found.principal,
      credential: {
        kind: 'token',
        tokenId: token.id,
        scope: token.scope,
        codenames: token.permissions,
        applicationId: token.applicationId,
        expiresAt: token.expiresAt,
        userId: token.userId,
      },
      readOnly: token.scope === 'read',
    };
  }

  async function accessToken(value: string): Promise<Authenticated> {
    const refused = () =>
      Object.assign(invalid('the access token is not valid for this API', 'auth.invalid_token'), { bearerError: 'invalid_token' });
    const claims = await deps.inspector.introspect(value, 'access_token', asResourceServer);
    if (!claims.active) throw refused();
    // A sender-constrained token is worthless without its proof, which this surface does not check.
    if (claims.cnf !== undefined) throw refused();
    const clientId = typeof claims.client_id === 'string' ? claims.client_id : undefined;
    const sub = typeof claims.sub === 'string' ? claims.sub : undefined;
    if (!clientId || !sub) throw refused();
    const scopes = typeof claims.scope === 'string' ? claims.scope.split(' ').filter(Boolean) : [];
    const readOnly = scopes.length > 0 && !scopes.includes('write');
    const expiresAt = typeof claims.exp === 'number' ? new Date(claims.exp * 1000) : null;
    let principal: Principal | null;
    let credential: Credential;
    if (sub === clientId) {
      const client = await deps.applications.findClient(clientId);
      if (!client?.isActive) throw refused();
      principal = await deps.access.principalForApplication(client);
      credential = {
        kind: 'bearer',
        subject: 'application',
        clientId,
        userId: null,
        applicationId: client.id,
        scope: scopes.join(' '),
        readOnly,
        expiresAt,
      };
    } else {
      principal = await deps.access.principalFor(sub);
      credential = {
        kind: 'bearer',
        subject: 'user',
        clientId,
        userId: sub,
        applicationId: null,
        scope: scopes.join(' '),
        readOnly,
        expiresAt,
      };
    }
    if (!principal) throw refused();
    if (readOnly) principal = { ...principal, isSuperuser: false, permissions: narrow(principal.permissions, { scope: 'read' }) };
    return { principal, credential, readOnly };
  }

  /** The browser session (see the header): undefined when there is none that counts. */
  async function sessionCredential(ctx: Context): Promise<Authenticated | undefined> {
    const browser = deps.browserSession;
    if (!browser) return undefined;
    const session = await browser.read(ctx);
    if (!session) return undefined;
    // A deactivated or deleted user's session counts for nothing, nor one from before they were
    // last deactivated (the access service's cached answers).
    if (!(await deps.access.isSignInCurrent(session.accountId, session.signedInAt))) return undefined;
    const principal = await deps.access.principalFor(session.accountId);
    if (!principal) return undefined;
    const token = csrfToken(browser.csrfKey, 'session', session.id);
    if (!SAFE_METHODS.has(ctx.method)) {
      if (!isCsrfToken(browser.csrfKey, 'session', session.id, ctx.get(CSRF_HEADER)) || !isSameOrigin(ctx, browser.origin)) {
        throw new AppError(
          'auth.csrf_failed',
          `a request that changes something with the browser session needs the ${CSRF_HEADER} header GET /api/v1/me gives, from a page of this origin`,
          { status: 403 },
        );
      }
    }
    return {
      principal,
      credential: { kind: 'session', userId: session.accountId, expiresAt: session.expiresAt, csrfToken: token },
      readOnly: false,
    };
  }

  async function basic(ctx: Context, encoded: string): Promise<Authenticated> {
    const decoded = Buffer.from(encoded, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    // RFC 7617 §2: the user-id holds no colon; the password is everything after the first one.
    const username = colon < 0 ? decoded : decoded.slice(0, colon);
    const password = colon < 0 ? '' : decoded.slice(colon + 1);
    const log = ctx.state.log;
    const throttle = deps.passwordThrottle;
    if (throttle) {
      const blockedMs = await throttle.blockedMs(username, ctx.ip, log);
      if (blockedMs > 0) {
        // The audit line of a refused attempt (a log line: an anonymous flood must not turn into writes).
        log.info(
          { audit: 'auth.password_blocked', username: username.slice(0, LOGGED_USERNAME_CHARS), ip: ctx.ip, path: ctx.path },
          'password sign-in refused: blocked',
        );
        throw tooManyFailures(blockedMs);
      }
    }
    // A name that cannot exist (control characters never reach a query) is checked as an unknown
    // one, so its answer takes the time of a password check too.
    const lookup = username.length > LONGEST_USERNAME || hasControlCharacters(username) ? '' : username;
    const user =
      colon > 0 && lookup !== '' ? await deps.users.verifyPassword(lookup, password) : await deps.users.verifyPassword('', password);
    const principal = user ? await deps.access.principalFor(user.id) : null;
    if (!user || !principal) {
      if (throttle) {
        const { blockedMs, delayMs } = await throttle.recordFailure(username, ctx.ip, log);
        if (blockedMs > 0) throw tooManyFailures(blockedMs);
        if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
      }
      throw invalid('the username or password is not valid');
    }
    await throttle?.recordSuccess(username, ctx.ip, log);
    return { principal, credential: { kind: 'basic', userId: user.id }, readOnly: false };
  }

  return {
    challenges,

    /**
     * The request's credentials turned into a principal: undefined without an `Authorization`
     * header; an AppError 401 (with `challenges` to send) for bad ones, 429 for a blocked Basic
     * sign-in.
     */
    async authenticate(ctx: Context): Promise<Authenticated | undefined> {
      const header = ctx.get('authorization');
      if (!header) return sessionCredential(ctx);
      const match = /^([A-Za-z]+) +(\S+) *$/.exec(header);
      if (!match?.[1] || !match[2] || match[2].length > LONGEST_CREDENTIAL) {
        throw invalid('the Authorization header is malformed: send Token, Bearer or Basic credentials');
      }
      const scheme = match[1].toLowerCase();
      const value = match[2];
      if (scheme === 'token') return apiToken(value, ctx.ip);
      if (scheme === 'bearer') return looksLikeJwt(value) ? accessToken(value) : apiToken(value, ctx.ip);
      if (scheme === 'basic') return basic(ctx, value);
      throw invalid(`the ${match[1]} scheme is not supported here: send Token, Bearer or Basic credentials`, 'auth.unsupported_scheme');
    },
  };
}

export type HttpAuthenticator = ReturnType<typeof createHttpAuthenticator>;

/**
 * Fetch metadata and Origin, when the browser sends them, must name this origin (the issuer's):
 * `Sec-Fetch-Site: same-origin` (https://www.w3.org/TR/fetch-metadata/), an `Origin` equal to it
 * (RFC 6454 §7). A client that sends neither (not a browser, or an old one) rests on the token.
 */
function isSameOrigin(ctx: Context, origin: string): boolean {
  const site = ctx.get('sec-fetch-site');
  if (site && site !== 'same-origin') return false;
  const from = ctx.get('origin');
  return !from || from === origin;
}

function tooManyFailures(blockedMs: number): AppError {
  const seconds = Math.max(1, Math.ceil(blockedMs / 1000));
  // The same answer whether or not the account exists (counts are per presented username).
  return Object.assign(
    new AppError('auth.too_many_failures', `too many failed sign-in attempts; retry after ${seconds} s`, { status: 429 }),
    { retryAfterSeconds: seconds },
  );
}

/** POSTs that only read (queries with a JSON body): allowed to `read`-scoped credentials. */
export const READ_ONLY_POSTS: ReadonlySet<string> = new Set(['/api/v1/access-check', '/access/v1/evaluation', '/access/v1/evaluations']);
const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Koa middleware: authenticates the request (ctx.state.principal, ctx.state.credential), refuses
 * unsafe methods to `read`-scoped credentials, and adds `WWW-Authenticate` to every 401 answered
 * below it and `Retry-After` to 429s. Answers are about one caller: no cache may keep them.
 */
export function authenticateRequest(authenticator: HttpAuthenticator) {
  return async function authenticateMiddleware(ctx: Context, next: Next): Promise<void> {
    ctx.set('Cache-Control', 'no-store');
    try {
      const found = await authenticator.authenticate(ctx);
      if (found) {
        ctx.state.principal = found.principal;
        ctx.state.credential = found.credential;
        if (found.readOnly && !SAFE_METHODS.has(ctx.method) && !READ_ONLY_POSTS.has(ctx.path)) {
          throw new AppError('auth.read_only', 'this credential has the read scope: it may only read (GET)', { status: 403 });
        }
      }
      await next();
      if (found && !SAFE_METHODS.has(ctx.method) && !READ_ONLY_POSTS.has(ctx.path)) {
        // Who did what through the admin API (the access line says only that a request happened).
        ctx.state.log.info({ actor: found.principal.actor, method: ctx.method, path: ctx.path, status: ctx.status }, 'admin request');
      }
    } catch (err) {
      const status = (err as { status?: unknown }).status;
      if (status === 401) ctx.set('WWW-Authenticate', authenticator.challenges((err as { bearerError?: string }).bearerError));
      const retryAfter = (err as { retryAfterSeconds?: unknown }).retryAfterSeconds;
      if (status === 429 && typeof retryAfter === 'number') ctx.set('Retry-After', String(retryAfter));
      throw err;
    }
  };
}
