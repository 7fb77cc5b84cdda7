import { z } from 'zod';

/** Largest page a list returns: bigger requests are refused at validation, never silently clipped. */
export const MAX_PAGE_SIZE = 200;

/** Paging input shared by every list (the admin API maps `page_size` onto `pageSize`). */
export const PageQuery = z.object({
  /** 1-based */
  page: z.coerce.number().int().min(1).max(1_000_000).default(1),
  pageSize: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(20),
});
export type PageQuery = z.infer<typeof PageQuery>;

/** One page of a list, with the total count of items matching the filter. */
export interface Page<T> {
  items: T[];
  count: number;
  page: number;
  pageSize: number;
}

/** `skip`/`take` for a page. */
export function pageWindow(query: PageQuery): { skip: number; take: number } {
  return { skip: (query.page - 1) * query.pageSize, take: query.pageSize };
}
