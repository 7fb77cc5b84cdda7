import { z } from 'zod';
import { SigningAlg } from '../../domain/api-resources/api-resource.schema.ts';
import type { SigningKeyInfo } from '../../domain/signing-keys/signing-key.schema.ts';
import type { SigningKeyService } from '../../domain/signing-keys/signing-key.service.ts';
import { defineRoute } from './route.ts';
import { Id, iso, listQuery, pageBody, pageOf, paginated, Timestamp } from './wire.ts';

/**
 * GET  /keys                     every signing key and its state
 * POST /keys/rotations           new keys: published now, signing after the activation delay (now: at once)
 * POST /keys/:kid/revocation     pull a key: out of the JWKS at once, its tokens introspect inactive
 */
export const KeyWire = z.object({
  kid: z.string(),
  alg: SigningAlg,
  state: z.enum(['pending', 'active', 'retiring', 'retired', 'revoked']),
  created_at: Timestamp,
  signs_from: Timestamp,
  rotated_at: Timestamp,
  retire_after: Timestamp,
  revoked_at: Timestamp,
});

export const KeyRevocationWire = z.object({ revoked: KeyWire, changed: z.boolean(), replacements: z.array(KeyWire) });

export function keyToWire(key: SigningKeyInfo): z.infer<typeof KeyWire> {
  return {
    kid: key.kid,
    alg: key.alg,
    state: key.state,
    created_at: iso(key.createdAt),
    signs_from: iso(key.signsFrom ?? key.createdAt),
    rotated_at: iso(key.rotatedAt),
    retire_after: iso(key.retireAfter),
    revoked_at: iso(key.revokedAt),
  };
}

export function keyRoutes({ signingKeys }: { signingKeys: SigningKeyService }) {
  return [
    defineRoute({
      method: 'get',
      path: '/keys',
      summary: 'List signing keys and their states',
      tag: 'keys',
      permission: 'view_key',
      list: true,
      query: listQuery(['created'], {}),
      response: paginated(KeyWire),
      status: [200, 400, 401, 403],
      handle: async ({ query, ctx }) => ({ body: pageBody(ctx, pageOf(await signingKeys.list(), query), keyToWire) }),
    }),
    defineRoute({
      method: 'post',
      path: '/keys/rotations',
      summary: 'Rotate the signing keys',
      tag: 'keys',
      permission: 'change_key',
      body: z.object({ now: z.boolean().optional() }).strict(),
      response: z.array(KeyWire),
      status: [201, 400, 401, 403],
      async handle({ body, principal }) {
        const keys = await signingKeys.rotate(principal.actor, { immediately: body.now === true });
        return { body: keys.map(keyToWire) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/keys/:kid/revocation',
      summary: 'Revoke a (compromised) signing key',
      tag: 'keys',
      permission: 'change_key',
      params: z.strictObject({ kid: Id }),
      response: KeyRevocationWire,
      status: [200, 400, 401, 403, 404],
      async handle({ params, principal }) {
        const { key, changed, replacements } = await signingKeys.revoke(params.kid, principal.actor);
        return { body: { revoked: keyToWire(key), changed, replacements: replacements.map(keyToWire) } };
      },
    }),
  ];
}
