import pino, { type Logger } from 'pino';

/**
 * Paths pino blanks out wherever they appear in a log line. Secrets must never be logged in the
 * first place; this is the net under that rule (a test asserts it).
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  '*.password',
  '*.client_secret',
  '*.clientSecret',
  '*.secret',
  '*.token',
  '*.access_token',
  '*.refresh_token',
  '*.id_token',
  '*.code',
  '*.code_verifier',
  '*.masterKey',
  'client_secret',
  'clientSecret',
  'password',
  'token',
];

/** Fields of database errors that carry SQL or query parameters (a presented token, say). */
const QUERY_FIELDS = new Set(['params', 'parameters', 'query', 'sql', 'text', 'values', 'meta', 'internalQuery', 'where']);

/**
 * pino's error serializer, minus anything that carries a query or its parameters, through the
 * whole `cause` chain: a failing PGlite query logged `err.params`, a presented token among them.
 */
export function serializeError(err: unknown): unknown {
  const serialized = pino.stdSerializers.err(err as Error) as unknown;
  const scrub = (value: unknown, depth: number): unknown => {
    if (!value || typeof value !== 'object' || depth > 8) return value;
    const out: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(value as Record<string, unknown>)) {
      if (QUERY_FIELDS.has(key)) out[key] = '[redacted]';
      else out[key] = key === 'cause' || key === 'aggregateErrors' ? scrubAny(field, depth + 1) : field;
    }
    return out;
  };
  const scrubAny = (value: unknown, depth: number): unknown =>
    Array.isArray(value) ? value.map((v) => scrub(v, depth)) : scrub(value, depth);
  return scrub(serialized, 0);
}

/**
 * pino's ISO timestamp, formatted once per millisecond rather than once per line: a busy server
 * logs several lines a millisecond, and `toISOString` was a visible share of each request.
 */
let lastMs = 0;
let lastTime = '';
function isoTimeEachMillisecond(): string {
  const now = Date.now();
  if (now !== lastMs) {
    lastMs = now;
    lastTime = `,"time":"${new Date(now).toISOString()}"`;
  }
  return lastTime;
}

/**
 * The root logger. Without a destination it writes to stdout asynchronously: a line is written at
 * once when stdout is idle, and lines logged while a write is in flight go out together in the next
 * one, so a busy server makes one write per batch rather than one per request. Call `log.flush()`
 * before exiting (serve does).
 */
export function createLogger(options: { level: string; destination?: pino.DestinationStream; name?: string }): Logger {
  return pino(
    {
      level: options.level,
      name: options.name ?? 'gatehouse',
      base: { pid: process.pid },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      serializers: { err: serializeError },
      timestamp: isoTimeEachMillisecond,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

/**
 * A child for per-request access lines without redaction. Redaction costs about 15 µs a line, and
 * an access line carries only fixed, non-secret fields (method, path without query, status,
 * duration, request id), so it is skipped for those lines and only for those.
 */
export function createAccessLogger(log: Logger): Logger {
  return log.child({}, { redact: [] });
}

export type { Logger };
