import { Actions, Button, ClientName, type ClientSummary, HiddenFields, LinkButton, safeHref } from './components.tsx';
import { Layout } from './layout.tsx';
import type { ProviderForm } from './provider-form.ts';

/**
 * RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0), driven by oidc-provider's
 * `features.rpInitiatedLogout.logoutSource(ctx, form)` and `postLogoutSuccessSource(ctx)`.
 */

export interface LogoutConfirmPageProps {
  /** oidc-provider's `op.logoutForm` (its xsrf field), read with readProviderForm */
  form: ProviderForm;
  /** the client that asked to sign the person out, if it said who it is */
  client?: ClientSummary | null;
  account?: { name: string } | null;
}

/** "Yes" posts `logout=yes`; "No" posts the form without it, and oidc-provider returns to the client. */
export const LOGOUT_CONFIRM = { field: 'logout', value: 'yes' } as const;

export function LogoutConfirmPage({ form, client, account }: LogoutConfirmPageProps) {
  return (
    <Layout title="Sign out">
      <p>
        {account ? <>You are signed in as {account.name}. </> : null}
        {client ? (
          <>
            <ClientName client={client} /> asks to sign you out.
          </>
        ) : null}
      </p>
      <p>Signing out ends your session here, in this browser.</p>
      <form id={form.id} method="post" action={form.action}>
        <HiddenFields fields={form.hidden} />
        <Actions>
          <Button name={LOGOUT_CONFIRM.field} value={LOGOUT_CONFIRM.value}>
            Yes, sign me out
          </Button>
          <Button variant="secondary">No, stay signed in</Button>
        </Actions>
      </form>
    </Layout>
  );
}

export interface LoggedOutPageProps {
  /** the client the person signed out of; with a safe `homeUri`, a link back to it */
  client?: ClientSummary | null;
}

/** Never a dead end: a way back to the client when there is one, else what to do next. */
export function LoggedOutPage({ client }: LoggedOutPageProps) {
  const back = client ? safeHref(client.homeUri) : null;
  return (
    <Layout title="You are signed out">
      <p>
        You have signed out
        {client ? (
          <>
            {' '}
            of <ClientName client={client} />
          </>
        ) : null}
        .
      </p>
      {back && client ? (
        <Actions>
          <LinkButton href={back}>Return to {client.name}</LinkButton>
        </Actions>
      ) : (
        <p>You can close this window now.</p>
      )}
    </Layout>
  );
}
