import type { Services } from '../../src/container.ts';
import { CHANGES_CHANNEL } from '../../src/db/change-bus.ts';
import type { CreateApiResource } from '../../src/domain/api-resources/api-resource.schema.ts';
import type { CreateApplication } from '../../src/domain/applications/application.schema.ts';
import type { TestServer } from './server.ts';

let counter = 0;
const unique = () => `${Date.now().toString(36)}${(counter++).toString(36)}`;

/** Registers an API through the service (so its invariants hold). */
export async function makeApi(services: Services, overrides: Partial<CreateApiResource> = {}) {
  return services.apis.register(
    { identifier: `https://api-${unique()}.example.test`, name: 'Test API', scopes: ['read', 'write'], ...overrides },
    'test',
  );
}

/** Registers a confidential client-credentials application; returns its id and one-time secret. */
export async function makeClient(services: Services, overrides: Partial<CreateApplication> = {}) {
  const { application, clientSecret } = await services.applications.register(
    { name: `client-${unique()}`, grantTypes: ['client_credentials'], ...overrides },
    'test',
  );
  return { clientId: application.clientId, clientSecret: clientSecret as string, application };
}

/**
 * A confidential client registered for the authorization_code and refresh_token grants, as one
 * registered before the server stopped serving them may be. The service refuses to register such a
 * client now, so it is made as a client credentials client and its row changed underneath.
 */
export async function makeLegacyCodeClient(server: Pick<TestServer, 'services' | 'sql'>) {
  const client = await makeClient(server.services);
  // Changed and announced in one statement, as a store writes: every instance drops its copy.
  await server.sql(
    `WITH changed AS (
       UPDATE applications SET grant_types = ARRAY['authorization_code','refresh_token'], redirect_uris = ARRAY['https://app.example.test/cb']
       WHERE client_id = $1 RETURNING 1
     )
     SELECT pg_notify($2, $3) FROM changed`,
    [client.clientId, CHANGES_CHANNEL, JSON.stringify({ kind: 'application', clientId: client.clientId })],
  );
  // The notification arrives a moment later: wait until this instance has the new record.
  const deadline = Date.now() + 5000;
  while (!(await server.services.applications.findClient(client.clientId))?.grantTypes.includes('authorization_code')) {
    if (Date.now() > deadline) throw new Error('the change notification never arrived');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return client;
}

/** An API plus a client granted it, the usual machine-to-machine setup. */
export async function makeMachineSetup(services: Services, options: { scopes?: string[]; grantScopes?: string[] } = {}) {
  const api = await makeApi(services, options.scopes ? { scopes: options.scopes } : {});
  const client = await makeClient(services, {
    apis: [{ identifier: api.identifier, ...(options.grantScopes ? { scopes: options.grantScopes } : {}) }],
  });
  return { api, ...client };
}

export function basicAuth(clientId: string, secret: string): string {
  const encode = (v: string) => encodeURIComponent(v).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(secret)}`).toString('base64')}`;
}

/** POSTs a form and returns status, headers and parsed JSON (or text). */
export async function postForm(url: string, form: Record<string, string>, headers: Record<string, string> = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {}
  return { status: res.status, headers: res.headers, body: body as Record<string, unknown> };
}
