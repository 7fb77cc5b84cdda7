import { defineErrors } from '../../lib/app-error.ts';

/** Error codes of the roles domain (`role.<code>`). */
export const roleError = defineErrors('role', {
  not_found: { status: 404, message: 'no role has this id' },
  name_taken: { status: 409, message: 'a role with this name already exists' },
  /** `details.codenames` lists what the caller lacks */
  escalation: {
    status: 403,
    message: 'you may only change, grant or withdraw roles whose every permission you hold, and add only permissions you hold',
  },
});
