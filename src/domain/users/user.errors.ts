import { defineErrors } from '../../lib/app-error.ts';

/** Error codes of the users domain (`user.<code>`). */
export const userError = defineErrors('user', {
  /** no user has this id (or the caller may not see them) */
  not_found: { status: 404, message: 'no user has this id' },
  username_taken: { status: 409, message: 'a user with this username already exists' },
  email_taken: { status: 409, message: 'a user with this email already exists' },
  /** acting on this user would give the caller permissions they do not hold (principal.ts) */
  escalation: { status: 403, message: 'this user holds permissions you do not hold: you may not change them' },
  /** making or changing superusers takes a superuser */
  superuser_required: { status: 403, message: 'only a superuser may do this' },
});
