import type { Logger } from 'pino';

/**
 * Is this error the database being away (stopped, restarting, unreachable, the connection cut),
 * rather than a fault in the query or in our code? Such a request may succeed if retried in a
 * few seconds, so it is answered 503 with Retry-After (http/unavailable.ts), not 500.
 *
 * The same outage reaches us in several wrappings, so the whole chain is searched: `cause`,
 * Prisma's `meta.driverAdapterError`, AggregateError's `errors` (Node tries each address of a host).
 * Recognised, at any level:
 * - socket errors: ECONNREFUSED, ECONNRESET, ETIMEDOUT, EPIPE, EHOSTUNREACH, ENETUNREACH,
 *   ECONNABORTED, and name lookup failures (ENOTFOUND, EAI_AGAIN);
 * - SQLSTATE class 08 (connection exception) and 57P01 admin_shutdown, 57P02 crash_shutdown,
 *   57P03 cannot_connect_now (https://www.postgresql.org/docs/15/errcodes-appendix.html);
 * - Prisma's P1001 (can't reach the server), P1002 (timed out reaching it), P1008 (socket
 *   timeout, as @prisma/adapter-pg maps ETIMEDOUT), P1017 (the server closed the connection),
 *   and @prisma/adapter-pg's error kinds behind them (DatabaseNotReachable, ConnectionClosed,
 *   SocketTimeout);
 * - the errors node-postgres and pg-pool raise without a code when a connection ends or cannot be
 *   made in time: matched by their exact text, the only thing they carry.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  return findUnavailable(err) !== undefined;
}

const SOCKET_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNABORTED',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
const SHUTDOWN_SQLSTATES: ReadonlySet<string> = new Set(['57P01', '57P02', '57P03']);
const SQLSTATE = /^[0-9A-Z]{5}$/;
const PRISMA_CODES: ReadonlySet<string> = new Set(['P1001', 'P1002', 'P1008', 'P1017']);
const ADAPTER_KINDS: ReadonlySet<string> = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout']);
/** node-postgres (lib/client.js) and pg-pool (index.js) give these no code. */
const DRIVER_MESSAGES: ReadonlySet<string> = new Set([
  'Connection terminated unexpectedly',
  'Connection terminated due to connection timeout',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error and is not queryable',
]);

/** How many linked errors to look at: chains are short, and a cycle must not loop forever. */
const MAX_VISITED = 32;

interface ErrorLike {
  code?: unknown;
  errorCode?: unknown;
  kind?: unknown;
  message?: unknown;
  cause?: unknown;
  errors?: unknown;
  meta?: { driverAdapterError?: unknown } | null;
}

/** The first error in the chain that says the database is away, for a log line; or undefined. */
export function findUnavailable(err: unknown): ErrorLike | undefined {
  const queue: unknown[] = [err];
  const seen = new Set<unknown>();
  while (queue.length && seen.size < MAX_VISITED) {
    const value = queue.shift();
    if (!value || typeof value !== 'object' || seen.has(value)) continue;
    seen.add(value);
    const e = value as ErrorLike;
    if (saysUnavailable(e)) return e;
    queue.push(e.cause, e.meta?.driverAdapterError);
    if (Array.isArray(e.errors)) queue.push(...e.errors);
  }
  return undefined;
}

function saysUnavailable(e: ErrorLike): boolean {
  const code = typeof e.code === 'string' ? e.code : typeof e.errorCode === 'string' ? e.errorCode : undefined;
  if (code !== undefined) {
    if (SOCKET_CODES.has(code) || PRISMA_CODES.has(code) || SHUTDOWN_SQLSTATES.has(code)) return true;
    if (SQLSTATE.test(code) && code.startsWith('08')) return true;
  }
  if (typeof e.kind === 'string' && ADAPTER_KINDS.has(e.kind)) return true;
  return typeof e.message === 'string' && DRIVER_MESSAGES.has(e.message);
}

/**
 * What an outage log line says about its error: its code as `reason` (a field named `code` is
 * blanked by the log redaction, which takes it for an authorization code), and the driver's or
 * socket's own message (Prisma's can quote the call that failed, so theirs is left out). No query,
 * no parameter.
 */
export function describeUnavailable(err: unknown): { reason?: string; message?: string } {
  const found = findUnavailable(err);
  if (!found) return {};
  const code =
    typeof found.code === 'string'
      ? found.code
      : typeof found.errorCode === 'string'
        ? found.errorCode
        : typeof found.kind === 'string'
          ? found.kind
          : undefined;
  const message = typeof found.message === 'string' && !(code && PRISMA_CODES.has(code)) ? found.message : undefined;
  return { ...(code ? { reason: code } : {}), ...(message ? { message } : {}) };
}

/** An outage shorter than this apart from the previous failure belongs to the same burst. */
const BURST_GAP_MS = 30_000;

/**
 * Logs database outages once per burst: the first failure after a quiet spell at warn, the rest of
 * the burst at debug. A stopped database fails every request and every pooled connection; one line
 * says so, not one per request.
 */
export function createOutageLog(log: Logger, message: string, now: () => number = Date.now): (err: unknown) => void {
  let last = Number.NEGATIVE_INFINITY;
  return (err) => {
    const at = now();
    const first = at - last > BURST_GAP_MS;
    last = at;
    const fields = { database: describeUnavailable(err) };
    if (first) log.warn(fields, message);
    else log.debug(fields, message);
  };
}
