import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdminApi, makeUser, startAdminApi, unique } from '../../support/admin-api.ts';
import { newMasterKey } from '../../support/server.ts';
import { TEST_DB } from '../../support/test-database.ts';

/**
 * The admin list of applications keeps the pages it read (applications.service.ts `listPages`):
 * every change a page shows must show at once, on this instance and, through change
 * notifications, on every other one.
 */
interface Listed {
  id: string;
  name: string;
  summary_fields: { owner: { username: string } | null; tokens: { count: number } };
}

describe('the application list shows every change at once', { timeout: 60_000 }, () => {
  let api: AdminApi;
  const masterKey = newMasterKey();
  beforeAll(async () => {
    api = await startAdminApi({ env: { MASTER_KEY: masterKey } });
  });
  afterAll(() => api?.close());

  const listOf = async (target: AdminApi, owner: string) => {
    const res = await target.request<{ count: number; results: Listed[] }>('operator', 'GET', `/applications?user=${owner}&page_size=10`);
    expect(res.status).toBe(200);
    return res.body;
  };

  it('after a new application, a rename, a token and a deletion', async () => {
    const owner = await makeUser(api.services);
    expect((await listOf(api, owner.id)).count).toBe(0);

    const created = await api.request<{ id: string }>('operator', 'POST', '/applications', {
      body: { name: unique('listed'), user: owner.id, authorization_grant_type: 'client_credentials' },
    });
    expect(created.status).toBe(201);
    const id = created.body.id;
    let page = await listOf(api, owner.id);
    expect(page.results.map((a) => a.id)).toEqual([id]);

    const name = unique('renamed');
    expect((await api.request('operator', 'PATCH', `/applications/${id}`, { body: { name } })).status).toBe(200);
    expect((await listOf(api, owner.id)).results[0]?.name).toBe(name);

    expect((await api.request('operator', 'POST', `/applications/${id}/tokens`, { body: { scope: 'read' } })).status).toBe(201);
    expect((await listOf(api, owner.id)).results[0]?.summary_fields.tokens.count).toBe(1);

    expect((await api.request('operator', 'DELETE', `/applications/${id}`)).status).toBe(204);
    page = await listOf(api, owner.id);
    expect(page.count).toBe(0);
  });

  it.skipIf(TEST_DB !== 'postgres')('made on another instance [PostgreSQL: instances share one database]', async () => {
    const other = await startAdminApi({ db: api.server.db, env: { MASTER_KEY: masterKey } });
    try {
      const owner = await makeUser(api.services);
      expect((await listOf(other, owner.id)).count).toBe(0);
      await api.request('operator', 'POST', '/applications', {
        body: { name: unique('elsewhere'), user: owner.id, authorization_grant_type: 'client_credentials' },
      });
      // The notification arrives a moment later; the kept page must not outlive it.
      const deadline = Date.now() + 5000;
      while ((await listOf(other, owner.id)).count === 0) {
        expect(Date.now()).toBeLessThan(deadline);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    } finally {
      await other.close();
    }
  });
});
