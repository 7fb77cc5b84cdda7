import { errors } from 'oidc-provider';
import type { ClientRecord } from '../domain/applications/application.schema.ts';
import type { ApplicationService } from '../domain/applications/application.service.ts';
import { hasControlCharacters } from '../lib/control-characters.ts';

/**
 * Client authentication (RFC 6749 §2.3): how a request presents its client, and whether that
 * client is who it says. The one implementation behind every endpoint Gatehouse answers itself
 * (introspection, revocation, the token fast path) and the checks it makes in front of
 * oidc-provider's token endpoint (token-endpoint-checks.ts).
 *
 * Credentials are read exactly as oidc-provider 9.13 reads them at its token endpoint
 * (lib/shared/client_auth.js), so that both sides of Gatehouse agree on every request: the
 * `client_secret_basic` header with its form-urlencoded id and secret (printable ASCII only),
 * `client_secret_post`, or a bare `client_id` (method `none`, public clients). Where RFC 6749 §5.2
 * says so, Gatehouse answers `invalid_client` where the library says `invalid_request`: no client
 * authentication at all, an Authorization scheme other than Basic ("unsupported authentication
 * method"), an empty id or secret in the Basic header. A Basic header that cannot be read stays
 * `invalid_request` ("otherwise malformed").
 */

/** The credentials a request presents. */
export type PresentedClient =
  | { method: 'client_secret_basic' | 'client_secret_post'; clientId: string; secret: string }
  | { method: 'none'; clientId: string };

/** Why a request's client authentication failed: the OAuth error, and the client id it named, if any. */
export interface ClientAuthFailure {
  failure: 'invalid_client' | 'invalid_request';
  /** for invalid_request, the answer's description; for invalid_client, detail for the logs only */
  description: string;
  /** the client id the request presented (the throttle counts failures per id) */
  clientId?: string | undefined;
}

/** Form parameters as parsed: a repeated one is a list. */
export type AuthParams = Readonly<Record<string, string | readonly string[] | undefined>>;

export const isClientAuthFailure = (value: object): value is ClientAuthFailure => 'failure' in value;

const invalidRequest = (description: string, clientId?: string): ClientAuthFailure => ({
  failure: 'invalid_request',
  description,
  clientId,
});
const invalidClient = (description: string, clientId?: string): ClientAuthFailure => ({ failure: 'invalid_client', description, clientId });

const MALFORMED_HEADER = 'invalid authorization header value format';
const BADLY_ENCODED = 'client_id and client_secret in the authorization header are not properly encoded';

/** Base64 (RFC 4648 §4) with correct padding, or none where the length allows it. */
function isBase64(value: string): boolean {
  const match = /^([A-Za-z0-9+/]+)(={0,2})$/.exec(value);
  if (!match?.[1]) return false;
  const [, data, padding = ''] = match;
  const remainder = data.length % 4;
  if (!padding) return remainder !== 1;
  return (data.length + padding.length) % 4 === 0 && padding.length === 4 - remainder;
}

/**
 * One half of the Basic credentials: form-urlencoded (RFC 6749 §2.3.1), and printable ASCII once
 * decoded (RFC 6749 Appendix A.1-A.2, VSCHAR), or null.
 */
function decodeBasicPart(value: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(value.replace(/\+/g, '%20'));
  } catch {
    return null;
  }
  return /^[\x20-\x7E]*$/.test(decoded) ? decoded : null;
}

/** A parameter sent at most once; an empty one is absent (as oidc-provider reads parameters). */
function single(params: AuthParams, name: string): string | undefined | ClientAuthFailure {
  const value = params[name];
  if (typeof value === 'string' || value === undefined) return value || undefined;
  return invalidRequest(`'${name}' parameter must only be provided once`);
}

/**
 * The client a request presents, from its Authorization header (undefined when absent) and its
 * form parameters; or why it presents none that can be used.
 */
export function readPresentedClient(authorization: string | undefined, params: AuthParams): PresentedClient | ClientAuthFailure {
  const clientId = single(params, 'client_id');
  if (typeof clientId === 'object') return clientId;
  const secret = single(params, 'client_secret');
  if (typeof secret === 'object') return secret;

  // RFC 6749 §2.3.1: a client MUST NOT use more than one authentication method in each request.
  if (authorization && secret) return invalidRequest('client authentication must only be provided using one mechanism', clientId);
  if (secret) {
    if (!clientId) return invalidClient('client_secret without client_id');
    return { method: 'client_secret_post', clientId, secret };
  }
  if (authorization !== undefined) {
    const parts = authorization.split(' ');
    const [scheme = '', credentials = ''] = parts;
    if (parts.length !== 2 || scheme.toLowerCase() !== 'basic') {
      // RFC 6749 §5.2: another scheme is an "unsupported authentication method" (invalid_client);
      // a Basic header that cannot be parsed is malformed (invalid_request).
      const named = authorization.trim().split(' ')[0] ?? '';
      return named.toLowerCase() === 'basic' ? invalidRequest(MALFORMED_HEADER) : invalidClient('unsupported authentication scheme');
    }
    if (!isBase64(credentials)) return invalidRequest(MALFORMED_HEADER);
    const decoded = Buffer.from(credentials, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return invalidRequest(MALFORMED_HEADER);
    const basicId = decodeBasicPart(decoded.slice(0, colon));
    const basicSecret = decodeBasicPart(decoded.slice(colon + 1));
    if (basicId === null || basicSecret === null) return invalidRequest(BADLY_ENCODED);
    if (clientId !== undefined && clientId !== basicId) return invalidRequest('client_id mismatch', clientId);
    if (!basicSecret) return invalidClient('empty client_secret in the Authorization header', basicId || undefined);
    if (!basicId) return invalidClient('empty client_id in the Authorization header');
    return { method: 'client_secret_basic', clientId: basicId, secret: basicSecret };
  }
  if (clientId) return { method: 'none', clientId };
  return invalidClient('no client authentication mechanism provided');
}

/** Whether oidc-provider knows `record` as a client that authenticates with its secret (client-metadata.ts). */
export const usesSecret = (record: ClientRecord): boolean => record.clientType === 'confidential' && !!record.clientSecretDigest;

export interface AuthenticateOptions {
  /**
   * Accept a bare `client_id` for a public client (method `none`), as oidc-provider's token
   * endpoint does. Gatehouse's own endpoints serve confidential clients only (RFC 7662 §2.1,
   * RFC 7009 §2.1 for their backends), so they leave it off.
   */
  publicClients?: boolean;
}

/**
 * The client a request authenticates, or why it does not.
 *
 * A secret is checked against its keyed digest in constant time, and an unknown, inactive or
 * public client costs the same work (ApplicationService.verifySecret), so timing reveals no ids;
 * every such failure is the same `invalid_client`. The client record comes from the application
 * cache: no query on the hot path.
 */
export async function authenticateClient(
  applications: Pick<ApplicationService, 'findClient' | 'verifySecret'>,
  presented: PresentedClient | ClientAuthFailure,
  options: AuthenticateOptions = {},
): Promise<{ client: ClientRecord } | ClientAuthFailure> {
  if (isClientAuthFailure(presented)) return presented;
  const { clientId } = presented;
  const failed = invalidClient('client authentication failed', clientId);
  if (presented.method === 'none') {
    if (!options.publicClients || hasControlCharacters(clientId)) return failed;
    const record = await applications.findClient(clientId);
    return record?.isActive && !usesSecret(record) ? { client: record } : failed;
  }
  // A control character names no client (lib/control-characters.ts): no lookup, the same work.
  const record = hasControlCharacters(clientId) || hasControlCharacters(presented.secret) ? null : await applications.findClient(clientId);
  if (!applications.verifySecret(record, presented.secret) || !record || !usesSecret(record)) return failed;
  return { client: record };
}

/** A failure as the error oidc-provider's endpoints answer it with (RFC 6749 §5.2). */
export function clientAuthError(failure: ClientAuthFailure): Error {
  if (failure.failure === 'invalid_request') return new errors.InvalidRequest(failure.description);
  return new errors.InvalidClientAuth(failure.description);
}
