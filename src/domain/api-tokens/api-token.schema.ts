import { z } from 'zod';
import { PageQuery } from '../../lib/pagination.ts';
import { Codename } from '../permissions/codename.ts';

/** `read`: only `view_*` codenames (and safe HTTP methods); `write`: everything the user holds. */
export const ApiTokenScope = z.enum(['read', 'write']);
export type ApiTokenScope = z.infer<typeof ApiTokenScope>;

export const CreateApiToken = z.strictObject({
  /** the user the token acts as */
  userId: z.string().min(1).max(64),
  name: z.string().trim().max(200).optional(),
  /** default `write` */
  scope: ApiTokenScope.optional(),
  /** narrow the token to these codenames (each held by the user now); absent: no narrowing */
  permissions: z.array(Codename).min(1).max(500).optional(),
  /** bind the token to an application (`applications.id`): it ends with it */
  applicationId: z.string().min(1).max(64).optional(),
  /** lifetime; absent: API_TOKEN_MAX_LIFETIME_SECONDS, or none when that is 0 */
  expiresInSeconds: z
    .number()
    .int()
    .min(60)
    .max(86400 * 3660)
    .optional(),
});
export type CreateApiToken = z.infer<typeof CreateApiToken>;

export const ListApiTokens = PageQuery.extend({
  /** include revoked and expired tokens (default false) */
  includeInactive: z.boolean().optional(),
});
export type ListApiTokens = z.infer<typeof ListApiTokens>;

/**
 * An API token as every caller sees it after creation: `token` is always the mask, the digest
 * never leaves the store.
 */
export interface ApiToken {
  id: string;
  userId: string;
  applicationId: string | null;
  name: string;
  /** always `"************"` */
  token: string;
  /** `ghat_` and 4 characters of a generated token, for telling tokens apart; '' for declared ones */
  prefix: string;
  scope: ApiTokenScope;
  /** explicit codenames: the narrowing of a created token, the grant of a declared one */
  permissions: string[];
  /** declared by AUTH_TOKENS */
  isDeclared: boolean;
  expiresAt: Date | null;
  /** recorded in batches: up to a few seconds late */
  lastUsedAt: Date | null;
  lastUsedIp: string | null;
  revokedAt: Date | null;
  createdAt: Date;
}
