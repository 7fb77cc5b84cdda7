import { z } from 'zod';
import { PageQuery } from '../../lib/pagination.ts';
import { Codename } from './codename.ts';

export { Codename };

/** An API (resource server) is named by its identifier, the URI its tokens carry as `aud`. */
export const ApiIdentifier = z.string().min(1).max(2048);

export const CreatePermission = z.strictObject({
  codename: Codename,
  /** display name; default derived from the codename (`Can add mediasource`) */
  name: z.string().trim().min(1).max(255).optional(),
  /** the API it belongs to: its codename then goes into that API's access tokens */
  api: ApiIdentifier.optional(),
});
export type CreatePermission = z.infer<typeof CreatePermission>;

export const ListPermissions = PageQuery.extend({
  /** only the permissions of this API; null: only those of no API */
  api: ApiIdentifier.nullable().optional(),
  codenamePrefix: z.string().max(100).optional(),
  isBuiltIn: z.boolean().optional(),
});
export type ListPermissions = z.infer<typeof ListPermissions>;

/** A list of codenames given at once (role edits, application grants, token narrowing). */
export const CodenameList = z.array(Codename).max(500);
export type CodenameList = z.infer<typeof CodenameList>;

export interface Permission {
  id: string;
  codename: string;
  name: string;
  /** the identifier of the API it belongs to, or null */
  api: string | null;
  /** one of Gatehouse's own admin permissions: never deleted */
  isBuiltIn: boolean;
  createdAt: Date;
}
