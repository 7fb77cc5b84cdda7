import { defineErrors } from '../../lib/app-error.ts';

export const signingKeyError = defineErrors('signing_key', {
  undecryptable: {
    status: 500,
    message:
      'a signing key in the database cannot be decrypted with this MASTER_KEY: every instance sharing a database must use the same MASTER_KEY',
  },
});
