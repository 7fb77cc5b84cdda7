import { Prisma } from './generated/client.ts';

/**
 * Prisma errors are mapped here and nowhere else. Only the two a caller can act on get a meaning;
 * every other error propagates unchanged and becomes a 500 at the HTTP boundary.
 */

/** P2002: a unique constraint failed. The caller turns it into its own "already exists" error. */
export function isUniqueViolation(err: unknown, field?: string): boolean {
  if (isPgliteUniqueViolation(err)) return !field || JSON.stringify(err.cause).includes(field);
  if (!(err instanceof Prisma.PrismaClientKnownRequestError) || err.code !== 'P2002') return false;
  if (!field) return true;
  const target = (err.meta?.target ?? err.meta?.driverAdapterError) as unknown;
  return JSON.stringify(target ?? '').includes(field);
}

/**
 * pglite-prisma-adapter 0.6 passes PostgreSQL errors through raw (`{ kind: 'postgres', code }`),
 * which Prisma 6.19 rethrows as a DriverAdapterError instead of mapping 23505 to P2002.
 */
function isPgliteUniqueViolation(err: unknown): err is Error & { cause: { kind: string; code: string } } {
  const cause = (err as { cause?: { kind?: unknown; code?: unknown } } | null)?.cause;
  return err instanceof Error && err.name === 'DriverAdapterError' && cause?.kind === 'postgres' && cause.code === '23505';
}

/** P2025: the record to update or delete does not exist. Stores return null for it. */
export function isRecordNotFound(err: unknown): boolean {
  return err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2025';
}
