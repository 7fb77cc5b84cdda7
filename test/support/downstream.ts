import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, customFetch, decodeProtectedHeader, type JWK, jwtVerify } from 'jose';
import { basicAuth, postForm } from './fixtures.ts';

/**
 * Helpers for suites that act as a client or as a downstream API (resource server):
 * token requests, introspection, revocation, JWKS polling, and a tiny real HTTP API that verifies
 * bearer tokens offline against Gatehouse's JWKS, as the README tells API authors to.
 */

export interface ClientCredentials {
  clientId: string;
  clientSecret: string;
}

/** client_credentials token (client_secret_basic); throws unless the server answers 200. */
export async function getToken(
  baseUrl: string,
  client: ClientCredentials,
  form: Record<string, string> = {},
): Promise<{ access_token: string; expires_in: number; scope?: string; token_type: string }> {
  const res = await postForm(
    `${baseUrl}/oauth/token`,
    { grant_type: 'client_credentials', ...form },
    { authorization: basicAuth(client.clientId, client.clientSecret) },
  );
  if (res.status !== 200) throw new Error(`token request failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as unknown as { access_token: string; expires_in: number; scope?: string; token_type: string };
}

/** POST /oauth/introspect authenticated with client_secret_basic. */
export function introspect(baseUrl: string, caller: ClientCredentials, token: string, extra: Record<string, string> = {}) {
  return postForm(`${baseUrl}/oauth/introspect`, { token, ...extra }, { authorization: basicAuth(caller.clientId, caller.clientSecret) });
}

/** POST /oauth/revoke authenticated with client_secret_basic. */
export function revoke(baseUrl: string, caller: ClientCredentials, token: string, extra: Record<string, string> = {}) {
  return postForm(`${baseUrl}/oauth/revoke`, { token, ...extra }, { authorization: basicAuth(caller.clientId, caller.clientSecret) });
}

export async function fetchJwks(baseUrl: string): Promise<{ keys: JWK[]; etag: string | null }> {
  const res = await fetch(`${baseUrl}/.well-known/jwks.json`);
  if (res.status !== 200) throw new Error(`JWKS answered ${res.status}`);
  return { keys: ((await res.json()) as { keys: JWK[] }).keys, etag: res.headers.get('etag') };
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Waits until the published JWKS differs from `before` (a key rotation was picked up through the
 * change notification) and returns it.
 */
export function waitForJwksChange(baseUrl: string, beforeEtag: string | null) {
  return waitFor('the JWKS to change', async () => {
    const jwks = await fetchJwks(baseUrl);
    return jwks.etag !== beforeEtag ? jwks : undefined;
  });
}

export function kidOf(token: string): string | undefined {
  return decodeProtectedHeader(token).kid;
}

export interface DownstreamApi {
  url: string;
  /** how many times the API fetched the JWKS (jose refetches on an unknown kid) */
  jwksFetches(): number;
  close(): Promise<void>;
}

/**
 * A resource server on 127.0.0.1:0 that accepts `Authorization: Bearer <jwt>` only when jose
 * verifies it against the issuer's JWKS (issuer, audience, typ at+jwt); 401 otherwise. 200 answers
 * carry the verified claims as JSON.
 */
export async function startDownstreamApi(options: {
  issuer: string;
  jwksUri: string;
  audience: string;
  /** jose's minimum time between two JWKS fetches (its default is 30 s) */
  cooldownDuration?: number;
}): Promise<DownstreamApi> {
  let fetches = 0;
  const jwksUrl = new URL(options.jwksUri);
  const jwks = createRemoteJWKSet(jwksUrl, {
    ...(options.cooldownDuration !== undefined ? { cooldownDuration: options.cooldownDuration } : {}),
    // counts fetches, without changing what jose does with the answer
    [customFetch]: (url, init) => {
      fetches++;
      return fetch(url, init);
    },
  });
  const authenticate = async (req: IncomingMessage) => {
    const token = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (!token) return null;
    try {
      const { payload } = await jwtVerify(token, jwks, {
        issuer: options.issuer,
        audience: options.audience,
        typ: 'at+jwt',
        algorithms: ['ES256', 'RS256'],
      });
      return payload;
    } catch {
      return null;
    }
  };
  const server: Server = createServer((req, res) => {
    authenticate(req).then(
      (claims) => {
        if (!claims) {
          res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"', 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: 'invalid_token' }));
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(claims));
      },
      (err: unknown) => {
        res.writeHead(500);
        res.end(String(err));
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    jwksFetches: () => fetches,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
