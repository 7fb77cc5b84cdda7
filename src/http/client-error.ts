import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { securityHeaderPairs } from './middleware/security-headers.ts';

/** Node's statuses for requests its parser refuses (lib/_http_server.js socketOnError). */
const STATUS_BY_CODE: Record<string, number> = {
  HPE_HEADER_OVERFLOW: 431,
  HPE_CHUNK_EXTENSIONS_OVERFLOW: 413,
  ERR_HTTP_REQUEST_TIMEOUT: 408,
};

/**
 * The server's `clientError` handler: a request Node's HTTP parser refuses (headers too large, a
 * malformed request line, a timeout) never reaches Koa, and Node answers it with a bare status
 * line. This answers it the same way but with the headers every other answer carries (the security
 * headers, `Cache-Control: no-store`). A connection the client already closed is just released.
 */
export async function createClientErrorHandler({ issuer }: { issuer: string }) {
  const headers = [
    ...(await securityHeaderPairs({ issuer })),
    ['Cache-Control', 'no-store'],
    ['Content-Length', '0'],
    ['Connection', 'close'],
  ]
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  const answers = new Map<number, string>();
  const answer = (status: number) => {
    let raw = answers.get(status);
    if (!raw) {
      raw = `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${headers}\r\n`;
      answers.set(status, raw);
    }
    return raw;
  };

  return function onClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
    // As Node does: answer only if nothing of a response went out on this connection yet.
    const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (err.code !== 'ECONNRESET' && socket.writable && !inFlight?.headersSent) {
      socket.write(answer(STATUS_BY_CODE[err.code ?? ''] ?? 400));
    }
    socket.destroy();
  };
}
