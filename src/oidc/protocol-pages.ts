import type { Context } from 'koa';

/**
 * The HTML pages oidc-provider shows a person itself, through its hooks: `renderError`
 * (https://github.com/panva/node-oidc-provider/tree/main/docs#rendererror), and RP-initiated
 * logout's `logoutSource` and `postLogoutSuccessSource`
 * (https://github.com/panva/node-oidc-provider/tree/main/docs#featuresrpinitiatedlogout), and the
 * device flow's `userCodeInputSource`, `userCodeConfirmSource` and `successSource`
 * (https://github.com/panva/node-oidc-provider/tree/main/docs#featuresdeviceflow).
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

/** The device flow's pages oidc-provider shows (`features.deviceFlow`); http/device-pages.tsx makes them. */
export interface DeviceFlowPages {
  /**
   * The device flow's code entry again after the library met an error on the way
   * (`features.deviceFlow.userCodeInputSource`; `err` is the library's: NotFoundError, AbortedError
   * when the person denied, SessionNotFound, InvalidRequest for a bad xsrf…), or the "denied" page.
   */
  deviceCode(ctx: Context, err: unknown, clientId: string | undefined): Promise<void> | void;
  /** "Allow this client on your device?" (`userCodeConfirmSource`): `form` is the library's confirm form. */
  deviceConfirm(ctx: Context, form: string, request: DeviceConfirmRequest): Promise<void> | void;
  /** The device is signed in (`successSource`). */
  deviceDone(ctx: Context, clientId: string | undefined): Promise<void> | void;
}

/** What the device confirm page shows: who asks, for what, from where, and the code to compare. */
export interface DeviceConfirmRequest {
  clientId: string;
  /** the signed-in person, if the browser already is */
  accountId: string | undefined;
  /** the code as the mask shows it */
  userCode: string;
  /** the device authorization request's `scope` and `resource` */
  scope: string | undefined;
  resources: string[];
  /** `deviceInfo` (provider.ts): the device's address and user agent */
  device: { ip?: string | undefined; userAgent?: string | undefined } | undefined;
}
