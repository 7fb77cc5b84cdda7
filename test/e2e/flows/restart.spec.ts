import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../../scripts/pg-cluster.mjs';
import { stopAll, withServices } from '../../support/process.ts';
import { newMasterKey, type SpawnedServer, spawnServer } from '../../support/server.ts';
import { makePerson } from '../../support/sign-in.ts';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.ts';
import { useBrowser } from '../support/browser.ts';
import { arrivedAt, authorizationRequest, discover, heading, makeApp, navigates, redeemCode, useApp } from '../support/relying-party.ts';

/**
 * A sign-in survives a restart of the server in the middle of it (issue 11, "Done means"): the
 * interaction lives in the database (the oidc-provider adapter), its cookie and the form's CSRF
 * token are keyed from the master key, so a person who opened the login page before a restart
 * (a deploy, a crash) finishes signing in on the process that comes back. `gatehouse serve` runs
 * as its own process here, as `npm start` runs it, on the project's database (a PGlite data
 * directory or a PostgreSQL database), stopped with SIGTERM and started again on the same port.
 */
const browser = useBrowser();
const app = useApp();

describe('a sign-in across a server restart', { timeout: 180_000 }, () => {
  let db: TestDatabase | undefined;
  let servers: SpawnedServer[] = [];
  afterEach(async () => {
    await stopAll(...servers);
    servers = [];
    await db?.drop();
    db = undefined;
  });

  it('finishes on the restarted server: the login page opened before it, consent and the code after', async () => {
    db = await createTestDatabase();
    const env = { ...db.env, MASTER_KEY: newMasterKey(), PORT: String(await freePort()) };
    // Seeded before any server holds the database (a PGlite directory has one owner at a time).
    const { client, person } = await withServices(env, async (services) => ({
      client: await makeApp(services, app),
      person: await makePerson(services),
    }));

    const first = await spawnServer(env);
    servers.push(first);
    const config = await discover(first.url, client.clientId, client.clientSecret);
    const started = await authorizationRequest(config, app, { scope: 'openid profile' });
    const page = await browser.newPage();
    await page.goto(started.url.href);
    expect(await heading(page)).toBe('Sign in');
    await page.getByLabel('Username').fill(person.username);
    await page.getByLabel('Password').fill(person.password);

    expect(await first.stop('SIGTERM')).toBe(0);
    const second = await spawnServer(env);
    servers.push(second);
    expect(second.url).toBe(first.url);
    expect(second.child.pid).not.toBe(first.child.pid);

    await navigates(page, () => page.getByRole('button', { name: 'Sign in' }).click());
    expect(await heading(page)).toMatch(/to use your account\?$/);
    await page.getByRole('button', { name: 'Allow' }).click();
    const tokens = await redeemCode(config, await arrivedAt(page, app), started);
    expect(tokens.claims()).toMatchObject({ sub: person.user.id, aud: client.clientId, preferred_username: person.username });
  });
});
