import { defineErrors } from '../../lib/app-error.ts';

export const applicationError = defineErrors('application', {
  /** also what a caller who may not see the application gets (404, not 403) */
  not_found: { status: 404, message: 'no application has this id' },
  name_taken: { status: 409, message: 'an application with this name already exists' },
  unknown_api: { status: 400, message: 'no API has this identifier' },
  unknown_scope: { status: 400, message: 'the API does not define this scope' },
  duplicate_api: { status: 400, message: 'an API is listed twice' },
  public_client_credentials: { status: 400, message: 'a public client cannot use the client_credentials grant: it has no secret' },
  grant_type_not_served: { status: 400, message: 'the server does not serve this grant type' },
  redirect_uri_required: { status: 400, message: 'the authorization_code grant needs at least one redirect URI' },
  refresh_token_alone: {
    status: 400,
    message: 'refresh_token comes with a grant that issues refresh tokens (authorization_code or the device code): give both',
  },
  no_secret: { status: 400, message: 'public clients have no secret to rotate' },
  public_introspect: {
    status: 400,
    message: 'a public client cannot introspect: it has no secret to authenticate with at the introspection endpoint',
  },
  unknown_owner: { status: 400, message: 'no user has this id' },
  unknown_organization: { status: 400, message: 'no organization has this id' },
  /** a non-superuser gives applications only to themselves or to members of organisations they administer */
  owner_not_allowed: {
    status: 403,
    message: 'you may register applications only for yourself or for members of organizations you administer',
  },
  /** the owner must belong to the organisation, and the caller administer it (or own the application and belong to it) */
  organization_not_allowed: { status: 403, message: 'the application cannot be placed in this organization' },
  /** `details.permission` names what it takes: `change_api` for APIs and the introspect right, `change_application` to skip consent */
  grant_not_allowed: { status: 403, message: 'only the administrators of APIs and applications may grant this to an application' },
  introspect_without_api: { status: 400, message: 'the introspect right is given per API: grant the application an API first' },
});
