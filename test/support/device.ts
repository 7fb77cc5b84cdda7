import { randomBytes } from 'node:crypto';
import type { Services } from '../../src/container.ts';
import { basicAuth } from './fixtures.ts';
import { browse, CookieJar, follow, formAction, type Hop, hiddenField } from './sign-in.ts';

/**
 * The device authorization grant (RFC 8628) scripted over HTTP: a device client, its requests to
 * the device authorization and token endpoints, and a person at the verification page (code entry,
 * the library's hand-over form, confirm, sign-in, done). test/e2e/flows/device-flow.spec.ts does
 * the person's part in Chromium.
 */

export const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

export interface DeviceClient {
  clientId: string;
  clientSecret: string | null;
}

/** A device application: public (no secret) or confidential, with refresh tokens unless told not. */
export async function makeDeviceClient(
  services: Services,
  options: { public?: boolean; refreshTokens?: boolean; apis?: Array<{ identifier: string; scopes?: string[] }>; name?: string } = {},
): Promise<DeviceClient> {
  const { application, clientSecret } = await services.applications.register(
    {
      name: options.name ?? `tv-${randomBytes(4).toString('hex')}`,
      clientType: options.public === false ? 'confidential' : 'public',
      grantTypes: options.refreshTokens === false ? [DEVICE_GRANT] : [DEVICE_GRANT, 'refresh_token'],
      apis: options.apis ?? [],
    },
    'test',
  );
  return { clientId: application.clientId, clientSecret };
}

/** A POST from the device: Basic for a confidential client, client_id in the form for a public one. */
export async function devicePost(base: string, path: string, client: DeviceClient, form: Record<string, string>) {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  const body = { ...form };
  if (client.clientSecret) headers.authorization = basicAuth(client.clientId, client.clientSecret);
  else body.client_id = client.clientId;
  const res = await fetch(`${base}${path}`, { method: 'POST', headers, body: new URLSearchParams(body).toString() });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // not JSON: the test looks at `text`
  }
  return { status: res.status, headers: res.headers, body: json, text };
}

export interface DeviceAuthorization {
  device_code: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete: string;
  expires_in: number;
  interval: number;
}

/** RFC 8628 §3.1–3.2: asks for a device code; throws unless it gets one. */
export async function authorizeDevice(base: string, client: DeviceClient, params: Record<string, string> = { scope: 'openid' }) {
  const res = await devicePost(base, '/oauth/device/code', client, params);
  if (res.status !== 200) throw new Error(`device authorization ${res.status}: ${res.text}`);
  return res.body as unknown as DeviceAuthorization;
}

/** RFC 8628 §3.4: one poll of the token endpoint. */
export function pollToken(base: string, client: DeviceClient, deviceCode: string) {
  return devicePost(base, '/oauth/token', client, { grant_type: DEVICE_GRANT, device_code: deviceCode });
}

/** The code-entry page: its form's action and CSRF field. */
export async function openEntry(base: string, jar: CookieJar) {
  const page = await browse(base, jar, '/device');
  const csrf = hiddenField(page.body, 'csrf');
  if (page.status !== 200 || !csrf) throw new Error(`no code-entry page (${page.status}): ${page.body.slice(0, 300)}`);
  return { page, csrf, action: formAction(page.body) ?? '/device' };
}

/** Types a code on the entry page; returns the answer (a 303 on to the confirm step, or the page again). */
export async function enterCode(base: string, jar: CookieJar, userCode: string): Promise<Hop> {
  const { csrf, action } = await openEntry(base, jar);
  return browse(base, jar, action, { csrf, user_code: userCode });
}

/**
 * From the library's hand-over page (GET /device?user_code=…, an auto-submitting form) to the
 * confirm page, as a browser does: posts the form it holds.
 */
export async function handOver(base: string, jar: CookieJar, hop: Hop): Promise<Hop> {
  const xsrf = hiddenField(hop.body, 'xsrf');
  const userCode = hiddenField(hop.body, 'user_code');
  if (hop.status !== 200 || !xsrf || !userCode) throw new Error(`no hand-over form (${hop.status}): ${hop.body.slice(0, 300)}`);
  return browse(base, jar, formAction(hop.body) ?? '/device', { xsrf, user_code: userCode });
}

/** From the entry page to the confirm page of `userCode`. */
export async function openConfirm(base: string, userCode: string, jar = new CookieJar()) {
  const entered = await enterCode(base, jar, userCode);
  if (entered.status !== 303 || !entered.location) throw new Error(`code not accepted (${entered.status}): ${entered.body.slice(0, 300)}`);
  const confirm = await handOver(base, jar, await browse(base, jar, entered.location));
  if (confirm.status !== 200 || !confirm.body.includes('name="confirm"')) {
    throw new Error(`no confirm page (${confirm.status}): ${confirm.body.slice(0, 300)}`);
  }
  return { jar, confirm };
}

/**
 * The person's whole part: code, confirm (Allow, or Deny when `deny`), sign-in when asked, until a
 * page answers at the end. Returns that page and the pages seen.
 */
export async function approveOnDevicePage(
  base: string,
  userCode: string,
  person: { username: string; password: string },
  options: { deny?: boolean; denyAtLogin?: boolean; jar?: CookieJar } = {},
) {
  const { jar, confirm } = await openConfirm(base, userCode, options.jar);
  const saw = ['confirm'];
  const fields: Record<string, string> = {
    xsrf: hiddenField(confirm.body, 'xsrf') as string,
    user_code: hiddenField(confirm.body, 'user_code') as string,
    confirm: 'yes',
  };
  if (options.deny) fields.abort = 'yes';
  let hop = await follow(base, jar, await browse(base, jar, formAction(confirm.body) as string, fields));
  for (let step = 0; step < 3 && hop.body.includes('name="password"'); step++) {
    saw.push('login');
    const csrf = hiddenField(hop.body, 'csrf') as string;
    if (options.denyAtLogin) {
      const cancel = /<form[^>]*action="([^"]*abort[^"]*)"/.exec(hop.body)?.[1]?.replace(/&amp;/g, '&') as string;
      hop = await follow(base, jar, await browse(base, jar, cancel, { csrf }));
    } else {
      hop = await follow(base, jar, await browse(base, jar, formAction(hop.body) as string, { csrf, ...person }));
    }
  }
  return { page: hop, saw, jar };
}

/** One browser request from a chosen client IP (the server must trust X-Forwarded-For: TRUST_PROXY). */
export async function browseFrom(base: string, jar: CookieJar, ip: string, target: string, form?: Record<string, string>): Promise<Hop> {
  const url = new URL(target, base);
  const headers: Record<string, string> = { accept: 'text/html', 'x-forwarded-for': ip };
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

/** Types `userCode` on the entry page from `ip`. */
export async function enterCodeFrom(base: string, jar: CookieJar, ip: string, userCode: string): Promise<Hop> {
  const page = await browseFrom(base, jar, ip, '/device');
  const csrf = hiddenField(page.body, 'csrf') as string;
  return browseFrom(base, jar, ip, '/device', { csrf, user_code: userCode });
}
