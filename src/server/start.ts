import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Config } from '../config/config.ts';
import { type Container, createContainer, type Services } from '../container.ts';
import { type Database, openDatabase } from '../db/database.ts';
import { createClientErrorHandler } from '../http/client-error.ts';
import { type Clock, systemClock } from '../lib/clock.ts';
import { deriveKeys } from '../lib/secrets.ts';
import { bootstrap, prepareDatabase } from './bootstrap.ts';
import { type ControlSocket, startControlSocket } from './control-socket.ts';
import { startJanitor } from './janitor.ts';
import { loadMasterKey } from './master-key.ts';

export interface RunningServer {
  url: string;
  services: Services;
  container: Container;
  /** the open database (tests read and break it on purpose) */
  db: Database;
  /** Graceful stop: refuse new connections, let in-flight requests finish, close the database. */
  close(): Promise<void>;
}

/**
 * Starts one server: opens the database, migrates it, wires the container, runs the bootstrap
 * steps, listens for changes from other instances, then serves HTTP (and, on the embedded
 * database, the CLI's control socket). Everything started is stopped in reverse order by `close`
 * or when a later step fails.
 */
export async function startServer(config: Config, log: Logger, clock: Clock = systemClock): Promise<RunningServer> {
  const started = performance.now();
  const keys = deriveKeys(loadMasterKey(config, log));
  const db: Database = await openDatabase(config.database, { log, role: 'server' });
  const cleanups: Array<() => Promise<void> | void> = [() => db.close()];
  const closeAll = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  };

  try {
    await prepareDatabase(db, log);
    const container = createContainer({ config, db, keys, clock, log });
    cleanups.push(() => container.close());
    await bootstrap(container);
    await container.bus.start();
    const web = await container.web();
    cleanups.push(startJanitor(container, web));

    const server: Server = createServer(web.app.callback());
    server.on('clientError', await createClientErrorHandler({ issuer: config.issuer }));
    server.keepAliveTimeout = 65_000; // longer than common load balancers' idle timeout
    server.headersTimeout = 66_000;
    server.requestTimeout = 30_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address() as AddressInfo;

    let control: ControlSocket | undefined;
    if (config.database.kind === 'pglite') {
      control = await startControlSocket(config.dataDir, { services: container.services, log, issuer: config.issuer });
      cleanups.push(() => control?.close());
    }

    log.info(
      { issuer: config.issuer, port: address.port, database: config.database.kind, readyInMs: Math.round(performance.now() - started) },
      `gatehouse ready: ${config.issuer}/.well-known/openid-configuration`,
    );

    let closing: Promise<void> | undefined;
    return {
      url: localUrl(address),
      services: container.services,
      container,
      db,
      close() {
        closing ??= (async () => {
          web.setShuttingDown();
          log.info('shutting down: finishing in-flight requests');
          await stopHttp(server, config.shutdownGraceSeconds * 1000);
          await closeAll();
          log.info('stopped');
        })();
        return closing;
      },
    };
  } catch (err) {
    await closeAll().catch(() => {});
    throw err;
  }
}

/** A URL this machine can reach the server at (a wildcard address becomes loopback). */
function localUrl(address: AddressInfo): string {
  if (address.family === 'IPv6') return `http://[${address.address === '::' ? '::1' : address.address}]:${address.port}`;
  return `http://${address.address === '0.0.0.0' ? '127.0.0.1' : address.address}:${address.port}`;
}

/** Stops accepting connections, lets in-flight requests finish, then closes whatever is left. */
function stopHttp(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const sweep = setInterval(() => server.closeIdleConnections(), 100);
    const deadline = setTimeout(() => server.closeAllConnections(), graceMs);
    server.close(() => {
      clearInterval(sweep);
      clearTimeout(deadline);
      resolve();
    });
    server.closeIdleConnections();
  });
}
