import {
  type AccessRequest,
  Actions,
  Button,
  ClientHome,
  ClientName,
  type ClientSummary,
  type HiddenField,
  HiddenFields,
  RequestedAccess,
} from './components.tsx';
import { Layout } from './layout.tsx';

export interface ConsentPageProps extends AccessRequest {
  /** where the decision posts (the interaction's consent endpoint) */
  action: string;
  csrf: HiddenField;
  client: ClientSummary;
  /** who is signed in, to say so ("Signed in as alice") */
  account?: { name: string } | null;
}

/** The consent form posts `decision=approve` or `decision=deny` (the button pressed). */
export const CONSENT_DECISION = { field: 'decision', approve: 'approve', deny: 'deny' } as const;

export function ConsentPage(props: ConsentPageProps) {
  return (
    <Layout
      title="Allow access"
      heading={
        <>
          Allow <ClientName client={props.client} /> to use your account?
        </>
      }
    >
      {props.account ? <p class="muted">Signed in as {props.account.name}.</p> : null}
      <RequestedAccess request={props} headingId="requested" />
      <p>Allow it only if you trust this application.</p>
      <ClientHome client={props.client} />
      <form method="post" action={props.action}>
        <HiddenFields fields={[props.csrf]} />
        <Actions>
          <Button name={CONSENT_DECISION.field} value={CONSENT_DECISION.approve}>
            Allow
          </Button>
          <Button variant="secondary" name={CONSENT_DECISION.field} value={CONSENT_DECISION.deny}>
            Deny
          </Button>
        </Actions>
      </form>
    </Layout>
  );
}
