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
