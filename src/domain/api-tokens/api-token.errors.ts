import { defineErrors } from '../../lib/app-error.ts';

/** Error codes of the API tokens domain (`api_token.<code>`). */
export const apiTokenError = defineErrors('api_token', {
  not_found: { status: 404, message: 'no API token has this id' },
  user_inactive: { status: 400, message: 'the user is inactive: they cannot have new tokens' },
  /** `details.codenames` lists the explicit codenames the user does not hold */
  permissions_not_held: { status: 400, message: 'a token can only be narrowed to permissions its user holds' },
  /** `details.maxSeconds` is the limit (API_TOKEN_MAX_LIFETIME_SECONDS) */
  lifetime_too_long: { status: 400, message: 'the token would live longer than the configured maximum' },
  /** minting a token is acting as its user: the no-escalation rule of principal.ts */
  escalation: { status: 403, message: 'this token would hold permissions you do not hold' },
  unknown_application: { status: 400, message: 'no application has this id' },
  /** declared tokens come back at the next start: remove their AUTH_TOKENS line instead */
  declared: { status: 409, message: 'this token is declared by AUTH_TOKENS: remove its line there (revoking it works too)' },
});
