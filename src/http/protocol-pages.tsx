import type { Context } from 'koa';
import type { BrandingConfig } from '../config/config.ts';
import type { ClientRecord } from '../domain/applications/application.schema.ts';
import type { ApplicationService } from '../domain/applications/application.service.ts';
import type { UserService } from '../domain/users/user.service.ts';
import type { ProtocolPages } from '../oidc/protocol-pages.ts';
import {
  type ClientSummary,
  ERROR_PAGE_STATUS,
  ErrorPage,
  type ErrorPageProps,
  errorPageKind,
  LoggedOutPage,
  LogoutConfirmPage,
  readProviderForm,
  sendPage,
} from './pages/index.ts';

/**
 * The pages oidc-provider shows through its hooks (oidc/protocol-pages.ts), made of the typed
 * components in ./pages: every error a person's browser meets at a protocol endpoint, the logout
 * confirmation and the signed-out page.
 */
export interface ProtocolPageDeps {
  branding: BrandingConfig;
  applications: Pick<ApplicationService, 'findClient'>;
  users: Pick<UserService, 'findById'>;
}

/**
 * What a page says about a client: its name, and a way back to it. Applications have no
 * `client_uri`; the origin of the first web redirect URI is where the application lives.
 */
export function clientSummary(record: Pick<ClientRecord, 'name' | 'redirectUris'> | null | undefined): ClientSummary | null {
  if (!record) return null;
  const web = record.redirectUris.map((uri) => URL.parse(uri)).find((url) => url?.protocol === 'https:' || url?.protocol === 'http:');
  return { name: record.name, homeUri: web ? `${web.origin}/` : null };
}

/** The error page for an error oidc-provider or a sign-in route met: the kind, status and safe reason. */
export function errorPageFor(ctx: Context, err: unknown, out?: { error?: string; error_description?: string | undefined } | null) {
  const kind = errorPageKind(err, out);
  const status = typeof ctx.status === 'number' && ctx.status >= 400 ? ctx.status : ERROR_PAGE_STATUS[kind];
  const requestId = typeof ctx.state?.reqId === 'string' ? ctx.state.reqId : null;
  // Only what the library exposes to the client anyway (4xx descriptions), never a 5xx's detail.
  const exposed = (err as { expose?: unknown } | null)?.expose === true && status < 500;
  const reason = exposed ? (out?.error_description ?? (err as { error_description?: string }).error_description ?? null) : null;
  const props: ErrorPageProps = kind === 'generic' ? { kind, reason, requestId } : ({ kind, requestId } as ErrorPageProps);
  return { props, status };
}

export function createProtocolPages({ branding, applications, users }: ProtocolPageDeps): ProtocolPages {
  const summaryOf = async (clientId: string | undefined) => (clientId ? clientSummary(await applications.findClient(clientId)) : null);

  return {
    error(ctx, out, err) {
      const { props, status } = errorPageFor(ctx, err, out);
      sendPage(ctx, <ErrorPage {...props} />, { branding, status });
    },

    async logoutConfirm(ctx, form, signedIn) {
      const [record, user] = await Promise.all([
        signedIn.clientId ? applications.findClient(signedIn.clientId) : null,
        signedIn.accountId ? users.findById(signedIn.accountId) : null,
      ]);
      sendPage(
        ctx,
        <LogoutConfirmPage form={readProviderForm(form)} client={clientSummary(record)} account={user ? { name: user.username } : null} />,
        // The confirmation's answer redirects to a registered post-logout URI: the CSP must allow it.
        { branding, formActions: record?.postLogoutRedirectUris ?? [] },
      );
    },

    async loggedOut(ctx, clientId) {
      sendPage(ctx, <LoggedOutPage client={await summaryOf(clientId)} />, { branding });
    },
  };
}
