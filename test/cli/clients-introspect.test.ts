import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, runCli, runCliJson } from '../support/cli.ts';
import { makeApi, makeClient } from '../support/fixtures.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/**
 * `clients create --introspect` and `clients update` against a running server (on PGlite through its
 * control socket, on PostgreSQL directly): the introspect right of RFC 7662 §4 is given per API,
 * shown by `clients show` and `clients list`, and changed by `clients update`.
 */

interface WireGrant {
  identifier: string;
  scopes: string[];
  introspect: boolean;
}
interface WireClient {
  client_id: string;
  client_secret?: string;
  name: string;
  apis: WireGrant[];
}

function expectOneLineError(result: CliResult, code: number | 'nonzero', mentions: RegExp) {
  if (code === 'nonzero') expect(result.code, result.stderr).not.toBe(0);
  else expect(result.code, result.stderr).toBe(code);
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^gatehouse: /);
  expect(lines[0]).toMatch(mentions);
  expect(result.stderr).not.toMatch(/^\s+at /m);
  expect(result.stdout).toBe('');
}

const byIdentifier = (apis: WireGrant[]) => [...apis].sort((a, b) => a.identifier.localeCompare(b.identifier));

describe('gatehouse clients: the introspect right', { timeout: 60_000 }, () => {
  let server: TestServer;
  const cli = (...args: string[]) => runCli(args, server.env);
  const json = <T = WireClient>(...args: string[]) => runCliJson<T>([...args, '--json'], server.env);

  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  it('clients create --introspect gives the right on every --api; show and list say so', async () => {
    const [orders, stock, other] = [await makeApi(server.services), await makeApi(server.services), await makeApi(server.services)];
    const name = `orders-api-${Date.now()}`;
    const created = await json('clients', 'create', '--name', name, '--api', orders.identifier, '--api', stock.identifier, '--introspect');
    expect(byIdentifier(created.apis)).toEqual(
      byIdentifier([
        { identifier: orders.identifier, scopes: orders.scopes, introspect: true },
        { identifier: stock.identifier, scopes: stock.scopes, introspect: true },
      ]),
    );
    const plain = await json('clients', 'create', '--name', `${name}-plain`, '--api', other.identifier);
    expect(plain.apis).toEqual([{ identifier: other.identifier, scopes: other.scopes, introspect: false }]);

    const shown = await json('clients', 'show', '--client-id', created.client_id);
    expect(byIdentifier(shown.apis)).toEqual(byIdentifier(created.apis));
    // the server's own view (its cache) agrees
    const record = await server.services.applications.findClient(created.client_id);
    expect(record?.apis.every((a) => a.introspect)).toBe(true);

    const listed = await json<WireClient[]>('clients', 'list');
    expect(listed.find((c) => c.client_id === created.client_id)?.apis.every((a) => a.introspect)).toBe(true);
    const table = await cli('clients', 'list');
    expect(table.code, table.stderr).toBe(0);
    const [header, ...rows] = table.stdout.split('\n');
    expect(header).toMatch(/\bINTROSPECTS_FOR\b/);
    const row = rows.find((l) => l.startsWith(created.client_id)) ?? '';
    const column = row.slice(header?.indexOf('INTROSPECTS_FOR')).split(/\s+/)[0] ?? '';
    expect(column.split(',').sort()).toEqual([orders.identifier, stock.identifier].sort());
    const plainRow = rows.find((l) => l.startsWith(plain.client_id)) ?? '';
    expect(plainRow.slice(header?.indexOf('INTROSPECTS_FOR')).split(/\s+/)[0]).toBe('-');
  });

  it('clients update --no-introspect takes the right from every API, --introspect gives it back', async () => {
    const [a, b] = [await makeApi(server.services), await makeApi(server.services)];
    const client = await makeClient(server.services, {
      apis: [
        { identifier: a.identifier, scopes: ['read'], introspect: true },
        { identifier: b.identifier, introspect: false },
      ],
    });
    const off = await json('clients', 'update', '--client-id', client.clientId, '--no-introspect');
    expect(byIdentifier(off.apis)).toEqual(
      byIdentifier([
        { identifier: a.identifier, scopes: ['read'], introspect: false },
        { identifier: b.identifier, scopes: b.scopes, introspect: false },
      ]),
    );
    const on = await json('clients', 'update', '--client-id', client.clientId, '--introspect');
    expect(on.apis.map((g) => g.introspect)).toEqual([true, true]);
    // scopes are untouched by either
    expect(on.apis.find((g) => g.identifier === a.identifier)?.scopes).toEqual(['read']);
    expect((await server.services.applications.findClient(client.clientId))?.apis.every((g) => g.introspect)).toBe(true);
  });

  it('clients update --api replaces the APIs; one it keeps keeps its scopes and right, a new one gets all scopes and no right', async () => {
    const [kept, added, dropped] = [await makeApi(server.services), await makeApi(server.services), await makeApi(server.services)];
    const client = await makeClient(server.services, {
      apis: [
        { identifier: kept.identifier, scopes: ['read'], introspect: true },
        { identifier: dropped.identifier, introspect: true },
      ],
    });
    const updated = await json('clients', 'update', '--client-id', client.clientId, '--api', kept.identifier, '--api', added.identifier);
    expect(byIdentifier(updated.apis)).toEqual(
      byIdentifier([
        { identifier: kept.identifier, scopes: ['read'], introspect: true },
        { identifier: added.identifier, scopes: added.scopes, introspect: false },
      ]),
    );

    // --scopes and --introspect, when given, apply to every --api
    const both = await json(
      'clients',
      'update',
      '--client-id',
      client.clientId,
      '--api',
      kept.identifier,
      '--api',
      added.identifier,
      '--scopes',
      'write',
      '--introspect',
    );
    expect(both.apis.map(({ scopes, introspect }) => ({ scopes, introspect }))).toEqual([
      { scopes: ['write'], introspect: true },
      { scopes: ['write'], introspect: true },
    ]);
  });

  it('clients update --name renames and prints the result; without --json it lists the APIs and rights', async () => {
    const api = await makeApi(server.services);
    const client = await makeClient(server.services, { apis: [{ identifier: api.identifier, introspect: true }] });
    const name = `renamed-${Date.now()}`;
    const result = await cli('clients', 'update', '--client-id', client.clientId, '--name', name);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain(`Updated application "${name}"`);
    expect(result.stdout).toContain(client.clientId);
    expect(result.stdout).toMatch(
      new RegExp(`${api.identifier.replace(/[.]/g, '\\.')} \\(scopes: read,write; may introspect its tokens\\)`),
    );
    expect((await server.services.applications.get(client.clientId)).name).toBe(name);
    // the name alone changes nothing else
    expect((await server.services.applications.get(client.clientId)).apis).toEqual([
      { identifier: api.identifier, scopes: ['read', 'write'], introspect: true },
    ]);
  });

  it('clients update refuses an unknown client, a taken name, an unknown API and --introspect without any API', async () => {
    expectOneLineError(
      await cli('clients', 'update', '--client-id', 'no-such-client', '--introspect'),
      'nonzero',
      /no application has this client_id/,
    );

    const taken = await makeClient(server.services);
    const client = await makeClient(server.services);
    expectOneLineError(
      await cli('clients', 'update', '--client-id', client.clientId, '--name', taken.application.name),
      'nonzero',
      /already exists/,
    );

    expectOneLineError(
      await cli('clients', 'update', '--client-id', client.clientId, '--api', 'https://nowhere.example.test'),
      2,
      /no API has this identifier.*https:\/\/nowhere\.example\.test/,
    );
    expectOneLineError(
      await cli('clients', 'update', '--client-id', client.clientId, '--introspect'),
      2,
      /grant the application an API first/,
    );
    // nothing changed
    expect((await server.services.applications.get(client.clientId)).apis).toEqual([]);
    expect((await server.services.applications.get(client.clientId)).name).toBe(client.application.name);
  });
});
