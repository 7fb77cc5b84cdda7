/**
 * Where each protocol endpoint lives. Discovery advertises these; the README documents them.
 * https://github.com/panva/node-oidc-provider/tree/main/docs#routes
 */
export const OIDC_ROUTES = {
  authorization: '/oauth/authorize',
  token: '/oauth/token',
  introspection: '/oauth/introspect',
  revocation: '/oauth/revoke',
  userinfo: '/oauth/userinfo',
  jwks: '/.well-known/jwks.json',
  end_session: '/oauth/logout',
  device_authorization: '/oauth/device/code',
  code_verification: '/device',
  pushed_authorization_request: '/oauth/par',
} as const;

export const DISCOVERY_PATH = '/.well-known/openid-configuration';
export const OAUTH_DISCOVERY_PATH = '/.well-known/oauth-authorization-server';
