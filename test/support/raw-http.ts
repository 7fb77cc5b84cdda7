import { request } from 'node:http';
import { connect } from 'node:net';

/**
 * A request exactly as given: any method token, any header (Host included), any body bytes.
 * fetch normalises too much for hostile input (it refuses some methods and header values and
 * sets Host itself), so the security suites speak HTTP/1.1 through node:http instead.
 */
export interface RawRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
}

export interface RawReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Sends `req` to `baseUrl`; fails (rejects) after `timeoutMs`, so a hang is a failure. */
export function sendRaw(baseUrl: string, req: RawRequest, timeoutMs = 10_000): Promise<RawReply> {
  const url = new URL(baseUrl);
  const body = req.body === undefined ? undefined : Buffer.isBuffer(req.body) ? req.body : Buffer.from(req.body, 'utf8');
  const headers: Record<string, string> = { ...req.headers };
  if (body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-length')) {
    headers['content-length'] = String(body.length);
  }
  return new Promise((resolve, reject) => {
    const outgoing = request(
      { host: url.hostname, port: url.port, method: req.method, path: req.path, headers, agent: false, setHost: !('host' in headers) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    outgoing.setTimeout(timeoutMs, () => outgoing.destroy(new Error(`no answer within ${timeoutMs} ms: ${req.method} ${req.path}`)));
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

/** mulberry32: a tiny seeded PRNG, so a fuzz run is the same sequence every time. */
export function seededRandom(seed: number) {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    /** an integer in [0, n) */
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T,
    chance: (p: number) => next() < p,
    bytes: (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(next() * 256))),
  };
}

export type Random = ReturnType<typeof seededRandom>;

/**
 * A client that goes away mid-request: sends the request head (declaring `declaredLength` body
 * bytes), then `sent` of them, waits `delayMs` so the server is reading the body, and closes the
 * connection without ever reading an answer.
 */
export async function abortMidBody(
  baseUrl: string,
  req: { method: string; path: string; headers: Record<string, string>; sent: string; declaredLength: number },
  delayMs = 150,
): Promise<void> {
  const url = new URL(baseUrl);
  const socket = connect(Number(url.port), url.hostname);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.on('error', () => {});
  const head = [
    `${req.method} ${req.path} HTTP/1.1`,
    `Host: ${url.host}`,
    `Content-Length: ${req.declaredLength}`,
    ...Object.entries(req.headers).map(([k, v]) => `${k}: ${v}`),
    '',
    '',
  ].join('\r\n');
  socket.write(head + req.sent);
  await new Promise((r) => setTimeout(r, delayMs));
  socket.destroy();
}
