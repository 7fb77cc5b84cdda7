// The benchmark's yardstick: bare oidc-provider, the library Gatehouse is built on, with nothing of
// Gatehouse around it. In-memory adapter, one client with a plain-text secret, the same endpoint
// paths as Gatehouse, and JWT access tokens signed with the same algorithm (ES256). Whatever
// Gatehouse adds on top (a database, hashed secrets, logging, its own introspection) shows up as
// the ratio between the two in `npm run bench`.
//
//   PORT=4000 node bench/baseline-server.mjs    prints one JSON line when it listens
import { createServer } from 'node:http';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';
import { BASELINE_APIS, BASELINE_CLIENT } from './baseline-config.mjs';

const port = Number(process.env.PORT ?? 0);
const issuer = process.env.ISSUER ?? `http://127.0.0.1:${port}`;
const alg = process.env.BENCH_SIGNING_ALG ?? 'ES256';

// Like Gatehouse: one ES256 and one RS256 key, so the JWKS documents are alike too.
async function signingKey(keyAlg) {
  const { privateKey } = await generateKeyPair(keyAlg, { extractable: true });
  return { ...(await exportJWK(privateKey)), alg: keyAlg, use: 'sig', kid: `baseline-${keyAlg}` };
}
const keys = [await signingKey('ES256'), await signingKey('RS256')];

const provider = new Provider(issuer, {
  clients: [{ ...BASELINE_CLIENT, grant_types: ['client_credentials'], redirect_uris: [], response_types: [] }],
  jwks: { keys },
  cookies: { keys: ['bench-baseline-cookie-key'] },
  routes: { token: '/oauth/token', introspection: '/oauth/introspect', revocation: '/oauth/revoke', jwks: '/.well-known/jwks.json' },
  ttl: { ClientCredentials: 3600, AccessToken: 3600 },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // `audience` is not an oidc-provider parameter; requests without `resource` get the JWT API.
      defaultResource: () => BASELINE_APIS.jwt,
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx, identifier) => ({
        audience: identifier,
        scope: 'read write',
        accessTokenTTL: 3600,
        accessTokenFormat: identifier === BASELINE_APIS.opaque ? 'opaque' : 'jwt',
        jwt: { sign: { alg } },
      }),
    },
  },
});

const server = createServer(provider.callback());
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ ready: true, port: server.address().port, ...BASELINE_CLIENT, apis: BASELINE_APIS })}\n`);
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
