import { z } from 'zod';

/** RFC 6749 §3.3 scope-token: printable ASCII except space, `"` and `\`. */
export const ScopeToken = z
  .string()
  .regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'a scope is printable ASCII without spaces, quotes or backslashes')
  .max(128);

/** RFC 8707 §2: an absolute URI without a fragment. */
export const ResourceIdentifier = z
  .string()
  .max(2048)
  .refine((v) => {
    const url = URL.parse(v);
    return url !== null && !v.includes('#');
  }, 'must be an absolute URI without a fragment (RFC 8707 §2)');

export const SigningAlg = z.enum(['ES256', 'RS256']);
export type SigningAlg = z.infer<typeof SigningAlg>;

export const AccessTokenFormat = z.enum(['jwt', 'opaque']);

export const CreateApiResource = z.object({
  identifier: ResourceIdentifier,
  name: z.string().trim().min(1).max(200),
  scopes: z.array(ScopeToken).max(200).default([]),
  signingAlg: SigningAlg.optional(),
  accessTokenFormat: AccessTokenFormat.default('jwt'),
  accessTokenTtlSeconds: z
    .number()
    .int()
    .min(60)
    .max(86400 * 30)
    .optional(),
});
export type CreateApiResource = z.input<typeof CreateApiResource>;

/** An API (resource server) as the rest of Gatehouse sees it. */
export interface ApiResource {
  id: string;
  identifier: string;
  name: string;
  scopes: string[];
  signingAlg: SigningAlg;
  accessTokenFormat: 'jwt' | 'opaque';
  accessTokenTtlSeconds: number;
  createdAt: Date;
  updatedAt: Date;
}
