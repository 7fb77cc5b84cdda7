import { z } from 'zod';
import { PageQuery } from '../../lib/pagination.ts';
import { CodenameList } from '../permissions/permission.schema.ts';

export const RoleName = z.string().trim().min(1).max(150);

export const CreateRole = z.strictObject({
  name: RoleName,
  description: z.string().max(1000).optional(),
  /** codenames the role starts with */
  permissions: CodenameList.optional(),
});
export type CreateRole = z.infer<typeof CreateRole>;

export const UpdateRole = z.strictObject({
  name: RoleName.optional(),
  description: z.string().max(1000).optional(),
});
export type UpdateRole = z.infer<typeof UpdateRole>;

export const ListRoles = PageQuery.extend({
  namePrefix: z.string().max(150).optional(),
});
export type ListRoles = z.infer<typeof ListRoles>;

/** A role: a named bundle of permissions, held globally by users. */
export interface Role {
  id: string;
  name: string;
  description: string;
  /** codenames, sorted */
  permissions: string[];
  createdAt: Date;
  updatedAt: Date;
}
