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

export function createLogger(options: { level: string; destination?: pino.DestinationStream; name?: string }): Logger {
  return pino(
    {
      level: options.level,
      name: options.name ?? 'gatehouse',
      base: { pid: process.pid },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination,
  );
}

export type { Logger };
