import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuth, makeMachineSetup, postForm } from '../support/fixtures.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

describe('client credentials smoke', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  it('issues a token for an API', async () => {
    const { clientId, clientSecret, api } = await makeMachineSetup(server.services);
    const res = await postForm(
      `${server.url}/oauth/token`,
      { grant_type: 'client_credentials', audience: api.identifier },
      { authorization: basicAuth(clientId, clientSecret) },
    );
    expect(res.status).toBe(200);
    expect(res.body.token_type).toBe('Bearer');
  });
});
