import { defineErrors } from '../../lib/app-error.ts';

export const apiResourceError = defineErrors('api', {
  not_found: { status: 404, message: 'no API has this identifier' },
  identifier_taken: { status: 409, message: 'an API with this identifier already exists' },
  in_use: { status: 409, message: 'applications are still granted this API' },
});
