import type { Context } from 'koa';
import { errors } from 'oidc-provider';

/**
 * Reads an `application/x-www-form-urlencoded` body (RFC 6749 §3.2, RFC 7662 §2.1) with a size
 * limit, and rejects repeated parameters (RFC 6749 §3.2: "Request and response parameters MUST
 * NOT be included more than once").
 */
export async function readForm(ctx: Context, limitBytes: number): Promise<Record<string, string>> {
  if (!ctx.is('application/x-www-form-urlencoded')) {
    throw new errors.InvalidRequest('only application/x-www-form-urlencoded content-type bodies are supported');
  }
  const declared = ctx.request.length;
  if (declared !== undefined && declared > limitBytes) throw tooLarge();
  const chunks: Buffer[] = [];
  let received = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    received += chunk.length;
    if (received > limitBytes) throw tooLarge();
    chunks.push(chunk);
  }
  return parseForm(Buffer.concat(chunks, received).toString('utf8'));
}

/** The parameters of a form-urlencoded body; a repeated one is invalid_request (RFC 6749 §3.2). */
export function parseForm(text: string): Record<string, string> {
  const form: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(text)) {
    if (Object.hasOwn(form, key)) throw new errors.InvalidRequest(`'${key}' parameter must only be provided once`);
    form[key] = value;
  }
  return form;
}

function tooLarge(): Error {
  const err = new errors.InvalidRequest('request body is too large');
  Object.assign(err, { status: 413, statusCode: 413 });
  return err;
}
