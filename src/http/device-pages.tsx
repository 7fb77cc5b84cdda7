import type { KeyObject } from 'node:crypto';
import { randomBytes } from 'node:crypto';
import type { Context } from 'koa';
import type { BrandingConfig } from '../config/config.ts';
import type { ApiResourceService } from '../domain/api-resources/api-resource.service.ts';
import type { ApplicationService } from '../domain/applications/application.service.ts';
import type { UserService } from '../domain/users/user.service.ts';
import { OIDC_CLAIMS } from '../oidc/accounts.ts';
import { USER_CODE_CHARSET, USER_CODE_MASK } from '../oidc/device-flow.ts';
import type { DeviceFlowPages } from '../oidc/protocol-pages.ts';
import { OIDC_ROUTES } from '../oidc/routes.ts';
import { CSRF_FIELD, csrfToken, isCsrfToken } from './csrf.ts';
import {
  type ApiAccessRequest,
  DeviceCodePage,
  DeviceConfirmPage,
  DeviceDonePage,
  ErrorPage,
  readProviderForm,
  sendPage,
  type UserCodeError,
  userCodeError,
} from './pages/index.ts';
import { clientSummary } from './protocol-pages.tsx';

/**
 * The device flow's pages (RFC 8628 §3.3), made of the typed components in ./pages:
 * - the code-entry page, which is Gatehouse's own (http/routes/device.tsx shows it, checks what is
 *   typed, then hands a code that names a pending request to oidc-provider) with a CSRF token of
 *   its own (csrf.ts `device`), so that it needs no stored session;
 * - and the pages oidc-provider shows through `features.deviceFlow` (oidc/protocol-pages.ts): the
 *   confirm page (who asks, for what, from where; Allow or Deny with the library's xsrf form), the
 *   done page, the denied page, and the entry page again after an error on the library's side.
 */
export interface DevicePageDeps {
  branding: BrandingConfig;
  applications: Pick<ApplicationService, 'findClient'>;
  users: Pick<UserService, 'findById'>;
  apis: Pick<ApiResourceService, 'resolve'>;
  csrfKey: KeyObject;
  /** whether the issuer is https (the entry cookie is Secure then) */
  secure: boolean;
}

/** The cookie the entry form's CSRF token is bound to (a random value; no session). */
export const DEVICE_ENTRY_COOKIE = '_device_entry';
const ENTRY_NONCE = /^[A-Za-z0-9_-]{22}$/;

/** The code-entry page's own address (the verification URI, RFC 8628 §3.2). */
export const VERIFICATION_PATH = OIDC_ROUTES.code_verification;

/** OIDC scopes (the rest of a device request's `scope` belongs to its APIs). */
const OIDC_SCOPES = new Set([...Object.keys(OIDC_CLAIMS), 'offline_access']);

export interface EntryPageOptions {
  error?: UserCodeError | null;
  /** what the person typed, shown again with an error */
  userCode?: string | null;
  status?: number;
}

export function createDevicePages(deps: DevicePageDeps) {
  const { branding, applications } = deps;
  const summaryOf = async (clientId: string | undefined) => (clientId ? clientSummary(await applications.findClient(clientId)) : null);

  /** The entry form's CSRF field, bound to the browser's `_device_entry` cookie (set when missing). */
  function entryCsrf(ctx: Context) {
    let nonce = ctx.cookies.get(DEVICE_ENTRY_COOKIE);
    if (!nonce || !ENTRY_NONCE.test(nonce)) {
      nonce = randomBytes(16).toString('base64url');
      ctx.cookies.set(DEVICE_ENTRY_COOKIE, nonce, {
        httpOnly: true,
        sameSite: 'lax',
        secure: deps.secure,
        path: VERIFICATION_PATH,
        signed: false,
        overwrite: true,
      });
    }
    return { name: CSRF_FIELD, value: csrfToken(deps.csrfKey, 'device', nonce) };
  }

  function sendEntryPage(ctx: Context, options: EntryPageOptions = {}) {
    const csrf = entryCsrf(ctx);
    sendPage(
      ctx,
      <DeviceCodePage
        form={{ id: 'op.deviceInputForm', action: VERIFICATION_PATH, hidden: [[csrf.name, csrf.value]] }}
        charset={USER_CODE_CHARSET}
        mask={USER_CODE_MASK}
        userCode={options.userCode ?? null}
        error={options.error ?? null}
      />,
      { branding, status: options.status ?? (options.error ? 400 : 200) },
    );
  }

  /** Whether a posted entry form carries the token bound to this browser's cookie. */
  function isEntryCsrf(ctx: Context, presented: unknown): boolean {
    const nonce = ctx.cookies.get(DEVICE_ENTRY_COOKIE);
    return !!nonce && ENTRY_NONCE.test(nonce) && isCsrfToken(deps.csrfKey, 'device', nonce, presented);
  }

  /** What the device request asks for, in the consent page's terms (RequestedAccess). */
  async function accessRequest(clientId: string, scope: string | undefined, resources: string[]) {
    const requested = (scope ?? '').split(' ').filter(Boolean);
    const granted = (await applications.findClient(clientId))?.apis ?? [];
    const apis: ApiAccessRequest[] = [];
    for (const identifier of resources) {
      const api = await deps.apis.resolve(identifier);
      const allowed = granted.find((g) => g.identifier === identifier)?.scopes ?? [];
      const scopes = requested.filter((s) => !OIDC_SCOPES.has(s) && allowed.includes(s));
      apis.push({ name: api?.name ?? identifier, identifier, scopes: scopes.map((value) => ({ value })) });
    }
    return { oidcScopes: requested.filter((s) => OIDC_SCOPES.has(s)), apis };
  }

  const requestId = (ctx: Context) => (typeof ctx.state?.reqId === 'string' ? ctx.state.reqId : null);

  const pages: DeviceFlowPages = {
    async deviceCode(ctx, err, clientId) {
      const kind = userCodeError(err);
      if (kind === 'aborted') {
        sendPage(ctx, <DeviceDonePage outcome="denied" client={await summaryOf(clientId)} anotherCodeHref={VERIFICATION_PATH} />, {
          branding,
        });
        return;
      }
      const name = (err as { name?: unknown } | null)?.name;
      if (name === 'SessionNotFound') {
        // The sign-in of a device request expired or finished in another window.
        sendPage(ctx, <ErrorPage kind="expired-interaction" startAgainHref={VERIFICATION_PATH} requestId={requestId(ctx)} />, {
          branding,
          status: 400,
        });
        return;
      }
      if ((err as { error?: unknown } | null)?.error === 'invalid_client') {
        sendPage(ctx, <ErrorPage kind="unknown-client" requestId={requestId(ctx)} />, { branding, status: 400 });
        return;
      }
      const typed = (err as { userCode?: unknown } | null)?.userCode;
      sendEntryPage(ctx, { error: kind, userCode: typeof typed === 'string' ? typed.slice(0, 64) : null });
    },

    async deviceConfirm(ctx, form, request) {
      const [summary, user, access] = await Promise.all([
        summaryOf(request.clientId),
        request.accountId ? deps.users.findById(request.accountId) : null,
        accessRequest(request.clientId, request.scope, request.resources),
      ]);
      sendPage(
        ctx,
        <DeviceConfirmPage
          form={readProviderForm(form)}
          client={summary ?? { name: request.clientId }}
          userCode={request.userCode}
          account={user ? { name: user.username } : null}
          device={{ ip: request.device?.ip ?? null, userAgent: request.device?.userAgent ?? null }}
          oidcScopes={access.oidcScopes}
          apis={access.apis}
        />,
        { branding },
      );
    },

    async deviceDone(ctx, clientId) {
      sendPage(ctx, <DeviceDonePage outcome="approved" client={await summaryOf(clientId)} anotherCodeHref={VERIFICATION_PATH} />, {
        branding,
      });
    },
  };

  return { pages, sendEntryPage, isEntryCsrf };
}

export type DevicePages = ReturnType<typeof createDevicePages>;
