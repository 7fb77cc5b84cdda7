import { z } from 'zod';
import { PageQuery } from '../../lib/pagination.ts';

/**
 * Usernames as Django has them: letters, digits and `@ . + - _`, up to 150 characters. No colon,
 * space or control character, so a username is safe in an `AUTH_TOKENS` line, HTTP Basic and logs.
 * Case-sensitive (`Alice` and `alice` are two users), as in Django.
 */
export const Username = z
  .string()
  .min(1)
  .max(150)
  .regex(/^[A-Za-z0-9@.+_-]+$/, 'letters, digits and @ . + - _ only');
export type Username = z.infer<typeof Username>;

/** Stored lower-case, so one mailbox cannot back two accounts. */
export const Email = z
  .email()
  .max(254)
  .transform((e) => e.toLowerCase());
export type Email = z.infer<typeof Email>;

/**
 * A password: at least 8 characters (NIST SP 800-63B §3.1.1.2), at most 1024 so a huge body
 * cannot make a hash expensive.
 */
export const Password = z.string().min(8).max(1024);
export type Password = z.infer<typeof Password>;

export const CreateUser = z.strictObject({
  username: Username,
  email: Email.optional(),
  /** none: the user cannot sign in with a password (API tokens only, e.g. AUTH_TOKENS users) */
  password: Password.optional(),
  /** default true */
  isActive: z.boolean().optional(),
  /** default false; only a superuser may create one */
  isSuperuser: z.boolean().optional(),
});
export type CreateUser = z.infer<typeof CreateUser>;

export const UpdateUser = z.strictObject({
  /** null removes it */
  email: Email.nullable().optional(),
  isActive: z.boolean().optional(),
});
export type UpdateUser = z.infer<typeof UpdateUser>;

export const UserOrder = z.enum(['username', '-username', 'createdAt', '-createdAt']);
export type UserOrder = z.infer<typeof UserOrder>;

export const ListUsers = PageQuery.extend({
  usernamePrefix: z.string().max(150).optional(),
  isActive: z.boolean().optional(),
  orderBy: UserOrder.optional(),
});
export type ListUsers = z.infer<typeof ListUsers>;

/** A user as every caller sees one: never the password hash. */
export interface User {
  id: string;
  username: string;
  email: string | null;
  isActive: boolean;
  isSuperuser: boolean;
  /** whether a password is set (sign-in with a password is possible) */
  hasPassword: boolean;
  lastLoginAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}
