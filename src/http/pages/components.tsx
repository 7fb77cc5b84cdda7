import type { ComponentChildren } from 'preact';
import { describeClaims, describeOidcScopes } from './scopes.ts';

/**
 * The pieces every page is made of. Everything is rendered by preact-render-to-string, which
 * escapes text and attribute values: a client name such as `<img src=x onerror=…>` is text. The
 * one thing escaping does not cover is a URL's scheme (`javascript:` in an href is still markup
 * that runs): links built from data (a client's home page) go through `safeHref`.
 */

/** A hidden form field: the CSRF token of Gatehouse's own forms, or one of oidc-provider's. */
export interface HiddenField {
  name: string;
  value: string;
}

/** The client (relying party) a page speaks about. */
export interface ClientSummary {
  /** `client_name`, or the client id when it has none */
  name: string;
  /** its home page (`client_uri`), linked when it is http(s) */
  homeUri?: string | null;
}

/** One API (resource server) a client asks to use, and the scopes it asks for there. */
export interface ApiAccessRequest {
  /** the API's display name */
  name: string;
  /** its identifier (the audience URI), shown small under the name */
  identifier: string;
  scopes: ReadonlyArray<{ value: string; description?: string | null }>;
}

/** What a client asks for: the consent page and the device-confirm page show the same thing. */
export interface AccessRequest {
  /** OIDC scopes (`missingOIDCScope`, or the device code's `scope` minus API scopes) */
  oidcScopes: readonly string[];
  /** claims asked for one by one (`missingOIDCClaims`) */
  claims?: readonly string[];
  /** API scopes by API (`missingResourceScopes`, with each API's name looked up) */
  apis: readonly ApiAccessRequest[];
}

/** An href only when it cannot run script: absolute http(s), or a path on this server. */
export function safeHref(url: string | null | undefined): string | null {
  if (!url || /[\s\p{Cc}]/u.test(url)) return null;
  if (url.startsWith('/')) return url.startsWith('//') || url.startsWith('/\\') ? null : url;
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.href : null;
  } catch {
    return null;
  }
}

export function HiddenFields({ fields }: { fields: ReadonlyArray<HiddenField | readonly [string, string]> }) {
  return (
    <>
      {fields.map((field) => {
        const [name, value] = Array.isArray(field) ? field : [(field as HiddenField).name, (field as HiddenField).value];
        return <input key={name} type="hidden" name={name} value={value} />;
      })}
    </>
  );
}

interface TextFieldProps {
  id: string;
  name: string;
  label: string;
  type?: 'text' | 'password' | 'email';
  value?: string | undefined;
  hint?: ComponentChildren;
  /** the error message shown under the field and announced with it (aria-describedby) */
  error?: string | null | undefined;
  /** more ids describing the field (an error shown elsewhere that concerns it too) */
  describedBy?: string | undefined;
  invalid?: boolean;
  autocomplete?: string;
  inputMode?: 'text' | 'numeric';
  autocapitalize?: 'none' | 'characters';
  spellcheck?: boolean;
  className?: string;
  placeholder?: string;
}

/** A labelled input, its hint and its error, tied together with aria-describedby. */
export function TextField(props: TextFieldProps) {
  const hintId = props.hint ? `${props.id}-hint` : undefined;
  const errorId = props.error ? `${props.id}-error` : undefined;
  const describedBy = [hintId, errorId, props.describedBy].filter(Boolean).join(' ') || undefined;
  return (
    <div class="field">
      <label for={props.id}>{props.label}</label>
      {props.hint ? (
        <span class="hint" id={hintId}>
          {props.hint}
        </span>
      ) : null}
      <input
        id={props.id}
        name={props.name}
        // preact's types tie `role` to each input type; these three are all plain text boxes
        type={(props.type ?? 'text') as 'text'}
        value={props.value ?? ''}
        class={props.className}
        autocomplete={props.autocomplete}
        inputMode={props.inputMode}
        autocapitalize={props.autocapitalize}
        spellcheck={props.spellcheck}
        placeholder={props.placeholder}
        aria-describedby={describedBy}
        aria-invalid={props.error || props.invalid ? 'true' : undefined}
      />
      {props.error ? <FieldError id={errorId as string}>{props.error}</FieldError> : null}
    </div>
  );
}

export function FieldError({ id, children }: { id: string; children: ComponentChildren }) {
  return (
    <p class="field-error" id={id}>
      <span class="visually-hidden">Error: </span>
      {children}
    </p>
  );
}

export function Notice({ tone = 'info', id, children }: { tone?: 'info' | 'error'; id?: string; children: ComponentChildren }) {
  return (
    <div class={tone === 'error' ? 'notice notice-error' : 'notice'} id={id}>
      {children}
    </div>
  );
}

export function Actions({ children }: { children: ComponentChildren }) {
  return <div class="actions">{children}</div>;
}

export function Button({
  variant = 'primary',
  name,
  value,
  form,
  children,
}: {
  variant?: 'primary' | 'secondary';
  name?: string;
  value?: string;
  form?: string;
  children: ComponentChildren;
}) {
  return (
    <button type="submit" class={`button button-${variant}`} name={name} value={value} form={form}>
      {children}
    </button>
  );
}

/** A link styled as a button: the "way on" of pages that end a flow. */
export function LinkButton({
  href,
  variant = 'primary',
  children,
}: {
  href: string;
  variant?: 'primary' | 'secondary';
  children: ComponentChildren;
}) {
  return (
    <a class={`button button-${variant}`} href={href}>
      {children}
    </a>
  );
}

export function ClientName({ client }: { client: ClientSummary }) {
  return <strong>{client.name}</strong>;
}

/** "About this application": a link to the client's home page when it is a safe URL. */
export function ClientHome({ client }: { client: ClientSummary }) {
  const href = safeHref(client.homeUri);
  if (!href) return null;
  return (
    <p class="muted small">
      About <ClientName client={client} />: <a href={href}>{new URL(href, 'http://x.invalid').host || href}</a>
    </p>
  );
}

/** The list of what a client asks for, in words; API scopes under each API's name. */
export function RequestedAccess({ request, headingId }: { request: AccessRequest; headingId: string }) {
  const oidc = describeOidcScopes(request.oidcScopes);
  const claims = describeClaims(request.claims ?? []);
  const apis = request.apis;
  return (
    <section aria-labelledby={headingId}>
      <h2 id={headingId}>It will be able to:</h2>
      {oidc.length || claims.length ? (
        <ul>
          {oidc.map((d) => (
            <li key={d.scope}>{d.text}</li>
          ))}
          {claims.length ? <li>See {joinWords(claims)}</li> : null}
        </ul>
      ) : null}
      {apis.map((api, i) => (
        <section key={api.identifier} aria-labelledby={`${headingId}-api-${i}`}>
          <h3 class="api-name" id={`${headingId}-api-${i}`}>
            Use {api.name} on your behalf
          </h3>
          <p class="muted small">
            <code>{api.identifier}</code>
          </p>
          {api.scopes.length ? (
            <ul>
              {api.scopes.map((s) => (
                <li key={s.value}>{s.description ? s.description : <code>{s.value}</code>}</li>
              ))}
            </ul>
          ) : (
            <p>No specific permissions, only access to the API itself.</p>
          )}
        </section>
      ))}
      {!oidc.length && !claims.length && !apis.length ? <p>Nothing beyond knowing that you approved it.</p> : null}
    </section>
  );
}

/** "a, b and c" */
export function joinWords(words: readonly string[]): string {
  if (words.length <= 1) return words.join('');
  return `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}`;
}
