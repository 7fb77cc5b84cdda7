import { expect } from 'vitest';
import { basicAuth } from './fixtures.ts';

/** Every request here gives up after this long, so a server that hangs fails the test. */
export const REQUEST_TIMEOUT_MS = 10_000;

export const FORM = 'application/x-www-form-urlencoded';

/** What fetch accepts as a body (BodyInit is not a global type without the DOM lib). */
export type RequestBody = RequestInit['body'];

export interface RawResponse {
  status: number;
  headers: Headers;
  text: string;
  /** parsed JSON body, or undefined when the body is not JSON */
  json: Record<string, unknown> | undefined;
}

/** Sends any request (any method, body and headers) and reads the whole answer. */
export async function send(
  url: string,
  init: { method?: string; body?: RequestBody; headers?: Record<string, string> } = {},
): Promise<RawResponse> {
  const res = await fetch(url, {
    method: init.method ?? 'POST',
    headers: init.headers,
    body: init.body,
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const text = await res.text();
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {}
  return { status: res.status, headers: res.headers, text, json };
}

/** POSTs a form to the token endpoint (extra headers: e.g. `authorization`). */
export function requestToken(issuer: string, form: Record<string, string>, headers: Record<string, string> = {}) {
  return send(`${issuer}/oauth/token`, {
    headers: { 'content-type': FORM, ...headers },
    body: new URLSearchParams(form).toString(),
  });
}

/** A client_credentials token request authenticated with client_secret_basic. */
export function basicTokenRequest(issuer: string, client: { clientId: string; clientSecret: string }, form: Record<string, string>) {
  return requestToken(
    issuer,
    { grant_type: 'client_credentials', ...form },
    { authorization: basicAuth(client.clientId, client.clientSecret) },
  );
}

/** Asks `issuer`'s introspection endpoint about `token`, as `client` (client_secret_basic). */
export async function introspect(issuer: string, client: { clientId: string; clientSecret: string }, token: string) {
  const res = await send(`${issuer}/oauth/introspect`, {
    headers: { 'content-type': FORM, authorization: basicAuth(client.clientId, client.clientSecret) },
    body: new URLSearchParams({ token }).toString(),
  });
  expect(res.status, res.text).toBe(200);
  return res.json as Record<string, unknown>;
}

/** The discovery document (OIDC Discovery 1.0 §4). */
export async function discover(issuer: string): Promise<Record<string, unknown>> {
  const res = await send(`${issuer}/.well-known/openid-configuration`, { method: 'GET' });
  expect(res.status).toBe(200);
  return res.json as Record<string, unknown>;
}

/**
 * Asserts an RFC 6749 §5.2 error response: the status, JSON with `error` (and a string
 * `error_description`), and on 401 a `WWW-Authenticate` challenge naming the same error.
 */
export function expectOAuthError(res: RawResponse, status: number, error: string): void {
  expect({ status: res.status, error: res.json?.error }, res.text).toEqual({ status, error });
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  expect(typeof res.json?.error_description).toBe('string');
  expect(res.headers.get('cache-control'), 'RFC 6749 §5.2: errors are not cached either').toBe('no-store');
  if (status === 401) {
    const challenge = res.headers.get('www-authenticate') ?? '';
    expect(challenge).toMatch(/^Basic /);
    expect(challenge).toContain(`error="${error}"`);
  }
}

/** The `scope` value as a sorted list, for order-insensitive comparison. */
export function scopeSet(scope: unknown): string[] {
  return String(scope ?? '')
    .split(' ')
    .filter(Boolean)
    .sort();
}
