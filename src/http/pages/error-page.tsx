import { Actions, ClientName, type ClientSummary, LinkButton, safeHref } from './components.tsx';
import { Layout } from './layout.tsx';

/**
 * The one page a person sees when a sign-in flow fails: what happened in plain words and what to
 * do next, never an OAuth error code dump, raw JSON or a stack trace.
 */
export type ErrorPageProps = (
  | {
      /** the interaction or authorization request expired, or its cookie is gone (SessionNotFound) */
      kind: 'expired-interaction';
      /** where to start again (the client's sign-in, or the authorization URL) when the flow can restart */
      startAgainHref?: string | null;
    }
  | { kind: 'unknown-client' }
  | {
      /** a user code that does not exist, expired or was used, reached outside the entry form */
      kind: 'invalid-user-code';
      /** the code-entry page */
      retryHref: string;
    }
  | { kind: 'access-denied'; client?: ClientSummary | null }
  | {
      /** too many wrong device codes from this address (RFC 8628 §5.1): blocked for a while */
      kind: 'too-many-attempts';
      retryAfterSeconds: number;
      /** the code-entry page, to try again once the block ends */
      retryHref: string;
    }
  | {
      kind: 'generic';
      /**
       * a short reason a person may act on: an exposed OAuth `error_description` such as
       * "redirect_uri did not match any of the client's registered redirect_uris". Never an internal
       * message (server_error details, database errors).
       */
      reason?: string | null;
    }
) & {
  /** the request id (logs carry it), to quote to an administrator */
  requestId?: string | null;
};

export type ErrorPageKind = ErrorPageProps['kind'];

/** The HTTP status each kind is sent with, unless the caller knows better. */
export const ERROR_PAGE_STATUS: Readonly<Record<ErrorPageKind, number>> = {
  'expired-interaction': 400,
  'unknown-client': 400,
  'invalid-user-code': 400,
  'access-denied': 403,
  'too-many-attempts': 429,
  generic: 500,
};

/**
 * Which page an error from oidc-provider (the `err` and `out` its `renderError(ctx, out, err)`
 * hook receives) deserves. SessionNotFound is the expired interaction (its `_interaction` cookie or
 * record is gone); invalid_client an unknown or removed client; access_denied a refusal.
 */
export function errorPageKind(err: unknown, out?: { error?: string } | null): ErrorPageKind {
  const name = (err as { name?: unknown } | null)?.name;
  const error = out?.error ?? (err as { error?: unknown } | null)?.error;
  if (name === 'SessionNotFound') return 'expired-interaction';
  if (error === 'invalid_client') return 'unknown-client';
  if (error === 'access_denied') return 'access-denied';
  return 'generic';
}

export function ErrorPage(props: ErrorPageProps) {
  const reference = props.requestId ? (
    <p class="muted small">
      If you ask an administrator for help, quote this reference: <code>{props.requestId}</code>
    </p>
  ) : null;
  switch (props.kind) {
    case 'expired-interaction': {
      const again = safeHref(props.startAgainHref);
      return (
        <Layout title="This sign-in has expired" hasError>
          <p>You took longer than allowed, or this sign-in was already finished in another window. Nothing was changed.</p>
          {again ? (
            <Actions>
              <LinkButton href={again}>Start again</LinkButton>
            </Actions>
          ) : (
            <p>Go back to the application you came from and sign in again.</p>
          )}
          {reference}
        </Layout>
      );
    }
    case 'unknown-client':
      return (
        <Layout title="Unknown application" hasError>
          <p>The application that sent you here is not registered with this service, or it has been removed.</p>
          <p>Go back to the application and tell its operator. You have not been signed in.</p>
          {reference}
        </Layout>
      );
    case 'invalid-user-code':
      return (
        <Layout title="That code does not work" hasError>
          <p>The code is not right, has expired, or was already used.</p>
          <p>Check the code on your device, or start again there to get a new one.</p>
          <Actions>
            <LinkButton href={safeHref(props.retryHref) ?? '/'}>Enter a code</LinkButton>
          </Actions>
          {reference}
        </Layout>
      );
    case 'access-denied':
      return (
        <Layout title="Access denied" hasError>
          <p>
            {props.client ? (
              <>
                <ClientName client={props.client} /> was not given access to your account.
              </>
            ) : (
              'The application was not given access to your account.'
            )}
          </p>
          {props.client && safeHref(props.client.homeUri) ? (
            <Actions>
              <LinkButton variant="secondary" href={safeHref(props.client.homeUri) as string}>
                Return to {props.client.name}
              </LinkButton>
            </Actions>
          ) : (
            <p>You can close this window, or go back to the application and try again.</p>
          )}
          {reference}
        </Layout>
      );
    case 'too-many-attempts': {
      const minutes = Math.max(1, Math.ceil(props.retryAfterSeconds / 60));
      return (
        <Layout title="Too many attempts" hasError>
          <p>Too many codes that do not work were entered from your network, so entering codes is paused for a while.</p>
          <p>
            Try again in {minutes === 1 ? 'a minute' : `${minutes} minutes`}. Check the code on your device carefully, or start again there
            to get a new one.
          </p>
          <Actions>
            <LinkButton variant="secondary" href={safeHref(props.retryHref) ?? '/'}>
              Enter a code
            </LinkButton>
          </Actions>
          {reference}
        </Layout>
      );
    }
    default:
      return (
        <Layout title="Something went wrong" hasError>
          <p>We could not complete this request.</p>
          {props.reason ? <p>{props.reason}</p> : null}
          <p>Go back to the application you came from and try again.</p>
          {reference}
        </Layout>
      );
  }
}
