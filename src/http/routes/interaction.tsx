import type { KeyObject } from 'node:crypto';
import type Router from '@koa/router';
import type { Context } from 'koa';
import { errors } from 'oidc-provider';
import type { BrandingConfig } from '../../config/config.ts';
import type { ApiResourceService } from '../../domain/api-resources/api-resource.service.ts';
import { DEVICE_CODE_GRANT } from '../../domain/applications/application.schema.ts';
import type { ApplicationService } from '../../domain/applications/application.service.ts';
import type { UserService } from '../../domain/users/user.service.ts';
import { hasControlCharacters } from '../../lib/control-characters.ts';
import { readForm } from '../../oidc/form-body.ts';
import { INTERACTION_PATH, type Interactions, type InteractionView, interactionUrl, isInteractionGone } from '../../oidc/interactions.ts';
import { OIDC_ROUTES } from '../../oidc/routes.ts';
import { CSRF_FIELD, csrfToken, isCsrfToken } from '../csrf.ts';
import {
  type ApiAccessRequest,
  CONSENT_DECISION,
  ConsentPage,
  ErrorPage,
  LOGIN_FIELDS,
  type LoginError,
  LoginPage,
  sendPage,
} from '../pages/index.ts';
import type { PasswordThrottle } from '../password-throttle.ts';
import { clientSummary, errorPageFor } from '../protocol-pages.tsx';

/**
 * GET  /interaction/:uid            the sign-in step oidc-provider asks for: the login page, or the
 *                                   consent page once the person is signed in
 * POST /interaction/:uid/login      username and password → the next step (303)
 * POST /interaction/:uid/consent    decision=approve → the client gets its code (303);
 *                                   decision=deny → "access denied", with the way back to the client
 * POST /interaction/:uid/abort      Cancel on the login page: as deny
 *
 * A device flow (RFC 8628) signs in through the same pages; its consent is the device confirm page
 * shown before (http/device-pages.tsx), so its consent step finishes without asking again, and a
 * refusal goes straight back to the device verification step, which tells the device.
 *
 * oidc-provider sends the browser here (`interactions.url`) with an `_interaction` cookie naming
 * the interaction; these routes read and finish it through oidc/interactions.ts. Every form carries
 * a CSRF token bound to that interaction (csrf.ts), and every failure is a page
 * (http/pages ErrorPage), never JSON or a stack trace.
 *
 * Passwords are checked by the users domain (argon2id; a dummy hash for unknown users, so timing
 * tells nothing) behind the password throttle shared with HTTP Basic (password-throttle.ts): a
 * blocked account is answered exactly as a wrong password, a blocked address says so, and each
 * blocked attempt writes an audit line (a log line: an anonymous flood must not become writes).
 */
export interface InteractionRouteDeps {
  interactions: Interactions;
  users: Pick<UserService, 'verifyPassword' | 'recordLogin' | 'findById'>;
  applications: Pick<ApplicationService, 'findClient'>;
  apis: Pick<ApiResourceService, 'resolve'>;
  passwordThrottle: PasswordThrottle | null;
  csrfKey: KeyObject;
  branding: BrandingConfig;
  bodyLimitBytes: number;
}

/** Usernames longer than this cannot exist (users.username is at most 150 characters). */
const LONGEST_USERNAME = 150;
const LONGEST_PASSWORD = 1024;
const LOGGED_USERNAME_CHARS = 200;

declare module 'koa' {
  interface DefaultState {
    /** the client the sign-in is for, once known (the error page links back to it) */
    interactionClientId?: string;
  }
}

export function registerInteractionRoutes(router: Router, deps: InteractionRouteDeps): void {
  const { interactions, branding } = deps;
  const path = (uid: string, step?: string) => `${interactionUrl(uid)}${step ? `/${step}` : ''}`;
  const csrfField = (uid: string) => ({ name: CSRF_FIELD, value: csrfToken(deps.csrfKey, 'interaction', uid) });

  /** Renders any failure as the error page; an interaction that is gone (expired, finished) as "start again". */
  const asPage = (handler: (ctx: Context, uid: string) => Promise<void>) => async (ctx: Context) => {
    const uid = String(ctx.params.uid);
    try {
      await handler(ctx, uid);
    } catch (err) {
      if (isInteractionGone(err)) {
        // The client can start a new sign-in (with new state and PKCE values): its address is the way on.
        const clientId = ctx.state.interactionClientId ?? (typeof ctx.query.client_id === 'string' ? ctx.query.client_id : undefined);
        const record = clientId && !hasControlCharacters(clientId) ? await deps.applications.findClient(clientId) : null;
        const client = record?.isActive ? clientSummary(record) : null;
        // A device's sign-in starts again where the person types the code (RFC 8628 §3.3).
        const device = record?.isActive && record.grantTypes.includes(DEVICE_CODE_GRANT);
        const startAgain = device ? OIDC_ROUTES.code_verification : (client?.homeUri ?? null);
        sendPage(ctx, <ErrorPage kind="expired-interaction" startAgainHref={startAgain} requestId={ctx.state.reqId} />, {
          branding,
          status: 400,
        });
        return;
      }
      if (!(err instanceof errors.OIDCProviderError)) ctx.state.log.error({ err }, 'sign-in page failed');
      ctx.status = err instanceof errors.OIDCProviderError ? err.status : 500;
      const { props, status } = errorPageFor(ctx, err);
      sendPage(ctx, <ErrorPage {...props} />, { branding, status });
    }
  };

  /** Reads the posted form and checks its CSRF token against the interaction in the URL. */
  async function postedForm(ctx: Context, uid: string): Promise<Record<string, string>> {
    const form = await readForm(ctx, deps.bodyLimitBytes);
    if (!isCsrfToken(deps.csrfKey, 'interaction', uid, form[CSRF_FIELD])) {
      throw new errors.InvalidRequest('the form is not valid any more: go back and send it again');
    }
    return form;
  }

  /** Who the client is, and the redirect URIs its final redirect may go to (the pages' CSP form-action). */
  async function clientOf(ctx: Context, view: InteractionView) {
    ctx.state.interactionClientId = view.clientId;
    const record = await deps.applications.findClient(view.clientId);
    if (!record?.isActive) throw new errors.InvalidClient('client is invalid', 'client not found');
    return { record, summary: clientSummary(record) ?? { name: view.clientId }, formActions: record.redirectUris };
  }

  async function renderLogin(ctx: Context, view: InteractionView, error: LoginError | null, username: string, retryAfterSeconds?: number) {
    const client = await clientOf(ctx, view);
    const status = error === null ? 200 : error === 'too-many-attempts' ? 429 : 400;
    if (retryAfterSeconds) ctx.set('Retry-After', String(retryAfterSeconds));
    sendPage(
      ctx,
      <LoginPage
        action={`${path(view.uid, 'login')}?client_id=${encodeURIComponent(view.clientId)}`}
        csrf={csrfField(view.uid)}
        client={client.summary}
        username={username}
        error={error}
        retryAfterSeconds={retryAfterSeconds ?? null}
        cancelAction={`${path(view.uid, 'abort')}?client_id=${encodeURIComponent(view.clientId)}`}
      />,
      { branding, status, formActions: client.formActions },
    );
  }

  async function renderConsent(ctx: Context, view: InteractionView) {
    const client = await clientOf(ctx, view);
    const account = view.accountId ? await deps.users.findById(view.accountId) : null;
    const apis: ApiAccessRequest[] = await Promise.all(
      view.missing.apis.map(async ({ identifier, scopes }) => {
        const api = await deps.apis.resolve(identifier);
        return { name: api?.name ?? identifier, identifier, scopes: scopes.map((value) => ({ value })) };
      }),
    );
    sendPage(
      ctx,
      <ConsentPage
        action={`${path(view.uid, 'consent')}?client_id=${encodeURIComponent(view.clientId)}`}
        csrf={csrfField(view.uid)}
        client={client.summary}
        account={account ? { name: account.username } : null}
        oidcScopes={view.missing.oidcScopes}
        claims={view.missing.claims}
        apis={apis}
      />,
      { branding, formActions: client.formActions },
    );
  }

  /** 303 See Other: the browser GETs the next step (RFC 9110 §15.4.4), never re-posts the form. */
  const seeOther = (ctx: Context, to: string) => {
    ctx.status = 303;
    ctx.redirect(to);
  };

  router.get(
    `${INTERACTION_PATH}/:uid`,
    asPage(async (ctx, uid) => {
      const view = await interactions.details(ctx, uid);
      if (view.prompt === 'login') return renderLogin(ctx, view, null, view.loginHint?.slice(0, LONGEST_USERNAME) ?? '');
      // A device flow's consent was given on the device confirm page (routes/device.tsx), which
      // listed the same request before the person signed in: asking again would be asking twice.
      if (view.prompt === 'consent' && view.deviceFlow) return seeOther(ctx, await interactions.finishConsent(ctx, uid));
      if (view.prompt === 'consent') return renderConsent(ctx, view);
      throw new errors.InvalidRequest(`this sign-in step (${view.prompt}) is not supported`);
    }),
  );

  router.post(
    `${INTERACTION_PATH}/:uid/login`,
    asPage(async (ctx, uid) => {
      const view = await interactions.details(ctx, uid);
      ctx.state.interactionClientId = view.clientId;
      const form = await postedForm(ctx, uid);
      if (view.prompt !== 'login') return seeOther(ctx, path(uid));
      const username = (form[LOGIN_FIELDS.username] ?? '').trim();
      const password = form[LOGIN_FIELDS.password] ?? '';
      if (!username) return renderLogin(ctx, view, 'missing-username', '');
      if (!password) return renderLogin(ctx, view, 'missing-password', username.slice(0, LONGEST_USERNAME));
      const shown = username.slice(0, LONGEST_USERNAME);
      const log = ctx.state.log;
      const throttle = deps.passwordThrottle;

      if (throttle) {
        const blocked = await throttle.blocked(username, ctx.ip, log);
        if (blocked.ms > 0) {
          log.info(
            {
              audit: 'auth.password_blocked',
              username: username.slice(0, LOGGED_USERNAME_CHARS),
              ip: ctx.ip,
              path: ctx.path,
              limit: blocked.limit,
            },
            'password sign-in refused: blocked',
          );
          // A blocked account reads as a wrong password; a blocked address may say so.
          return blocked.limit === 'ip'
            ? renderLogin(ctx, view, 'too-many-attempts', shown, Math.ceil(blocked.ms / 1000))
            : renderLogin(ctx, view, 'invalid-credentials', shown);
        }
      }
      // A name that cannot exist is checked as an unknown one, in the time of a password check.
      const lookup = username.length > LONGEST_USERNAME || hasControlCharacters(username) ? '' : username;
      const user = await deps.users.verifyPassword(lookup, password.slice(0, LONGEST_PASSWORD));
      if (!user) {
        if (throttle) {
          const { blockedMs, delayMs, blockedLimit } = await throttle.recordFailure(username, ctx.ip, log);
          if (blockedMs > 0 && blockedLimit === 'ip')
            return renderLogin(ctx, view, 'too-many-attempts', shown, Math.ceil(blockedMs / 1000));
          if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
        }
        return renderLogin(ctx, view, 'invalid-credentials', shown);
      }
      await throttle?.recordSuccess(username, ctx.ip, log);
      await deps.users.recordLogin(user.id);
      log.info({ audit: 'auth.signed_in', userId: user.id, clientId: view.clientId }, 'signed in');
      seeOther(ctx, await interactions.finishLogin(ctx, uid, user.id));
    }),
  );

  router.post(
    `${INTERACTION_PATH}/:uid/consent`,
    asPage(async (ctx, uid) => {
      const view = await interactions.details(ctx, uid);
      ctx.state.interactionClientId = view.clientId;
      const form = await postedForm(ctx, uid);
      if (view.prompt !== 'consent') return seeOther(ctx, path(uid));
      if (form[CONSENT_DECISION.field] === CONSENT_DECISION.approve) return seeOther(ctx, await interactions.finishConsent(ctx, uid));
      return denied(ctx, view, uid);
    }),
  );

  router.post(
    `${INTERACTION_PATH}/:uid/abort`,
    asPage(async (ctx, uid) => {
      const view = await interactions.details(ctx, uid);
      ctx.state.interactionClientId = view.clientId;
      await postedForm(ctx, uid);
      return denied(ctx, view, uid);
    }),
  );

  /**
   * The person said no. The client must hear it (RFC 6749 §4.1.2.1 `access_denied` at its
   * redirect URI): the page says what happened, and its "Return to …" link is the step that
   * delivers that answer (oidc-provider's resume URL), so the person is never left stranded.
   */
  async function denied(ctx: Context, view: InteractionView, uid: string) {
    const client = await clientOf(ctx, view);
    const returnTo = await interactions.deny(ctx, uid);
    // A device hears the refusal only once the verification step resumes (RFC 8628 §3.5
    // access_denied): go there at once; it shows the "denied" page (http/device-pages.tsx).
    if (view.deviceFlow) return seeOther(ctx, returnTo);
    sendPage(
      ctx,
      <ErrorPage kind="access-denied" client={{ name: client.summary.name, homeUri: returnTo }} requestId={ctx.state.reqId} />,
      {
        branding,
        status: 403,
      },
    );
  }
}
