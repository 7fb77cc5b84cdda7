import { createHash, randomBytes } from 'node:crypto';
import type { Services } from '../../src/container.ts';
import { systemPrincipal } from '../../src/domain/access/principal.ts';

/**
 * A person signing in, scripted over HTTP without a browser: a cookie jar, the authorization
 * request, the login and consent forms (with their CSRF field), and the redirect back to the client.
 * The browser suites (test/e2e/flows) do the same in Chromium; this is for the protocol suites and
 * the benchmark's shape of the flow.
 */

/** The cookies a browser would keep for one origin (path-scoped, enough for Gatehouse's cookies). */
export class CookieJar {
  private readonly cookies = new Map<string, { value: string; path: string }>();

  header(path: string): string {
    return [...this.cookies.entries()]
      .filter(([, c]) => path === c.path || path.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`) || c.path === '/')
      .map(([name, c]) => `${name}=${c.value}`)
      .join('; ');
  }

  take(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair = '', ...attrs] = line.split(';').map((s) => s.trim());
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      const path = attrs.find((a) => a.toLowerCase().startsWith('path='))?.slice(5) ?? '/';
      const expired = attrs.some((a) => /^expires=Thu, 01 Jan 1970/i.test(a)) || value === '';
      if (expired) this.cookies.delete(name);
      else this.cookies.set(name, { value, path });
    }
  }

  has(name: string): boolean {
    return this.cookies.has(name);
  }

  /** A copy (another tab of the same browser, or a replay). */
  clone(): CookieJar {
    const copy = new CookieJar();
    for (const [name, c] of this.cookies) copy.cookies.set(name, { ...c });
    return copy;
  }
}

export interface Hop {
  status: number;
  location: string | null;
  body: string;
  headers: Headers;
}

/** One request as a browser sends it (no redirects followed), cookies from and into the jar. */
export async function browse(base: string, jar: CookieJar, target: string, form?: Record<string, string>): Promise<Hop> {
  const url = new URL(target, base);
  // What a browser navigating sends: oidc-provider answers HTML (its error page) only to such requests.
  const headers: Record<string, string> = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };
  const cookie = jar.header(url.pathname);
  if (cookie) headers.cookie = cookie;
  if (form) headers['content-type'] = 'application/x-www-form-urlencoded';
  const res = await fetch(url, {
    method: form ? 'POST' : 'GET',
    headers,
    redirect: 'manual',
    ...(form ? { body: new URLSearchParams(form).toString() } : {}),
  });
  jar.take(res);
  return { status: res.status, location: res.headers.get('location'), body: await res.text(), headers: res.headers };
}

/** The value of a hidden field in a page. */
export function hiddenField(html: string, name: string): string | undefined {
  const match = new RegExp(`<input[^>]*name="${name}"[^>]*value="([^"]*)"`).exec(html);
  return match?.[1]?.replace(/&amp;/g, '&').replace(/&quot;/g, '"');
}

/** The action of the form that holds the field `field` (the first form otherwise). */
export function formAction(html: string): string | undefined {
  return /<form[^>]*action="([^"]*)"/.exec(html)?.[1]?.replace(/&amp;/g, '&');
}

export function pkce() {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export interface AuthorizationRequest {
  clientId: string;
  redirectUri: string;
  scope?: string;
  resource?: string;
  state?: string;
  nonce?: string;
  codeChallenge?: string | null;
  extra?: Record<string, string>;
}

export function authorizeUrl(req: AuthorizationRequest): string {
  const params = new URLSearchParams({
    client_id: req.clientId,
    response_type: 'code',
    redirect_uri: req.redirectUri,
    scope: req.scope ?? 'openid',
    state: req.state ?? randomBytes(8).toString('hex'),
    ...(req.nonce ? { nonce: req.nonce } : {}),
    ...(req.resource ? { resource: req.resource } : {}),
    ...(req.codeChallenge === null ? {} : { code_challenge: req.codeChallenge ?? pkce().challenge, code_challenge_method: 'S256' }),
    ...req.extra,
  });
  return `/oauth/authorize?${params}`;
}

/** Follows redirects on this server (the browser's GETs) until one leaves it or a page answers. */
export async function follow(base: string, jar: CookieJar, start: Hop, limit = 10): Promise<Hop & { url: string }> {
  let hop = start;
  let url = '';
  for (let i = 0; i < limit && hop.status >= 300 && hop.status < 400 && hop.location; i++) {
    const next = new URL(hop.location, base);
    if (next.origin !== new URL(base).origin) return { ...hop, url: next.href };
    url = next.href;
    hop = await browse(base, jar, next.href);
  }
  return { ...hop, url };
}

export interface SignedIn {
  /** where the browser was sent back to: the client's redirect URI with code, state, iss */
  callback: URL;
  jar: CookieJar;
  /** the pages seen on the way, by kind */
  saw: string[];
}

/**
 * The whole browser side: authorization request, login (when asked), consent (when asked,
 * approved unless `deny`), until the redirect back to the client.
 */
export async function signIn(
  base: string,
  request: AuthorizationRequest,
  account: { username: string; password: string },
  options: { jar?: CookieJar; deny?: boolean } = {},
): Promise<SignedIn> {
  const jar = options.jar ?? new CookieJar();
  const saw: string[] = [];
  let hop = await follow(base, jar, await browse(base, jar, authorizeUrl(request)));
  for (let step = 0; step < 4; step++) {
    if (hop.url && new URL(hop.url).origin !== new URL(base).origin) return { callback: new URL(hop.url), jar, saw };
    if (hop.status !== 200) throw new Error(`unexpected answer ${hop.status} at ${hop.url}: ${hop.body.slice(0, 300)}`);
    const csrf = hiddenField(hop.body, 'csrf');
    const action = formAction(hop.body);
    if (!csrf || !action) throw new Error(`no sign-in form at ${hop.url}: ${hop.body.slice(0, 300)}`);
    if (hop.body.includes('name="password"')) {
      saw.push('login');
      hop = await follow(base, jar, await browse(base, jar, action, { csrf, username: account.username, password: account.password }));
    } else if (hop.body.includes('name="decision"')) {
      saw.push('consent');
      const decision = options.deny ? 'deny' : 'approve';
      hop = await follow(base, jar, await browse(base, jar, action, { csrf, decision }));
      if (options.deny) return { callback: new URL(hop.url || base), jar, saw: [...saw, 'denied'] };
    } else {
      throw new Error(`unknown page at ${hop.url}`);
    }
  }
  throw new Error('the sign-in did not finish');
}

/** A person with a password, made through the users service (the CLI and admin API's path). */
export async function makePerson(services: Services, overrides: { username?: string; password?: string; email?: string } = {}) {
  const username = overrides.username ?? `person-${randomBytes(4).toString('hex')}`;
  const password = overrides.password ?? `pw-${randomBytes(12).toString('base64url')}`;
  const user = await services.users.create(systemPrincipal, {
    username,
    password,
    ...(overrides.email ? { email: overrides.email } : {}),
  });
  return { user, username, password };
}

/** An application for people: the code flow, refresh tokens, exact redirect and logout URIs. */
export async function makeWebClient(
  services: Services,
  options: {
    public?: boolean;
    skipConsent?: boolean;
    redirectUri?: string;
    postLogoutRedirectUri?: string;
    apis?: Array<{ identifier: string; scopes?: string[] }>;
    refreshTokens?: boolean;
  } = {},
) {
  const redirectUri = options.redirectUri ?? 'https://app.example.test/cb';
  const { application, clientSecret } = await services.applications.register(
    {
      name: `web-${randomBytes(4).toString('hex')}`,
      clientType: options.public ? 'public' : 'confidential',
      grantTypes: options.refreshTokens === false ? ['authorization_code'] : ['authorization_code', 'refresh_token'],
      redirectUris: [redirectUri],
      postLogoutRedirectUris: options.postLogoutRedirectUri ? [options.postLogoutRedirectUri] : [],
      skipAuthorization: options.skipConsent ?? false,
      apis: options.apis ?? [],
    },
    'test',
  );
  return { clientId: application.clientId, clientSecret, redirectUri, application };
}

/** Opens the login page of a new authorization request; returns what posting it needs. */
export async function openLogin(base: string, request: AuthorizationRequest, jar = new CookieJar()) {
  const page = await follow(base, jar, await browse(base, jar, authorizeUrl(request)));
  const action = formAction(page.body);
  const csrf = hiddenField(page.body, 'csrf');
  if (page.status !== 200 || !action || !csrf || !page.body.includes('name="password"')) {
    throw new Error(`no login page (${page.status} at ${page.url}): ${page.body.slice(0, 300)}`);
  }
  /** Posts the login form; follows on to wherever it leads on this server. */
  const submit = async (username: string, password: string) => {
    const answer = await browse(base, jar, action, { csrf, username, password });
    return answer.status === 303 ? follow(base, jar, answer) : { ...answer, url: new URL(action, base).href };
  };
  return { jar, page, action, csrf, submit };
}

/** Exchanges a code at the token endpoint (confidential client: Basic; public: client_id in the form). */
export async function exchangeCode(
  base: string,
  client: { clientId: string; clientSecret: string | null; redirectUri: string },
  callback: URL,
  verifier: string,
) {
  const form: Record<string, string> = {
    grant_type: 'authorization_code',
    code: callback.searchParams.get('code') ?? '',
    redirect_uri: client.redirectUri,
    code_verifier: verifier,
  };
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (client.clientSecret) headers.authorization = `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64')}`;
  else form.client_id = client.clientId;
  const res = await fetch(`${base}/oauth/token`, { method: 'POST', headers, body: new URLSearchParams(form).toString() });
  return { status: res.status, body: (await res.json()) as Record<string, string> };
}
