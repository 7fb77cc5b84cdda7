import type { Context } from 'koa';

/**
 * The HTML pages oidc-provider shows a person itself, through its hooks: `renderError`
 * (https://github.com/panva/node-oidc-provider/tree/main/docs#rendererror), and RP-initiated
 * logout's `logoutSource` and `postLogoutSuccessSource`
 * (https://github.com/panva/node-oidc-provider/tree/main/docs#featuresrpinitiatedlogout).
 * The pages are src/http's (typed preact components); the container hands them to the provider
 * here, so nothing in src/oidc imports src/http.
 */
export interface ProtocolPages {
  /**
   * An error a person's browser meets: `out` is what the library would show (the OAuth error and
   * its exposed description), `err` the error itself (SessionNotFound, InvalidClient…).
   */
  error(ctx: Context, out: { error: string; error_description?: string | undefined }, err?: unknown): Promise<void> | void;
  /** "Sign out?": `form` is the library's form markup (its action and xsrf field). */
  logoutConfirm(
    ctx: Context,
    form: string,
    signedIn: { accountId: string | undefined; clientId: string | undefined },
  ): Promise<void> | void;
  /** "You are signed out", with the client the person came from (`client_id`), if any. */
  loggedOut(ctx: Context, clientId: string | undefined): Promise<void> | void;
}
