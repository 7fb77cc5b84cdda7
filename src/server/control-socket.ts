import { chmodSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Services } from '../container.ts';
import { createAdminApp, localOperator } from '../http/admin/admin-app.ts';

/**
 * The embedded database belongs to one process (DESIGN.md §1), so while a server runs, the CLI
 * cannot open it. Instead the server listens on a Unix socket in its data directory and serves the
 * admin API there (the same routes as `/api/v1`), as the local operator. Access control is the file
 * system: the socket is mode 0600 inside the 0700 data directory, like the database files.
 */
export const CONTROL_SOCKET_NAME = 'gatehouse.sock';

export function controlSocketPath(dataDir: string): string {
  return join(dataDir, CONTROL_SOCKET_NAME);
}

export interface ControlSocket {
  close(): Promise<void>;
}

export async function startControlSocket(
  dataDir: string,
  deps: { services: Services; log: Logger; issuer: string },
): Promise<ControlSocket> {
  const { log } = deps;
  const path = controlSocketPath(dataDir);
  if (Buffer.byteLength(path) > 100) {
    log.warn({ path }, 'data directory path too long for a Unix socket: the CLI cannot reach this server while it runs');
    return { close: async () => {} };
  }
  rmSync(path, { force: true }); // a leftover from a crash; we hold the data-directory lock

  const app = createAdminApp({ ...deps, log: log.child({ surface: 'control-socket' }), authenticate: localOperator });
  const server = createServer(app.callback());
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
