import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';

/**
 * Counts the SQL statements this process sends, on either database: every PostgreSQL statement
 * passes through `pg.Client#query` (pooled connections included), every PGlite statement through
 * `PGlite#_runExclusiveQuery` (queries, scripts and each statement of a transaction). For tests
 * that prove a path costs no query; an in-process test server shares these classes.
 */
export function countStatements(): { readonly count: number; reset(): void; restore(): void } {
  let count = 0;
  const pgProto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const pgliteProto = PGlite.prototype as unknown as { _runExclusiveQuery: (...args: unknown[]) => unknown };
  const originalQuery = pgProto.query;
  const originalRun = pgliteProto._runExclusiveQuery;
  pgProto.query = function countedQuery(this: unknown, ...args: unknown[]) {
    count++;
    return originalQuery.apply(this, args);
  };
  pgliteProto._runExclusiveQuery = function countedRun(this: unknown, ...args: unknown[]) {
    count++;
    return originalRun.apply(this, args);
  };
  return {
    get count() {
      return count;
    },
    reset() {
      count = 0;
    },
    restore() {
      pgProto.query = originalQuery;
      pgliteProto._runExclusiveQuery = originalRun;
    },
  };
}
