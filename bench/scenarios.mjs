// The benchmark's scenarios. Adding one is adding an entry: an id, a label, and `request(server,
// prepared)` giving the HTTP request to repeat (several `bodies` are cycled). `prepare(server, n)`
// runs once per server before the load, outside the measurement (fetching tokens to introspect…).
// `server` is what targets.mjs started: { url, client: { id, secret }, apis: { jwt, opaque }, apiToken }
// (`apiToken`: a secret declared through AUTH_TOKENS, Gatehouse targets only).
// `unsupported` names targets that cannot serve a scenario at all, and why; they show it instead
// of a figure (the bare library answers 400 to JWT introspection and revocation).

import { randomBytes } from 'node:crypto';
// The scripted browser of the protocol tests (Node >= 22.18 runs it as it is: `npm run bench` uses
// the pinned Node 24): the benchmark signs people in exactly as those tests do.
import { exchangeCode, pkce, signIn } from '../test/support/sign-in.ts';

const FORM = 'application/x-www-form-urlencoded';
const form = (fields) => new URLSearchParams(fields).toString();

/** RFC 6749 §2.3.1: id and secret are form-encoded before they are joined and base64-encoded. */
export function basic({ id, secret }) {
  const enc = (v) => encodeURIComponent(v).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64')}`;
}

/** Gets one client-credentials access token for `audience` from `server`. */
export async function fetchToken(server, audience) {
  const res = await fetch(`${server.url}/oauth/token`, {
    method: 'POST',
    headers: { authorization: basic(server.client), 'content-type': FORM },
    body: form({ grant_type: 'client_credentials', resource: audience }),
  });
  const body = await res.json();
  if (!res.ok || typeof body.access_token !== 'string') throw new Error(`token request failed: ${res.status} ${JSON.stringify(body)}`);
  return body.access_token;
}

async function fetchTokens(server, audience, count) {
  const tokens = [];
  const worker = async () => {
    while (tokens.length < count) tokens.push(await fetchToken(server, audience));
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  return tokens.slice(0, count);
}

const authenticated = (server, body) => ({
  method: 'POST',
  headers: { authorization: basic(server.client), 'content-type': FORM },
  bodies: [body],
});

/** Revocation pools hold this many times `poolSize` tokens (4000 in a full run, so 6000). */
const REVOCATION_POOL_FACTOR = 1.5;

const revocation = (server, tokens) => ({
  path: '/oauth/revoke',
  method: 'POST',
  headers: { authorization: basic(server.client), 'content-type': FORM },
  bodies: tokens.map((token) => form({ token, token_type_hint: 'access_token' })),
});

/** Distinct made-up credentials per flood, so no cache of answers can help the server. */
const FLOOD_VARIANTS = 5000;
const madeUp = (bytes) => randomBytes(bytes).toString('base64url');

/** A legitimate client-credentials request, the load measured beside a flood. */
const legitimate = (s) => ({ path: '/oauth/token', ...authenticated(s, form({ grant_type: 'client_credentials', audience: s.apis.jwt })) });

/** Token requests with client_secret_post credentials `credentials()` makes up, FLOOD_VARIANTS of them. */
const floodOf = (credentials) => ({
  path: '/oauth/token',
  method: 'POST',
  headers: { 'content-type': FORM },
  bodies: Array.from({ length: FLOOD_VARIANTS }, () => form({ grant_type: 'client_credentials', ...credentials() })),
});

const FLOOD_UNSUPPORTED = { baseline: 'a flood is measured against the same server without it (legitimate rate kept)' };

/** Issue 10: the admin API has no counterpart in the bare library; its bar is the library's client-credentials rate. */
const ADMIN_API_UNSUPPORTED = { baseline: 'oidc-provider has no admin API (the bar compares with its client-credentials rate)' };

/** Issue 11: the bare library has no accounts, login or consent pages to compare with. */
const PEOPLE_UNSUPPORTED = { baseline: 'oidc-provider alone has no accounts, login or consent pages' };

/**
 * One person signs in to the benchmark's web client for the JWT API and the client exchanges the
 * code: the tokens. Each call takes the next of the people targets.mjs seeded, whose first sign-in
 * this is (so the consent page is shown and answered).
 */
async function signInOnce(s, { expectConsent }) {
  const { verifier, challenge } = pkce();
  const client = { clientId: s.webClient.id, clientSecret: s.webClient.secret, redirectUri: s.webClient.redirectUri };
  const person = s.people.next();
  const signed = await signIn(
    s.url,
    { clientId: client.clientId, redirectUri: client.redirectUri, codeChallenge: challenge, resource: s.apis.jwt, scope: 'openid read' },
    person,
  );
  const expected = expectConsent ? 'login,consent' : 'login';
  if (signed.saw.join(',') !== expected) throw new Error(`sign-in of ${person.username} showed ${signed.saw.join(',')}, not ${expected}`);
  if (!signed.callback.searchParams.has('code')) throw new Error(`no code: ${signed.callback}`);
  const tokens = await exchangeCode(s.url, client, signed.callback, verifier);
  if (tokens.status !== 200 || typeof tokens.body.refresh_token !== 'string') {
    throw new Error(`code exchange: ${tokens.status} ${JSON.stringify(tokens.body)}`);
  }
  return tokens.body;
}

export const SCENARIOS = [
  {
    id: 'cc-basic',
    label: 'client credentials, Basic auth (JWT)',
    request: (s) => ({ path: '/oauth/token', ...authenticated(s, form({ grant_type: 'client_credentials', audience: s.apis.jwt })) }),
  },
  {
    id: 'cc-post',
    label: 'client credentials, client_secret_post (JWT)',
    request: (s) => ({
      path: '/oauth/token',
      method: 'POST',
      headers: { 'content-type': FORM },
      bodies: [form({ grant_type: 'client_credentials', client_id: s.client.id, client_secret: s.client.secret, resource: s.apis.jwt })],
    }),
  },
  {
    id: 'introspect-jwt',
    label: 'introspection of a JWT access token',
    unsupported: { baseline: 'oidc-provider cannot introspect its own JWT access tokens' },
    prepare: async (s) => ({ token: await fetchToken(s, s.apis.jwt) }),
    request: (s, p) => ({ path: '/oauth/introspect', ...authenticated(s, form({ token: p.token })) }),
  },
  {
    id: 'introspect-opaque',
    label: 'introspection of an opaque access token',
    prepare: async (s) => ({ token: await fetchToken(s, s.apis.opaque) }),
    request: (s, p) => ({ path: '/oauth/introspect', ...authenticated(s, form({ token: p.token })) }),
  },
  // Each request revokes another token from a pool fetched before each round (so no round starts on
  // tokens an earlier one revoked). A round that outruns its pool repeats tokens, which revocation
  // answers the same (RFC 7009 §2.2) but cheaper: the pool is sized for a few thousand revocations
  // a second; the baseline's in-memory adapter outruns it.
  {
    id: 'revoke-jwt',
    label: 'revocation of JWT access tokens',
    unsupported: { baseline: 'oidc-provider cannot revoke its own JWT access tokens' },
    preparePerRound: true,
    prepare: async (s, { poolSize }) => ({ tokens: await fetchTokens(s, s.apis.jwt, poolSize * REVOCATION_POOL_FACTOR) }),
    request: (s, p) => revocation(s, p.tokens),
  },
  {
    id: 'revoke-opaque',
    label: 'revocation of opaque access tokens',
    preparePerRound: true,
    prepare: async (s, { poolSize }) => ({ tokens: await fetchTokens(s, s.apis.opaque, poolSize * REVOCATION_POOL_FACTOR) }),
    request: (s, p) => revocation(s, p.tokens),
  },
  // Issue 8, items 4 and 13: legitimate client credentials while one source floods the token
  // endpoint with failing authentication. `flood` is sent beside `request` on as many connections;
  // the row reports the legitimate rate beside the flood and, as `kept`, its ratio to the rate
  // measured alone in the same round. An unknown client id must cost no more than a wrong secret.
  {
    id: 'flood-unknown-client',
    label: 'client credentials beside a flood of unknown client ids',
    unsupported: FLOOD_UNSUPPORTED,
    request: legitimate,
    flood: () => floodOf(() => ({ client_id: madeUp(16), client_secret: `ghcs_${madeUp(32)}` })),
  },
  {
    id: 'flood-wrong-secret',
    label: 'client credentials beside a flood of wrong secrets',
    unsupported: FLOOD_UNSUPPORTED,
    request: legitimate,
    flood: (s) => floodOf(() => ({ client_id: s.client.id, client_secret: `ghcs_${madeUp(32)}` })),
  },
  // Issue 10: who am I, and may I, with an API token (declared through AUTH_TOKENS).
  {
    id: 'me-token',
    label: 'GET /api/v1/me, Token auth',
    unsupported: ADMIN_API_UNSUPPORTED,
    request: (s) => ({ path: '/api/v1/me', method: 'GET', headers: { authorization: `Token ${s.apiToken}` } }),
  },
  {
    id: 'access-check',
    label: 'POST /api/v1/access-check, Token auth',
    unsupported: ADMIN_API_UNSUPPORTED,
    request: (s) => ({
      path: '/api/v1/access-check',
      method: 'POST',
      headers: { authorization: `Token ${s.apiToken}`, 'content-type': 'application/json' },
      bodies: [JSON.stringify({ permissions: ['add_mediasource', 'view_user', 'delete_user'] })],
    }),
  },
  {
    id: 'introspect-api-token',
    label: 'introspection of an API token',
    unsupported: ADMIN_API_UNSUPPORTED,
    request: (s) => ({ path: '/oauth/introspect', ...authenticated(s, form({ token: s.apiToken })) }),
  },
  // A page of the admin API's application list, on a database of 10,000 users and applications
  // (targets.mjs seeds them), cycling through 20 pages.
  {
    id: 'list-applications',
    label: 'GET /api/v1/applications?page=N&page_size=50 (10,000 rows), Token auth',
    unsupported: ADMIN_API_UNSUPPORTED,
    request: (s) => ({
      path: '/api/v1/applications',
      method: 'GET',
      headers: { authorization: `Token ${s.apiToken}` },
      paths: Array.from({ length: 20 }, (_, i) => `/api/v1/applications?page=${i * 10 + 1}&page_size=50`),
    }),
  },
  // Issue 11: people. A whole sign-in as a browser does it, scripted over HTTP (flow.mjs): the
  // authorization request with PKCE, the login page and form, the consent page and form, the
  // redirect back with the code, and the client's token request. Each sign-in is another person's
  // first (a fresh cookie jar, a user who has not consented yet), so every step is taken each time:
  // the password check (argon2id at the configured cost) is most of it, by design.
  {
    id: 'code-flow',
    label: 'sign-in round trip: authorize, login, consent, code, token (code + PKCE)',
    unsupported: PEOPLE_UNSUPPORTED,
    step: (s) => async () => {
      await signInOnce(s, { expectConsent: true });
    },
  },
  // A client refreshing, each worker down its own rotation chain: every request presents the
  // refresh token the previous answer returned and receives a new one and a JWT access token.
  {
    id: 'refresh',
    label: 'refresh token rotation (a new refresh token and JWT access token each time)',
    unsupported: PEOPLE_UNSUPPORTED,
    prepare: async (s, { connections }) => {
      const chains = [];
      for (let i = 0; i < connections; i++) chains.push((await signInOnce(s, { expectConsent: true })).refresh_token);
      return { chains };
    },
    step: (s, p) => async (worker) => {
      const res = await fetch(`${s.url}/oauth/token`, {
        method: 'POST',
        headers: { authorization: basic(s.webClient), 'content-type': FORM },
        body: form({ grant_type: 'refresh_token', refresh_token: p.chains[worker] }),
      });
      const body = await res.json();
      if (res.status !== 200 || typeof body.refresh_token !== 'string') throw new Error(`refresh: ${res.status} ${JSON.stringify(body)}`);
      p.chains[worker] = body.refresh_token;
    },
  },
  { id: 'jwks', label: 'JWKS', request: () => ({ path: '/.well-known/jwks.json', method: 'GET' }) },
  { id: 'discovery', label: 'discovery document', request: () => ({ path: '/.well-known/openid-configuration', method: 'GET' }) },
];
