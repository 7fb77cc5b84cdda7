import { Actions, Button, ClientName, type ClientSummary, type HiddenField, HiddenFields, Notice, TextField } from './components.tsx';
import { Layout } from './layout.tsx';

/**
 * Why the previous attempt failed. `invalid-credentials` is the one answer for a wrong password,
 * an unknown username, a deactivated account and an account blocked after failed attempts: the
 * page must not tell them apart. `too-many-attempts` is for a block on the client's IP address,
 * which says nothing about any account.
 */
export type LoginError = 'invalid-credentials' | 'missing-username' | 'missing-password' | 'too-many-attempts';

export interface LoginPageProps {
  /** where the form posts (the interaction's login endpoint) */
  action: string;
  /** the form's CSRF field */
  csrf: HiddenField;
  /** the application the person is signing in to, when known */
  client?: ClientSummary | null;
  /** the username to show again after a failed attempt (or a `login_hint`); never the password */
  username?: string;
  error?: LoginError | null;
  /** with too-many-attempts: how long until the next try, to say so in words */
  retryAfterSeconds?: number | null;
  /** where "Cancel" posts (the interaction's abort endpoint, with the same CSRF field); none: no cancel button */
  cancelAction?: string | null;
}

/** Form field names the login endpoint reads. */
export const LOGIN_FIELDS = { username: 'username', password: 'password' } as const;

const INVALID = 'The username or password is not right. Check them and try again.';

export function LoginPage(props: LoginPageProps) {
  const { error } = props;
  const invalid = error === 'invalid-credentials';
  return (
    <Layout title="Sign in" hasError={Boolean(error)}>
      {props.client ? (
        <p class="lead">
          to continue to <ClientName client={props.client} />
        </p>
      ) : null}
      {error === 'too-many-attempts' ? (
        <Notice tone="error" id="login-error">
          <p>Too many sign-in attempts from your network. Wait {describeWait(props.retryAfterSeconds)}, then try again.</p>
        </Notice>
      ) : null}
      <form method="post" action={props.action}>
        <HiddenFields fields={[props.csrf]} />
        <TextField
          id="username"
          name={LOGIN_FIELDS.username}
          label="Username"
          value={props.username}
          autocomplete="username"
          autocapitalize="none"
          spellcheck={false}
          error={error === 'missing-username' ? 'Enter your username.' : null}
          invalid={invalid}
          describedBy={invalid ? 'password-error' : undefined}
        />
        <TextField
          id="password"
          name={LOGIN_FIELDS.password}
          label="Password"
          type="password"
          autocomplete="current-password"
          error={error === 'missing-password' ? 'Enter your password.' : invalid ? INVALID : null}
        />
        <Actions>
          <Button>Sign in</Button>
          {props.cancelAction ? (
            <Button variant="secondary" form="cancel-form">
              Cancel
            </Button>
          ) : null}
        </Actions>
      </form>
      {props.cancelAction ? (
        <form id="cancel-form" method="post" action={props.cancelAction}>
          <HiddenFields fields={[props.csrf]} />
        </form>
      ) : null}
    </Layout>
  );
}

function describeWait(seconds: number | null | undefined): string {
  if (!seconds || seconds <= 0) return 'a few minutes';
  if (seconds < 60) return `${Math.ceil(seconds)} seconds`;
  const minutes = Math.ceil(seconds / 60);
  return minutes === 1 ? 'a minute' : `${minutes} minutes`;
}
