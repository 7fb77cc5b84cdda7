import { defineErrors } from '../../lib/app-error.ts';

export const signingKeyError = defineErrors('signing_key', {
  not_found: { status: 404, message: 'no signing key has this kid' },
  undecryptable: {
    status: 500,
    message:
      'a signing key in the database cannot be decrypted with this MASTER_KEY: every instance sharing a database must use the same MASTER_KEY',
  },
});
