import { createHash } from 'node:crypto';
import type Router from '@koa/router';
import type { Context, Next } from 'koa';
import { ZodError, type ZodType, z } from 'zod';
import { holds, mayActOnOwn, type Principal } from '../../domain/access/principal.ts';
import { AppError } from '../../lib/app-error.ts';

export type { Principal };

/**
 * An admin API route, declared as data (STYLE.md §2): its method and path, the permission it
 * needs, zod schemas for path parameters, query, JSON body and response, the statuses it answers,
 * and a handler of a few lines that calls one service function. `mountRoutes` puts the guard in
 * front of every handler: inputs are parsed (a ZodError becomes a 400 problem at the error
 * boundary, naming each field), the permission is checked, and the answer is checked against the
 * declared statuses and passed through the response schema, which **strips** unknown fields, so
 * nothing the schema does not name (a digest, a secret) can leave by accident. The same
 * declarations are the OpenAPI document (openapi.ts).
 *
 * Conventions the guard applies to every route:
 * - **Who.** No principal: 401. A route's `permission` is a codename the caller must hold (403
 *   otherwise), unless the route says `own: true`: then a caller without the codename may still
 *   call it on objects that are their own (`scope: 'own'`; the handler narrows what it reads or
 *   changes, and an object outside the caller's reach is a 404, never a 403). A credential limited
 *   to reading (an API token with `read` scope) gets 403 on every unsafe method.
 * - **ETag.** Every answer that is one object carries a strong ETag (a digest of its JSON). A GET
 *   with a matching `If-None-Match` gets 304. A PATCH, PUT or DELETE of a route that declares
 *   `current` honours `If-Match` (412 when the object changed since): optimistic concurrency for
 *   people and scripts. Without If-Match the write is unconditional (no 428: the CLI and simple
 *   scripts need not read first). The check runs just before the write, not in its transaction:
 *   two writers racing within the same moment can both pass it.
 * - **Queries** are strict: an unknown parameter is a 400, never silently ignored (a misspelt
 *   filter would otherwise widen a list).
 */
declare module 'koa' {
  interface DefaultState {
    /** who the request acts as, set by the surface that authenticated it */
    principal?: Principal;
  }
}

/** `all`: the caller holds the route's codename; `own`: only their own objects (routes with `own: true`). */
export type AccessScope = 'all' | 'own';

export interface RouteInput<P extends ZodType, Q extends ZodType, B extends ZodType> {
  params: z.infer<P>;
  query: z.infer<Q>;
  body: z.infer<B>;
  principal: Principal;
  scope: AccessScope;
  ctx: Context;
}

export interface RouteResult<R extends ZodType> {
  /** defaults to the first declared status */
  status?: number;
  body?: z.input<R>;
}

export interface RouteDef<P extends ZodType, Q extends ZodType, B extends ZodType, R extends ZodType> {
  method: 'get' | 'post' | 'patch' | 'put' | 'delete';
  /** @koa/router syntax, relative to the API's base: `/applications/:id` */
  path: string;
  summary: string;
  /** OpenAPI tag (the resource) */
  tag?: string;
  /**
   * the codename the caller must hold (superusers hold every one); null: no codename — with
   * `public`, no authentication at all; without it, any authenticated caller (routes about the
   * caller itself: `/me`, `/access-check`)
   */
  permission: string | null;
  /** a POST that changes nothing (an access check): read-only credentials may call it */
  readsOnly?: boolean;
  /** callers without `permission` may still use the route on their own objects (see above) */
  own?: boolean;
  /** no authentication at all (the OpenAPI document and its page) */
  public?: boolean;
  params?: P;
  query?: Q;
  body?: B;
  /** the success body; omit for 204 */
  response?: R;
  /** the answer is a page of a list (no ETag) */
  list?: boolean;
  /** every status the route answers, the success status first */
  status: number[];
  /** the object as GET shows it, for If-Match on PATCH/PUT/DELETE */
  current?(input: RouteInput<P, Q, B>): Promise<unknown>;
  handle(input: RouteInput<P, Q, B>): Promise<RouteResult<R>>;
}

// biome-ignore lint/suspicious/noExplicitAny: a list of routes of every shape
export type AnyRoute = RouteDef<any, any, any, any>;

export function defineRoute<P extends ZodType, Q extends ZodType, B extends ZodType, R extends ZodType>(
  def: RouteDef<P, Q, B, R>,
): RouteDef<P, Q, B, R> {
  return def;
}

const JSON_BODY_LIMIT_BYTES = 1024 * 1024;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const NO_QUERY = z.strictObject({});

/** Registers `routes` on `router`, each behind its guard. */
export function mountRoutes(router: Router, routes: readonly AnyRoute[]): void {
  for (const route of routes) router[route.method](route.path, guarded(route));
}

/** JSON with its object keys sorted, so equal objects always give the same ETag. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/** The strong ETag of an object's JSON representation. */
export function etagOf(value: unknown): string {
  return `"${createHash('sha256').update(canonical(value)).digest('base64url').slice(0, 27)}"`;
}

/** RFC 9110 §13.1.1: `*`, or a list of entity tags compared strongly (a weak tag never matches). */
function ifMatchHolds(header: string, etag: string): boolean {
  const value = header.trim();
  if (value === '*') return true;
  return value.split(',').some((tag) => tag.trim() === etag);
}

/** RFC 9110 §13.1.2: weak comparison. */
function ifNoneMatchHolds(header: string, etag: string): boolean {
  const value = header.trim();
  if (value === '*') return true;
  const bare = etag.replace(/^W\//, '');
  return value.split(',').some((tag) => tag.trim().replace(/^W\//, '') === bare);
}

function authorise(route: AnyRoute, principal: Principal | undefined, method: string): AccessScope {
  if (!principal) throw new AppError('auth.unauthenticated', 'authentication required', { status: 401 });
  if (principal.credential?.readOnly && !SAFE_METHODS.has(method) && !route.readsOnly) {
    throw new AppError('auth.read_only_credential', 'this credential may only read (its scope is read)', { status: 403 });
  }
  if (route.permission === null) return 'all';
  const codename = route.permission;
  if (holds(principal, codename)) return 'all';
  if (route.own && mayActOnOwn(principal, codename)) return 'own';
  throw new AppError('auth.forbidden', `this needs the permission ${codename}`, { status: 403, details: { permission: codename } });
}

/** Parsed answers by the body object a handler returned (weakly: they go with it). */
const parsedBodies = new WeakMap<object, unknown>();

function guarded(route: AnyRoute) {
  return async function guardedRoute(ctx: Context, _next: Next): Promise<void> {
    const principal = ctx.state.principal;
    const scope: AccessScope = route.public ? 'all' : authorise(route, principal, ctx.method);
    const input = {
      params: route.params ? route.params.parse(ctx.params ?? {}) : {},
      query: (route.query ?? NO_QUERY).parse({ ...ctx.query }),
      body: route.body ? route.body.parse(await readJson(ctx)) : undefined,
      principal: principal as Principal,
      scope,
      ctx,
    };
    const ifMatch = ctx.get('if-match');
    if (ifMatch && route.current && ['PATCH', 'PUT', 'DELETE'].includes(ctx.method)) {
      const current = await route.current(input);
      if (!ifMatchHolds(ifMatch, etagOf(current))) {
        throw new AppError('request.precondition_failed', 'the object changed since you read it: read it again, then retry', {
          status: 412,
        });
      }
    }
    const result = await route.handle(input);
    const status = result.status ?? (route.status[0] as number);
    if (!route.status.includes(status)) {
      throw new AppError('route.undeclared_status', `${route.method} ${route.path} answered ${status}, which it does not declare`, {
        status: 500,
      });
    }
    ctx.status = status;
    if (status === 204) return;
    let body: unknown = result.body;
    // A body the handler kept and answers again (the same object: a kept list page) passed the
    // schema the first time; kept bodies are never changed, so its parse is kept beside it.
    const kept = typeof result.body === 'object' && result.body !== null ? parsedBodies.get(result.body) : undefined;
    if (kept !== undefined) body = kept;
    else if (route.response) {
      try {
        body = route.response.parse(result.body);
        if (typeof result.body === 'object' && result.body !== null) parsedBodies.set(result.body, body);
      } catch (err) {
        // Our answer does not match our own schema: a bug here, not a bad request.
        if (err instanceof ZodError) throw new AppError('route.invalid_response', 'internal error', { status: 500, cause: err });
        throw err;
      }
    }
    ctx.set('Cache-Control', 'no-store');
    if (!route.list && body !== undefined && route.response) {
      const etag = etagOf(body);
      ctx.set('ETag', etag);
      const ifNoneMatch = ctx.get('if-none-match');
      if (ctx.method === 'GET' && ifNoneMatch && ifNoneMatchHolds(ifNoneMatch, etag)) {
        ctx.status = 304;
        return;
      }
    }
    ctx.body = body;
  };
}

async function readJson(ctx: Context): Promise<unknown> {
  const declared = ctx.request.length;
  if (declared === 0 || (declared === undefined && !ctx.get('transfer-encoding'))) return {};
  if (!ctx.is('application/json')) {
    throw new AppError('request.unsupported_media_type', 'send the body as application/json', { status: 415 });
  }
  if (declared !== undefined && declared > JSON_BODY_LIMIT_BYTES) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > JSON_BODY_LIMIT_BYTES) throw tooLarge();
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new AppError('request.invalid_json', 'the body is not valid JSON', { status: 400 });
  }
}

const tooLarge = () => new AppError('request.too_large', `the body is larger than ${JSON_BODY_LIMIT_BYTES} bytes`, { status: 413 });
