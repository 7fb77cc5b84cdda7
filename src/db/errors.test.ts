import { createServer, type Server, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { PrismaPg } from '@prisma/adapter-pg';
import { errors as oidcErrors } from 'oidc-provider';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/pg-cluster.mjs';
import { createOutageLog, describeUnavailable, isDatabaseUnavailable } from './errors.ts';
import { Prisma, PrismaClient } from './generated/client.ts';

/**
 * The classifier behind 503 `temporarily_unavailable` (issue 8 item 11). Errors are real where the
 * machine can make them without a PostgreSQL server: connections to a closed port, a server that
 * accepts and never answers; the rest are built with the drivers' own classes and shapes.
 */

/** Rejects with whatever `fn` throws (fails the test if it does not throw). */
async function caught(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a failure');
}

/** A pg DatabaseError as node-postgres builds it from a server's ErrorResponse. */
function pgServerError(code: string, message: string): pg.DatabaseError {
  return Object.assign(new pg.DatabaseError(message, 100, 'error'), { code, severity: 'FATAL' });
}

/** As @prisma/adapter-pg wraps a PostgreSQL error it has no kind for (`kind: 'postgres'`). */
function driverAdapterError(cause: Record<string, unknown>): Error {
  return Object.assign(new Error(String(cause.kind)), { name: 'DriverAdapterError', cause });
}

describe('isDatabaseUnavailable', () => {
  let closedUrl: string;
  let silent: Server;
  let silentUrl: string;
  const held: Socket[] = [];
  const pools: pg.Pool[] = [];
  const pool = (options: pg.PoolConfig) => {
    const p = new pg.Pool(options);
    p.on('error', () => {});
    pools.push(p);
    return p;
  };

  beforeAll(async () => {
    closedUrl = `postgresql://nobody@127.0.0.1:${await freePort()}/none`;
    // accepts connections and never says a word: what a hung or partitioned server looks like
    silent = createServer((socket) => held.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    silentUrl = `postgresql://nobody@127.0.0.1:${(silent.address() as { port: number }).port}/none`;
  });
  afterAll(async () => {
    for (const s of held) s.destroy();
    silent?.close();
    await Promise.all(pools.map((p) => p.end().catch(() => {})));
  });

  describe('recognises the database being away', () => {
    it('[pg client, connection refused]', async () => {
      const err = await caught(() => new pg.Client({ connectionString: closedUrl }).connect());
      expect((err as { code?: string }).code).toBe('ECONNREFUSED');
      expect(isDatabaseUnavailable(err)).toBe(true);
    });

    it('[pg pool query, connection refused]', async () => {
      expect(isDatabaseUnavailable(await caught(() => pool({ connectionString: closedUrl }).query('SELECT 1')))).toBe(true);
    });

    it("[pg-pool's connect timeout, which has no code]", async () => {
      const err = await caught(() => pool({ connectionString: silentUrl, connectionTimeoutMillis: 100 }).query('SELECT 1'));
      expect((err as Error).message).toBe('Connection terminated due to connection timeout');
      expect(isDatabaseUnavailable(err)).toBe(true);
    });

    it("[pg-pool's wait for a free connection timing out]", async () => {
      const p = pool({ connectionString: silentUrl, connectionTimeoutMillis: 100, max: 1 });
      const first = p.connect().catch(() => {});
      const err = await caught(() => p.connect());
      await first;
      expect((err as Error).message).toBe('timeout exceeded when trying to connect');
      expect(isDatabaseUnavailable(err)).toBe(true);
    });

    it('[Prisma model query: P1001 through the pg adapter]', async () => {
      const prisma = new PrismaClient({ adapter: new PrismaPg(pool({ connectionString: closedUrl })) });
      const err = await caught(() => prisma.signingKey.findFirst());
      expect(err).toBeInstanceOf(Prisma.PrismaClientKnownRequestError);
      expect((err as Prisma.PrismaClientKnownRequestError).code).toBe('P1001');
      expect(isDatabaseUnavailable(err)).toBe(true);
      await prisma.$disconnect().catch(() => {});
    });

    it('[Prisma raw query: P2010 wrapping the adapter error in meta.driverAdapterError]', async () => {
      const prisma = new PrismaClient({ adapter: new PrismaPg(pool({ connectionString: closedUrl })) });
      const err = await caught(() => prisma.$executeRaw`SELECT 1`);
      expect((err as Prisma.PrismaClientKnownRequestError).code).toBe('P2010');
      expect(isDatabaseUnavailable(err)).toBe(true);
      await prisma.$disconnect().catch(() => {});
    });

    it('[the pg driver adapter itself: DriverAdapterError of kind DatabaseNotReachable]', async () => {
      const adapter = await new PrismaPg(pool({ connectionString: closedUrl })).connect();
      const err = await caught(() => adapter.queryRaw({ sql: 'SELECT 1', args: [], argTypes: [] }));
      expect((err as Error).name).toBe('DriverAdapterError');
      expect(isDatabaseUnavailable(err)).toBe(true);
    });

    it.each([
      ['57P01 admin_shutdown (pg_ctl -m fast stop)', '57P01', 'terminating connection due to administrator command'],
      ['57P02 crash_shutdown', '57P02', 'terminating connection because of crash of another server process'],
      ['57P03 cannot_connect_now', '57P03', 'the database system is starting up'],
      ['08006 connection_failure', '08006', 'connection failure'],
      ['08001 unable to connect', '08001', 'could not connect to server'],
    ])('[SQLSTATE %s]', (_name, code, message) => {
      expect(isDatabaseUnavailable(pgServerError(code, message))).toBe(true);
      expect(isDatabaseUnavailable(driverAdapterError({ kind: 'postgres', code, message }))).toBe(true);
    });

    it.each([
      ['ECONNRESET', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', syscall: 'read', errno: -104 })],
      ['connection terminated unexpectedly', new Error('Connection terminated unexpectedly')],
      ['adapter ConnectionClosed', driverAdapterError({ kind: 'ConnectionClosed' })],
      ['adapter SocketTimeout', driverAdapterError({ kind: 'SocketTimeout' })],
      [
        'Prisma P1017',
        new Prisma.PrismaClientKnownRequestError('Server has closed the connection.', { code: 'P1017', clientVersion: '6.19.3' }),
      ],
      ['Prisma P1002', new Prisma.PrismaClientKnownRequestError('timed out', { code: 'P1002', clientVersion: '6.19.3' })],
      ['Prisma initialization P1001', new Prisma.PrismaClientInitializationError("Can't reach database server", '6.19.3', 'P1001')],
      [
        'AggregateError of refused addresses (Node tries each address of a host)',
        Object.assign(
          new AggregateError([Object.assign(new Error('connect ECONNREFUSED ::1:5432'), { code: 'ECONNREFUSED' })], 'failed'),
          {},
        ),
      ],
      ['wrapped twice', new Error('lookup failed', { cause: new Error('query failed', { cause: pgServerError('57P01', 'terminating') }) })],
    ])('[%s]', (_name, err) => {
      expect(isDatabaseUnavailable(err)).toBe(true);
    });
  });

  describe('does not mistake other failures for it', () => {
    it.each([
      ['unique violation 23505', pgServerError('23505', 'duplicate key value violates unique constraint')],
      ['syntax error 42601', pgServerError('42601', 'syntax error at or near "SELEC"')],
      ['NUL in text 22021', pgServerError('22021', 'invalid byte sequence for encoding "UTF8": 0x00')],
      ['too many connections 53300', pgServerError('53300', 'sorry, too many clients already')],
      ['adapter unique violation', driverAdapterError({ kind: 'UniqueConstraintViolation', constraint: { fields: ['id'] } })],
      ['Prisma P2002', new Prisma.PrismaClientKnownRequestError('Unique constraint failed', { code: 'P2002', clientVersion: '6.19.3' })],
      ['Prisma P2025', new Prisma.PrismaClientKnownRequestError('Record not found', { code: 'P2025', clientVersion: '6.19.3' })],
      ['a plain bug', new TypeError("Cannot read properties of undefined (reading 'id')")],
      ['an OAuth error', new oidcErrors.InvalidRequest('missing parameter')],
      ['an OAuth error with a code-like description', new oidcErrors.InvalidGrant('ECONNREFUSED')],
      ['a message that merely mentions it', new Error('upstream said: Connection terminated unexpectedly, retrying')],
      ['null', null],
      ['a string', 'ECONNREFUSED'],
      ['an object with a numeric code', { code: 503 }],
    ])('[%s]', (_name, err) => {
      expect(isDatabaseUnavailable(err)).toBe(false);
    });

    it('terminates on a cyclic cause chain', () => {
      const a = new Error('a') as Error & { cause?: unknown };
      const b = new Error('b', { cause: a });
      a.cause = b;
      expect(isDatabaseUnavailable(a)).toBe(false);
    });
  });

  it('describes the error for a log line with its code and no Prisma message', () => {
    expect(describeUnavailable(pgServerError('57P01', 'terminating connection due to administrator command'))).toStrictEqual({
      reason: '57P01',
      message: 'terminating connection due to administrator command',
    });
    const prismaErr = new Prisma.PrismaClientKnownRequestError('Invalid `prisma.x.findFirst()` invocation: { token: "secret" }', {
      code: 'P1001',
      clientVersion: '6.19.3',
    });
    expect(describeUnavailable(prismaErr)).toStrictEqual({ reason: 'P1001' });
    expect(describeUnavailable(new Error('boom'))).toStrictEqual({});
  });
});

describe('createOutageLog', () => {
  function capture() {
    const lines: Array<Record<string, unknown>> = [];
    const out = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(
          ...chunk
            .toString()
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l) as Record<string, unknown>),
        );
        done();
      },
    });
    return { lines, log: pino({ level: 'debug' }, out) };
  }

  it('logs the first failure of a burst at warn and the rest at debug, then warns again after a quiet spell', () => {
    const { lines, log } = capture();
    let now = 1_000_000;
    const report = createOutageLog(log, 'database unavailable', () => now);
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    for (let i = 0; i < 50; i++) {
      report(refused);
      now += 500; // every half second for 25 s: one burst
    }
    now += 31_000;
    report(refused);
    const levels = lines.map((l) => l.level);
    expect(levels.filter((l) => l === 40)).toHaveLength(2);
    expect(levels.filter((l) => l === 20)).toHaveLength(49);
    expect(lines[0]).toMatchObject({ level: 40, msg: 'database unavailable', database: { reason: 'ECONNREFUSED' } });
    expect(lines[50]?.level).toBe(40);
  });
});
