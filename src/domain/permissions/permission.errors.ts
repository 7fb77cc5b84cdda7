import { defineErrors } from '../../lib/app-error.ts';

/** Error codes of the permissions domain (`permission.<code>`). */
export const permissionError = defineErrors('permission', {
  not_found: { status: 404, message: 'no permission has this id' },
  codename_taken: { status: 409, message: 'a permission with this codename already exists' },
  /** Gatehouse's own admin permissions guard its API: they stay */
  built_in: { status: 409, message: 'built-in permissions cannot be deleted' },
  unknown_api: { status: 400, message: 'no API has this identifier' },
  /** `details.codenames` lists them */
  unknown_codenames: { status: 400, message: 'no permission has these codenames' },
  /** `details.codenames` lists the ones the caller does not hold */
  escalation: { status: 403, message: 'you may only grant or withdraw permissions you hold yourself' },
  application_not_found: { status: 404, message: 'no application has this id' },
});
