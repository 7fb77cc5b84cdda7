import { defineErrors } from '../../lib/app-error.ts';

/** Error codes of the organizations domain (`organization.<code>`). */
export const organizationError = defineErrors('organization', {
  /** also what a caller outside the organisation gets: its existence is not theirs to learn */
  not_found: { status: 404, message: 'no organization has this id' },
  name_taken: { status: 409, message: 'an organization with this name already exists' },
  not_admin: { status: 403, message: 'only superusers and the organization’s admins may do this' },
  already_member: { status: 409, message: 'the user is already a member of this organization' },
  not_member: { status: 404, message: 'the user is not a member of this organization' },
  last_admin: { status: 409, message: 'an organization keeps at least one admin: make someone else admin first' },
  /** bringing a user under an organisation's admins needs holding all they hold (principal.ts) */
  escalation: { status: 403, message: 'this user holds permissions you do not hold: you may not bring them into your organization' },
});
