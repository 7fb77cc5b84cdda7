import { chmodSync, rmSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { ZodError } from 'zod';
import type { Services } from '../container.ts';
import { AppError } from '../lib/app-error.ts';
import { isOperationName, runOperation } from './operations.ts';

/**
 * The embedded database belongs to one process (DESIGN.md §1), so while a server runs, the CLI
 * cannot open it. Instead the server listens on a Unix socket in its data directory and runs the
 * CLI's operations for it. Access control is the file system: the socket is mode 0600 inside the
 * 0700 data directory, like the database files themselves.
 *
 * Wire format: `POST /operations/<name>` with `{ input, actor }`; the answer is
 * `{ result }` or `{ error: { code, message, status, details } }`.
 */
export const CONTROL_SOCKET_NAME = 'gatehouse.sock';

export function controlSocketPath(dataDir: string): string {
  return join(dataDir, CONTROL_SOCKET_NAME);
}

export interface ControlSocket {
  close(): Promise<void>;
}

export interface RemoteError {
  code: string;
  message: string;
  status: number;
  details?: Record<string, unknown>;
}

const MAX_REQUEST_BYTES = 1024 * 1024;

export async function startControlSocket(dataDir: string, services: Services, log: Logger): Promise<ControlSocket> {
  const path = controlSocketPath(dataDir);
  if (Buffer.byteLength(path) > 100) {
    log.warn({ path }, 'data directory path too long for a Unix socket: the CLI cannot reach this server while it runs');
    return { close: async () => {} };
  }
  rmSync(path, { force: true }); // a leftover from a crash; we hold the data-directory lock

  const server = createServer(async (req, res) => {
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const name = req.url?.startsWith('/operations/') ? req.url.slice('/operations/'.length) : '';
    if (req.method !== 'POST' || !isOperationName(name)) {
      reply(404, { error: { code: 'operation.unknown', message: `unknown operation ${name}`, status: 404 } });
      return;
    }
    try {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of req as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > MAX_REQUEST_BYTES) throw new AppError('operation.too_large', 'request too large', { status: 413 });
        chunks.push(chunk);
      }
      const { input, actor } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { input: unknown; actor: unknown };
      const result = await runOperation(services, name, input, typeof actor === 'string' ? actor : 'cli:unknown');
      log.info({ operation: name, actor }, 'control operation');
      reply(200, { result: result ?? null });
    } catch (err) {
      reply(...toRemoteError(err, log));
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  chmodSync(path, 0o600);
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        rmSync(path, { force: true });
      }),
  };
}

function toRemoteError(err: unknown, log: Logger): [number, { error: RemoteError }] {
  if (err instanceof AppError && err.expose) {
    return [err.status, { error: { code: err.code, message: err.message, status: err.status, details: err.details } }];
  }
  if (err instanceof ZodError) {
    const message = err.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; ');
    return [400, { error: { code: 'guard.invalid_input', message, status: 400 } }];
  }
  if (err instanceof SyntaxError) return [400, { error: { code: 'operation.bad_json', message: 'request is not JSON', status: 400 } }];
  log.error({ err }, 'control operation failed');
  return [500, { error: { code: 'internal', message: 'internal error (see the server log)', status: 500 } }];
}

/** Client side: runs an operation in the server that owns `dataDir`. */
export function callControlSocket(
  dataDir: string,
  name: string,
  input: unknown,
  actor: string,
): Promise<{ result?: unknown; error?: RemoteError }> {
  const body = JSON.stringify({ input, actor });
  return new Promise((resolve, reject) => {
    const req = request(
      {
        socketPath: controlSocketPath(dataDir),
        path: `/operations/${name}`,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
          } catch (err) {
            reject(err);
          }
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.setTimeout(60_000, () => req.destroy(new Error('the server did not answer within 60 s')));
    req.end(body);
  });
}
