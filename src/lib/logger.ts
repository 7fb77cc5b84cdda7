import pino, { type Logger } from 'pino';

const CENSOR = '[redacted]';

/**
 * Field names whose values are credentials wherever they appear in a log line, at any depth and in
 * any case or spelling: names are compared lower-cased with `-` and `_` removed, so `Authorization`,
 * `AuThOrIzAtIoN`, `client_secret`, `clientSecret` and `Client-Secret` all match. Secrets must never
 * be logged in the first place; this is the net under that rule (tests assert it).
 */
const CREDENTIAL_NAMES: ReadonlySet<string> = new Set([
  // HTTP headers (RFC 9110 §11.6.2, §11.7.2; RFC 6265; RFC 9449 DPoP proofs; common API-key headers)
  'authorization',
  'proxyauthorization',
  'cookie',
  'setcookie',
  'dpop',
  'xapikey',
  'apikey',
  // OAuth parameters that are credentials or grants (RFC 6749, 7636, 7521, 8628, 8693)
  'code',
  'codeverifier',
  'devicecode',
  'usercode',
  'assertion',
  'clientassertion',
  // Gatehouse's own
  'masterkey',
  'privatekey',
  'privatejwk',
  'pepper',
]);
/** …and any name ending in one of these: `access_token`, `refreshToken`, `new_password`, `api_secret`… */
const CREDENTIAL_SUFFIXES = [
  'token',
  'tokens',
  'secret',
  'secrets',
  'password',
  'passwd',
  'cookie',
  'authorization',
  'assertion',
  'apikey',
];

/** Decisions by exact field name: log lines reuse a small set of names, so each is decided once. */
const decided = new Map<string, boolean>();
const DECIDED_LIMIT = 4096;

/** Whether a field of this name holds a credential (see CREDENTIAL_NAMES). */
export function isCredentialName(name: string): boolean {
  const known = decided.get(name);
  if (known !== undefined) return known;
  const normalized = name.toLowerCase().replace(/[-_\s]/g, '');
  const answer = CREDENTIAL_NAMES.has(normalized) || CREDENTIAL_SUFFIXES.some((suffix) => normalized.endsWith(suffix));
  if (decided.size < DECIDED_LIMIT) decided.set(name, answer);
  return answer;
}

/** Deeper than this a log line is cut (`[truncated]`) rather than walked: nothing we log nests so far. */
const MAX_DEPTH = 10;

/**
 * `value` with every credential-named field blanked, at any depth (see isCredentialName). Copies
 * only what it changes, so the logged object itself is never altered and a line with nothing to
 * blank costs one look-up per field. Cycles become `[Circular]`; errors anywhere are serialized as
 * the `err` field is (serializeError); objects with `toJSON` (Date, Buffer, URL) are left whole.
 */
export function redactCredentials(value: unknown): unknown {
  return walk(value, 0, []);
}

function walk(value: unknown, depth: number, ancestors: object[]): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return serializeError(value);
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return value;
  if (depth >= MAX_DEPTH) return '[truncated]';
  if (ancestors.includes(value)) return '[Circular]';
  ancestors.push(value);
  try {
    if (Array.isArray(value)) {
      let copy: unknown[] | undefined;
      for (let i = 0; i < value.length; i++) {
        const field = value[i];
        const safe = walk(field, depth + 1, ancestors);
        if (safe !== field) {
          copy ??= value.slice();
          copy[i] = safe;
        }
      }
      return copy ?? value;
    }
    const record = value as Record<string, unknown>;
    let copy: Record<string, unknown> | undefined;
    for (const key of Object.keys(record)) {
      const field = record[key];
      const safe = redactField(key, field, depth, ancestors);
      if (safe !== field) {
        copy ??= { ...record };
        copy[key] = safe;
      }
    }
    return copy ?? value;
  } finally {
    ancestors.pop();
  }
}

function redactField(key: string, field: unknown, depth: number, ancestors: object[]): unknown {
  if (isCredentialName(key)) return field === undefined || field === null ? field : CENSOR;
  return walk(field, depth + 1, ancestors);
}

/** Fields of database errors that carry SQL or query parameters (a presented token, say). */
const QUERY_FIELDS = new Set(['params', 'parameters', 'query', 'sql', 'text', 'values', 'meta', 'internalQuery', 'where']);

/**
 * pino's error serializer, minus anything that carries a query or its parameters, through the
 * whole `cause` chain (a failing PGlite query logged `err.params`, a presented token among them),
 * and with credential-named fields blanked as everywhere else. An error's own `code` is its error
 * code (ECONNREFUSED, P2002, 57P01), not an authorization code, and is kept.
 */
export function serializeError(err: unknown): unknown {
  const serialized = pino.stdSerializers.err(err as Error) as unknown;
  const scrub = (value: unknown, depth: number): unknown => {
    if (!value || typeof value !== 'object' || depth > 8) return value;
    const out: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(value as Record<string, unknown>)) {
      if (QUERY_FIELDS.has(key)) out[key] = CENSOR;
      else if (key === 'cause' || key === 'aggregateErrors') out[key] = scrubAny(field, depth + 1);
      else if (key === 'code') out[key] = field;
      else out[key] = redactField(key, field, depth, []);
    }
    return out;
  };
  const scrubAny = (value: unknown, depth: number): unknown =>
    Array.isArray(value) ? value.map((v) => scrub(v, depth)) : scrub(value, depth);
  return scrub(serialized, 0);
}

/**
 * The root logger's `formatters.log`: every field of a line goes through redactCredentials, except
 * `err`, which pino hands to serializeError next (it redacts the same way).
 */
function redactLine(line: Record<string, unknown>): Record<string, unknown> {
  let copy: Record<string, unknown> | undefined;
  for (const key of Object.keys(line)) {
    if (key === 'err') continue;
    const field = line[key];
    const safe = redactField(key, field, 0, []);
    if (safe !== field) {
      copy ??= { ...line };
      copy[key] = safe;
    }
  }
  return copy ?? line;
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
  const root = pino(
    {
      level: options.level,
      name: options.name ?? 'gatehouse',
      base: { pid: process.pid },
      serializers: { err: serializeError },
      timestamp: isoTimeEachMillisecond,
      // Redaction by field name at any depth, whatever the case (pino's `redact` takes fixed,
      // case-sensitive paths).
      formatters: { level: (label) => ({ level: label }), log: redactLine },
    },
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
  // A child's bindings are written on each of its lines but never reach `formatters.log` (pino
  // gives children no bindings formatter): redact them once, when the child is made. Children
  // inherit this `child` from the root, so grandchildren are covered too.
  const child = root.child as unknown as (this: Logger, bindings: pino.Bindings, childOptions?: pino.ChildLoggerOptions) => Logger;
  root.child = function redactedChild(this: Logger, bindings: pino.Bindings, childOptions?: pino.ChildLoggerOptions) {
    return child.call(this, redactLine(bindings), childOptions);
  } as unknown as Logger['child'];
  return root;
}

/**
 * A child for per-request access lines without redaction. An access line carries only fixed,
 * non-secret fields (method, path without query, status, duration, request id), so the walk is
 * skipped for those lines and only for those.
 */
export function createAccessLogger(log: Logger): Logger {
  return log.child({}, { formatters: { log: (line: object) => line } });
}

export type { Logger };
