import type Router from '@koa/router';
import type { Context, Next } from 'koa';
import type { ZodType, z } from 'zod';
import { holds, type Principal } from '../../domain/access/principal.ts';
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
 * declarations are the OpenAPI document.
 */
declare module 'koa' {
  interface DefaultState {
    /** who the request acts as, set by the surface that authenticated it */
    principal?: Principal;
  }
}

export interface RouteInput<P extends ZodType, Q extends ZodType, B extends ZodType> {
  params: z.infer<P>;
  query: z.infer<Q>;
  body: z.infer<B>;
  principal: Principal;
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
  /**
   * the codename the caller must hold (superusers hold every one); null: any authenticated caller,
   * for routes about the caller itself (`/me`, `/access-check`)
   */
  permission: string | null;
  params?: P;
  query?: Q;
  body?: B;
  /** the success body; omit for 204 */
  response?: R;
  /** every status the route answers, the success status first */
  status: number[];
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

/** Registers `routes` on `router`, each behind its guard. */
export function mountRoutes(router: Router, routes: readonly AnyRoute[]): void {
  for (const route of routes) router[route.method](route.path, guarded(route));
}

function guarded(route: AnyRoute) {
  return async function guardedRoute(ctx: Context, _next: Next): Promise<void> {
    const principal = ctx.state.principal;
    if (!principal) throw new AppError('auth.unauthenticated', 'authentication required', { status: 401 });
    if (route.permission !== null && !holds(principal, route.permission)) {
      throw new AppError('auth.forbidden', `this needs the permission ${route.permission}`, { status: 403 });
    }
    const input = {
      params: route.params ? route.params.parse(ctx.params ?? {}) : {},
      query: route.query ? route.query.parse({ ...ctx.query }) : {},
      body: route.body ? route.body.parse(await readJson(ctx)) : undefined,
      principal,
      ctx,
    };
    const result = await route.handle(input);
    const status = result.status ?? (route.status[0] as number);
    if (!route.status.includes(status)) {
      throw new AppError('route.undeclared_status', `${route.method} ${route.path} answered ${status}, which it does not declare`, {
        status: 500,
      });
    }
    ctx.status = status;
    if (status === 204) return;
    ctx.body = route.response ? route.response.parse(result.body) : result.body;
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
