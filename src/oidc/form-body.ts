import type { IncomingMessage } from 'node:http';
import * as querystring from 'node:querystring';
import type { Context } from 'koa';
import { errors } from 'oidc-provider';
import { replayBodyToProvider } from './internals.ts';

/**
 * Request bodies of the OAuth endpoints: `application/x-www-form-urlencoded` (RFC 6749 §3.2,
 * RFC 7662 §2.1, RFC 7009 §2.1), read with a size limit. One reader for two uses:
 *
 * - `readForm`, for the endpoints Gatehouse answers itself (introspection, revocation): the form's
 *   parameters, each at most once (RFC 6749 §3.2), or an `invalid_request` answer.
 * - `readProviderForm`, at the token endpoint, in front of oidc-provider: the parameters exactly as
 *   oidc-provider 9.13 will parse them (lib/shared/selective_body.js: its size limit, the request's
 *   charset, node:querystring, repeated parameters as lists), so that Gatehouse's checks and its
 *   fast path judge the request the library would see; the bytes are then handed to the library to
 *   read again (`replay`). Anything the library would refuse to parse is left to it, unread.
 */

/** oidc-provider's own body limit (lib/shared/selective_body.js). */
export const PROVIDER_BODY_LIMIT_BYTES = 56 * 1024;

const FORM = 'application/x-www-form-urlencoded';

/** Form parameters as oidc-provider parses them: a repeated parameter is a list. */
export type ProviderParams = Readonly<Record<string, string | readonly string[] | undefined>>;

interface Read {
  chunks: Buffer[];
  received: number;
  /** the stream held more than the limit (reading stopped there) */
  overflow: boolean;
}

/** Reads `req` up to `limitBytes`; stops at the first chunk past it. */
async function readChunks(req: IncomingMessage, limitBytes: number): Promise<Read> {
  const chunks: Buffer[] = [];
  let received = 0;
  try {
    for await (const chunk of req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
      received += chunk.length;
      chunks.push(chunk);
      if (received > limitBytes) return { chunks, received, overflow: true };
    }
  } catch (cause) {
    // The client went away mid-body, mostly: http/client-abort.ts recognises the cause.
    throw new errors.InvalidRequest('failed to read the request body', undefined, { cause } as never);
  }
  return { chunks, received, overflow: false };
}

function tooLarge(): Error {
  const err = new errors.InvalidRequest('request body is too large');
  Object.assign(err, { status: 413, statusCode: 413 });
  return err;
}

/**
 * The parameters of a form body Gatehouse answers itself, at most `limitBytes` long (413 past it),
 * each sent once: a repeated one is `invalid_request` (RFC 6749 §3.2).
 */
export async function readForm(ctx: Context, limitBytes: number): Promise<Record<string, string>> {
  if (!ctx.is(FORM)) throw new errors.InvalidRequest('only application/x-www-form-urlencoded content-type bodies are supported');
  const declared = ctx.request.length;
  if (declared !== undefined && declared > limitBytes) throw tooLarge();
  const { chunks, received, overflow } = await readChunks(ctx.req, limitBytes);
  if (overflow) throw tooLarge();
  return parseForm(Buffer.concat(chunks, received).toString('utf8'));
}

/** The parameters of a form-urlencoded text; a repeated one is invalid_request (RFC 6749 §3.2). */
export function parseForm(text: string): Record<string, string> {
  const form: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(text)) {
    if (Object.hasOwn(form, key)) throw new errors.InvalidRequest(`'${key}' parameter must only be provided once`);
    form[key] = value;
  }
  return form;
}

/** The parameters when each was sent once, or null when one repeats. */
export function singleValued(params: ProviderParams): Readonly<Record<string, string>> | null {
  for (const key in params) if (typeof params[key] !== 'string') return null;
  return params as Readonly<Record<string, string>>;
}

export interface ProviderForm {
  params: ProviderParams;
  /** whether the parameters come from a form body (false: the request has no body type) */
  fromBody: boolean;
  /** Hands the bytes read to oidc-provider's own body parser; call before passing the request on. */
  replay(): void;
}

const NOTHING_READ: ProviderForm = { params: Object.freeze({}), fromBody: false, replay: () => {} };

/**
 * The token request's parameters as oidc-provider will parse them, or null when it will refuse to
 * parse the body (another content type, too long, a length that does not match, a charset it cannot
 * decode): the library then answers that request itself, from the same bytes.
 */
export async function readProviderForm(ctx: Context): Promise<ProviderForm | null> {
  if (!ctx.is(FORM)) {
    // selective_body.js: a body of another type is refused; a request without one has no parameters.
    return ctx.get('content-type') ? null : NOTHING_READ;
  }
  const { req } = ctx;
  const declared = ctx.request.length;
  if (req.readableEncoding || !req.readable || (declared !== undefined && declared > PROVIDER_BODY_LIMIT_BYTES)) return null;
  const { chunks, received, overflow } = await readChunks(req, PROVIDER_BODY_LIMIT_BYTES);
  const replay = () => replayBodyToProvider(req, chunks, overflow);
  if (overflow || (declared !== undefined && received !== declared)) {
    replay();
    return null;
  }
  let text: string;
  try {
    const body = Buffer.concat(chunks, received);
    text = ctx.request.charset ? new TextDecoder(ctx.request.charset).decode(body) : body.toString();
  } catch {
    replay();
    return null;
  }
  return { params: querystring.parse(text), fromBody: true, replay };
}
