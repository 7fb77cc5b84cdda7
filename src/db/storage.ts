import type { PrismaClient, Tx } from './database.ts';
import { isRecordNotFound, isUniqueViolation } from './prisma-errors.ts';

/**
 * The storage contract every domain store follows (STYLE.md §4):
 * - A store is `create<X>Store(deps)` returning an object that implements its declared
 *   `<X>Store` interface. Every method takes the executor first: `store.findById(db, id)`.
 * - An executor is the database or a transaction in progress; a store never opens transactions.
 * - Services receive a `Storage` (never Prisma): `storage.transaction(tx => …)` for writes, and
 *   `storage.db` to pass to reads outside a transaction. They do not call Prisma themselves.
 * - A unique violation becomes `ConflictError`, once, here (`transaction` maps it; a store that
 *   writes outside a transaction uses `translateStorageError`). `find*` return null when absent;
 *   an update or delete of a missing row becomes `NotFoundError`. Every other error propagates.
 */

/** What a store runs its statements on: the database, or a transaction in progress. */
export type Executor = PrismaClient | Tx;

/** A unique constraint refused a write. `fields` names the columns, when the driver said which. */
export class ConflictError extends Error {
  constructor(
    readonly fields: readonly string[],
    options?: ErrorOptions,
  ) {
    super(`unique constraint violated${fields.length ? ` on ${fields.join(', ')}` : ''}`, options);
    this.name = 'ConflictError';
  }

  /** Whether the violated constraint covers `field` (a column name, or its camelCase model field). */
  concerns(field: string): boolean {
    const snake = field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    return this.fields.length === 0 || this.fields.some((f) => f === field || f === snake || f.includes(snake));
  }
}

/** The row an update or delete named does not exist. */
export class NotFoundError extends Error {
  constructor(message = 'record not found', options?: ErrorOptions) {
    super(message, options);
    this.name = 'NotFoundError';
  }
}

/** Maps a database error to ConflictError / NotFoundError; returns any other error unchanged. */
export function translateStorageError(err: unknown): unknown {
  if (err instanceof ConflictError || err instanceof NotFoundError) return err;
  if (isUniqueViolation(err)) return new ConflictError(conflictFields(err), { cause: err });
  if (isRecordNotFound(err)) return new NotFoundError(undefined, { cause: err });
  return err;
}

function conflictFields(err: unknown): string[] {
  const meta = (err as { meta?: { target?: unknown } }).meta;
  if (Array.isArray(meta?.target)) return meta.target.map(String);
  if (typeof meta?.target === 'string') return [meta.target];
  // Driver adapters report it elsewhere: @prisma/adapter-pg as `constraint.fields` of the adapter
  // error, pglite-prisma-adapter in PostgreSQL's detail text ("Key (identifier)=(…) already exists").
  const text = JSON.stringify([(err as { cause?: unknown }).cause ?? null, meta ?? null]);
  const fields = /"fields":\[([^\]]*)\]/.exec(text)?.[1] ?? /Key \(([^)]+)\)/.exec(text)?.[1];
  return fields ? fields.split(',').map((s) => s.trim().replace(/^\\?"|\\?"$/g, '')) : [];
}

export interface Storage {
  /** the executor for reads outside a transaction */
  readonly db: Executor;
  /** Runs `fn` in one transaction (committed when it resolves), mapping storage errors. */
  transaction<T>(fn: (tx: Executor) => Promise<T>, options?: { timeoutMs?: number }): Promise<T>;
}

export function createStorage(prisma: PrismaClient): Storage {
  return {
    db: prisma,
    async transaction(fn, options) {
      try {
        return await prisma.$transaction((tx) => fn(tx), options?.timeoutMs ? { timeout: options.timeoutMs } : undefined);
      } catch (err) {
        throw translateStorageError(err);
      }
    },
  };
}
