import type { Context } from 'koa';
import { errors } from 'oidc-provider';
import type { ClientRecord } from '../domain/applications/application.schema.ts';
import type { ApplicationService } from '../domain/applications/application.service.ts';
import { hasControlCharacters } from '../lib/control-characters.ts';

/**
 * Client authentication for the endpoints Gatehouse serves itself (introspection, revocation):
 * client_secret_basic (RFC 6749 §2.3.1, with its form-urlencoding of id and secret) or
 * client_secret_post. Public clients cannot authenticate, so they cannot call these endpoints.
 * Every failure is the same 401 `invalid_client`, so callers cannot probe which client ids exist.
 */
export async function authenticateClient(
  ctx: Context,
  form: Record<string, string>,
  applications: ApplicationService,
): Promise<ClientRecord> {
  // For the throttle, which counts failures per presented id (a Basic header it reads itself).
  ctx.state.presentedClientId = form.client_id;
  const credentials = readClientCredentials(ctx.get('authorization'), form);
  const record = await applications.findClient(credentials.clientId);
  // verifySecret does the same work for an unknown id (a dummy digest), so timing reveals no ids.
  if (!applications.verifySecret(record, credentials.secret) || !record) {
    throw new errors.InvalidClientAuth();
  }
  return record;
}

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

function formDecode(value: string): string {
  return decodeURIComponent(value.replace(/\+/g, '%20'));
}

/**
 * The client id and secret a request presents: client_secret_basic or client_secret_post, exactly
 * one of them. Throws invalid_request for a malformed header, invalid_client for none or another scheme.
 */
export function readClientCredentials(header: string, form: Record<string, string>): { clientId: string; secret: string } {
  if (header) {
    if (form.client_secret !== undefined)
      throw new errors.InvalidRequest('client authentication must only be provided using one mechanism');
    // RFC 6749 §5.2: another scheme is an "unsupported authentication method", so invalid_client;
    // a Basic header that cannot be parsed is a malformed request.
    if (!/^basic(\s|$)/i.test(header.trim())) throw new errors.InvalidClientAuth('unsupported authentication scheme');
    const match = /^Basic ([A-Za-z0-9+/]+={0,2})$/i.exec(header.trim());
    if (!match?.[1]) throw new errors.InvalidRequest('invalid authorization header value format');
    let decoded: string;
    try {
      decoded = STRICT_UTF8.decode(Buffer.from(match[1], 'base64'));
    } catch {
      throw new errors.InvalidRequest('client_id and client_secret in the authorization header are not properly encoded');
    }
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new errors.InvalidRequest('invalid authorization header value format');
    if (colon === 0) throw new errors.InvalidClientAuth('empty client id');
    let clientId: string;
    let secret: string;
    try {
      clientId = formDecode(decoded.slice(0, colon));
      secret = formDecode(decoded.slice(colon + 1));
    } catch {
      throw new errors.InvalidRequest('client_id and client_secret in the authorization header are not properly encoded');
    }
    if (form.client_id !== undefined && form.client_id !== clientId) throw new errors.InvalidRequest('client_id mismatch');
    if (!secret) throw new errors.InvalidClientAuth();
    return checked({ clientId, secret });
  }
  if (form.client_id && form.client_secret) return checked({ clientId: form.client_id, secret: form.client_secret });
  throw new errors.InvalidClientAuth();
}

/** Credentials with control characters name no client (lib/control-characters.ts): refused before any lookup. */
function checked(credentials: { clientId: string; secret: string }): { clientId: string; secret: string } {
  if (hasControlCharacters(credentials.clientId) || hasControlCharacters(credentials.secret)) throw new errors.InvalidClientAuth();
  return credentials;
}
