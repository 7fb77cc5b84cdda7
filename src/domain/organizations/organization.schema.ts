import { z } from 'zod';
import { PageQuery } from '../../lib/pagination.ts';

export const OrganizationName = z.string().trim().min(1).max(150);

export const CreateOrganization = z.strictObject({ name: OrganizationName });
export type CreateOrganization = z.infer<typeof CreateOrganization>;

export const UpdateOrganization = z.strictObject({ name: OrganizationName });
export type UpdateOrganization = z.infer<typeof UpdateOrganization>;

/** `admin`s manage the organisation, its members and their applications; `member`s belong to it. */
export const MembershipRole = z.enum(['admin', 'member']);
export type MembershipRole = z.infer<typeof MembershipRole>;

export const ListOrganizations = PageQuery.extend({
  namePrefix: z.string().max(150).optional(),
});
export type ListOrganizations = z.infer<typeof ListOrganizations>;

export const ListMembers = PageQuery.extend({
  role: MembershipRole.optional(),
});
export type ListMembers = z.infer<typeof ListMembers>;

export interface Organization {
  id: string;
  name: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface Membership {
  organizationId: string;
  userId: string;
  username: string;
  role: MembershipRole;
  createdAt: Date;
}

/** One of a user's organisations, with their role in it. */
export interface UserOrganization {
  id: string;
  name: string;
  role: MembershipRole;
}
