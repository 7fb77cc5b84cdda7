import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll } from 'vitest';

export interface Served {
  /** http://127.0.0.1:<port>, set once the file's server listens */
  readonly url: string;
}

/** Serves `listener` on 127.0.0.1 and a free port for the whole file (hooks registered at file level). */
export function useServer(listener: RequestListener): Served {
  const server = createServer(listener);
  const served = { url: '' };
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    served.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return served;
}
