import { request } from 'node:http';

/** One admin API request as the CLI sends it: a method, a path under /api/v1 and a JSON body. */
export interface AdminRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** relative to /api/v1, with its query: `/applications?client_id=abc` */
  path: string;
  body?: unknown;
}

export interface AdminResponse {
  status: number;
  /** the parsed JSON body (problem details for an error), or undefined for 204 */
  body: unknown;
}

const TIMEOUT_MS = 60_000;

/** Sends `req` to the admin API served on the Unix socket at `socketPath`, as `actor`. */
export function sendOverSocket(socketPath: string, req: AdminRequest, actor: string): Promise<AdminResponse> {
  const payload = req.body === undefined ? undefined : JSON.stringify(req.body);
  return new Promise((resolve, reject) => {
    const outgoing = request(
      {
        socketPath,
        path: `/api/v1${req.path}`,
        method: req.method,
        headers: {
          accept: 'application/json',
          'x-gatehouse-actor': actor,
          ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            body = { detail: text };
          }
          resolve({ status: res.statusCode ?? 0, body });
        });
      },
    );
    outgoing.on('error', reject);
    outgoing.setTimeout(TIMEOUT_MS, () => outgoing.destroy(new Error(`the server did not answer within ${TIMEOUT_MS / 1000} s`)));
    outgoing.end(payload);
  });
}
