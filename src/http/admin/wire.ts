import type { Context } from 'koa';
import { type ZodType, z } from 'zod';
import { MAX_PAGE_SIZE, type Page } from '../../lib/pagination.ts';

/** Conventions shared by the admin API's wire schemas (snake_case fields, ISO 8601 times). */

/** An object's `id` in a path or body: printable ASCII, no slash, bounded (never reaches a query otherwise). */
export const Id = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[\x21-\x2e\x30-\x7e]+$/, 'not an id');

export const ById = z.strictObject({ id: Id });

/** A time on the wire: ISO 8601 in UTC, or null. */
export const Timestamp = z.string().nullable();

/** A date as ISO 8601 (null stays null). */
export const iso = (d: Date | string | null | undefined): string | null => (d == null ? null : new Date(d).toISOString());

/** `true` or `false` in a query string. */
export const QueryBool = z.enum(['true', 'false']);
export const bool = (v: 'true' | 'false' | undefined): boolean | undefined => (v === undefined ? undefined : v === 'true');

/** A time in a query string (ISO 8601). */
export const QueryTime = z.iso.datetime({ offset: true });

/** The paging and ordering parameters every list takes, with its own filters. */
export function listQuery<const O extends readonly [string, ...string[]], F extends z.ZodRawShape>(orderBy: O, filters: F) {
  return z.strictObject({
    page: z.coerce.number().int().min(1).max(1_000_000).default(1).meta({ description: 'the page, from 1' }),
    page_size: z.coerce
      .number()
      .int()
      .min(1)
      .max(MAX_PAGE_SIZE)
      .default(20)
      .meta({ description: `items per page, at most ${MAX_PAGE_SIZE}` }),
    order_by: z
      .enum(orderBy)
      .optional()
      .meta({ description: `${orderBy.join(', ')} (a leading - reverses)` }),
    ...filters,
  });
}

/** A page of a list: the total count, links to the pages around it, and the items. */
export function paginated<T extends ZodType>(item: T) {
  return z.object({
    count: z.number().int(),
    next: z.string().nullable(),
    previous: z.string().nullable(),
    results: z.array(item),
  });
}

/** The link to another page of the list this request asked for (same filters), or null. */
function pageLink(ctx: Context, page: number): string {
  const params = new URLSearchParams(ctx.querystring);
  params.set('page', String(page));
  return `${ctx.path}?${params.toString()}`;
}

/** A page in its wire shape (`count`, `next`, `previous`, `results`). */
export function pageBody<T, W>(ctx: Context, page: Page<T>, toWire: (item: T) => W) {
  const last = Math.max(1, Math.ceil(page.count / page.pageSize));
  return {
    count: page.count,
    next: page.page < last ? pageLink(ctx, page.page + 1) : null,
    previous: page.page > 1 ? pageLink(ctx, Math.min(page.page - 1, last)) : null,
    results: page.items.map(toWire),
  };
}

/** A list already in memory (a user's own organisations) as one page of it. */
export function pageOf<T>(items: readonly T[], query: { page: number; page_size: number }): Page<T> {
  const start = (query.page - 1) * query.page_size;
  return { items: items.slice(start, start + query.page_size), count: items.length, page: query.page, pageSize: query.page_size };
}

/** Domain paging input from the wire's. */
export const paging = (query: { page: number; page_size: number }) => ({ page: query.page, pageSize: query.page_size });

/** RFC 9457 problem details, as every error of the admin API answers. */
export const ProblemWire = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string(),
  code: z.string(),
  details: z.record(z.string(), z.unknown()).optional(),
});

/** Where an object lives in the API (AWX's `url`). */
export const apiUrl = (path: string) => `/api/v1${path}`;
