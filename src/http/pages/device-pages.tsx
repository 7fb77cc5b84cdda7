import {
  type AccessRequest,
  Actions,
  Button,
  ClientHome,
  ClientName,
  type ClientSummary,
  HiddenFields,
  LinkButton,
  Notice,
  RequestedAccess,
  TextField,
} from './components.tsx';
import { Layout } from './layout.tsx';
import type { ProviderForm } from './provider-form.ts';

/**
 * The device authorization grant's pages (RFC 8628 §3.3): a person types the code their device
 * shows, checks which client asks for what, and approves or denies. oidc-provider drives them
 * through `features.deviceFlow.userCodeInputSource(ctx, form, out, err)`,
 * `userCodeConfirmSource(ctx, form, client, deviceInfo, userCode)` and `successSource(ctx)`; the
 * `form` markup it passes is read with readProviderForm (provider-form.ts), its xsrf field kept.
 */

/** Why the code was not accepted; `userCodeError` maps oidc-provider's errors onto these. */
export type UserCodeError = 'missing' | 'invalid' | 'expired' | 'used' | 'failed';

/** The user-code charset and mask of `features.deviceFlow` (oidc-provider's defaults: base-20, `****-****`). */
export interface UserCodeFormat {
  charset?: 'base-20' | 'digits';
  mask?: string;
}

export interface DeviceCodePageProps extends UserCodeFormat {
  /** oidc-provider's `op.deviceInputForm`, read with readProviderForm */
  form: ProviderForm;
  /** the code typed before, shown again with an error (`err.userCode`) */
  userCode?: string | null;
  error?: UserCodeError | null;
}

/** The field oidc-provider reads the code from. */
export const USER_CODE_FIELD = 'user_code';

const CODE_ERRORS: Readonly<Record<UserCodeError, string>> = {
  missing: 'Enter the code shown on your device.',
  invalid: 'That code is not right. Check it against your device and try again.',
  expired: 'That code has expired. Start again on your device to get a new code.',
  used: 'That code has already been used. Start again on your device to get a new code.',
  failed: 'Something went wrong. Enter the code again.',
};

/** An example code in the configured format, e.g. BCDF-GHJK or 0123-4567. */
export function exampleUserCode({ charset = 'base-20', mask = '****-****' }: UserCodeFormat): string {
  const alphabet = charset === 'digits' ? '0123456789' : 'BCDFGHJKLMNPQRSTVWXZ';
  let i = 0;
  return mask.replace(/\*/g, () => alphabet[i++ % alphabet.length] as string);
}

export function DeviceCodePage(props: DeviceCodePageProps) {
  const digits = props.charset === 'digits';
  const example = exampleUserCode(props);
  const hint = digits
    ? `It looks like ${example}. The dash is optional.`
    : `It looks like ${example}. Capital letters and the dash are optional.`;
  return (
    <Layout title="Connect a device" hasError={Boolean(props.error)}>
      <p>Enter the code shown on the device you want to sign in with.</p>
      <form id={props.form.id} method="post" action={props.form.action}>
        <HiddenFields fields={props.form.hidden} />
        <TextField
          id="user-code"
          name={USER_CODE_FIELD}
          label="Code"
          hint={hint}
          value={props.userCode ?? ''}
          className="user-code"
          autocomplete="off"
          autocapitalize={digits ? 'none' : 'characters'}
          inputMode={digits ? 'numeric' : 'text'}
          spellcheck={false}
          error={props.error ? CODE_ERRORS[props.error] : null}
        />
        <Actions>
          <Button>Continue</Button>
        </Actions>
      </form>
    </Layout>
  );
}

/**
 * Maps the error oidc-provider hands `userCodeInputSource` onto the entry page's message:
 * NoCodeError, NotFoundError, ExpiredError and AlreadyUsedError (lib/helpers/re_render_errors.js);
 * `aborted` (AbortedError: the person pressed Deny) is not an entry error but the "denied" page;
 * anything else (a missing xsrf, a lost session) asks for the code again.
 */
export function userCodeError(err: unknown): UserCodeError | 'aborted' | null {
  if (!err) return null;
  switch ((err as { name?: unknown }).name) {
    case 'NoCodeError':
      return 'missing';
    case 'NotFoundError':
      return 'invalid';
    case 'ExpiredError':
      return 'expired';
    case 'AlreadyUsedError':
      return 'used';
    case 'AbortedError':
      return 'aborted';
    default:
      return 'failed';
  }
}

export interface DeviceConfirmPageProps extends AccessRequest {
  /** oidc-provider's `op.deviceConfirmForm` (xsrf, user_code, confirm), read with readProviderForm */
  form: ProviderForm;
  client: ClientSummary;
  /** the code, as oidc-provider formats it with the mask (its `userCode` argument) */
  userCode: string;
  /** who is signed in */
  account?: { name: string } | null;
  /** where the device asked from (oidc-provider's `deviceInfo`: `ip` and `ua` by default) */
  device?: { ip?: string | null; userAgent?: string | null } | null;
}

/** Deny posts `abort=yes` with the confirm form, as oidc-provider expects. */
export const DEVICE_ABORT = { field: 'abort', value: 'yes' } as const;

export function DeviceConfirmPage(props: DeviceConfirmPageProps) {
  const device = [props.device?.userAgent, props.device?.ip && `from ${props.device.ip}`].filter(Boolean).join(' ');
  return (
    <Layout
      title="Connect a device"
      heading={
        <>
          Allow <ClientName client={props.client} /> on your device?
        </>
      }
    >
      {props.account ? <p class="muted">Signed in as {props.account.name}.</p> : null}
      <p>Check that your device shows this code:</p>
      <p>
        <span class="user-code-display">{props.userCode}</span>
      </p>
      {device ? <p class="muted small">The request came from {device}.</p> : null}
      <RequestedAccess request={props} headingId="requested" />
      <Notice>
        <p>If you did not start this on a device of yours, or the code does not match, choose Deny.</p>
      </Notice>
      <ClientHome client={props.client} />
      <form id={props.form.id} method="post" action={props.form.action}>
        <HiddenFields fields={props.form.hidden} />
        <Actions>
          <Button>Allow</Button>
          <Button variant="secondary" name={DEVICE_ABORT.field} value={DEVICE_ABORT.value}>
            Deny
          </Button>
        </Actions>
      </form>
    </Layout>
  );
}

export interface DeviceDonePageProps {
  /** approved: `successSource`; denied: `userCodeInputSource` with an AbortedError */
  outcome: 'approved' | 'denied';
  client?: ClientSummary | null;
  /** the code-entry page, offered to connect another device */
  anotherCodeHref?: string | null;
}

export function DeviceDonePage({ outcome, client, anotherCodeHref }: DeviceDonePageProps) {
  const approved = outcome === 'approved';
  return (
    <Layout title={approved ? 'Device connected' : 'Request denied'}>
      {approved ? (
        <p>
          {client ? (
            <>
              You are signed in to <ClientName client={client} /> on your device.
            </>
          ) : (
            'You are signed in on your device.'
          )}
        </p>
      ) : (
        <p>
          {client ? (
            <>
              <ClientName client={client} /> was not given access.
            </>
          ) : (
            'The device was not given access.'
          )}
        </p>
      )}
      <p>You can close this window and return to your device.</p>
      {anotherCodeHref ? (
        <Actions>
          <LinkButton variant="secondary" href={anotherCodeHref}>
            Connect another device
          </LinkButton>
        </Actions>
      ) : null}
    </Layout>
  );
}
