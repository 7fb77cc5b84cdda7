/**
 * The forms oidc-provider hands to `features.deviceFlow.userCodeInputSource`,
 * `userCodeConfirmSource` and `features.rpInitiatedLogout.logoutSource`, read into data.
 *
 * oidc-provider (9.13, lib/helpers/user_code_form.js and lib/actions/end_session.js) gives those
 * hooks ready-made markup: a `<form>` with its action and hidden fields (the `xsrf` secret that
 * ties the post to the browser's session, the user code being confirmed). Embedding that markup
 * as-is would need `dangerouslySetInnerHTML`, and the user-code form carries an inline `onfocus`
 * handler that the pages' Content-Security-Policy (no inline script) refuses, logging a violation
 * on every visit. So the pages read the form's action and hidden fields here and render the same
 * form themselves, escaped like any other value, with a labelled input of their own.
 *
 * Reading is strict: anything but the shapes above throws, so a library upgrade that changes the
 * markup fails loudly (provider-form.test.ts runs oidc-provider's own form builders) instead of
 * posting a form without its xsrf field.
 */

export interface ProviderForm {
  /** `op.deviceInputForm`, `op.deviceConfirmForm` or `op.logoutForm` */
  id: ProviderFormId;
  /** where the form posts (an absolute URL under the issuer) */
  action: string;
  /** the hidden fields, in document order: always `xsrf`, plus `user_code`/`confirm` when confirming */
  hidden: ReadonlyArray<readonly [name: string, value: string]>;
}

export const PROVIDER_FORM_IDS = ['op.deviceInputForm', 'op.deviceConfirmForm', 'op.logoutForm'] as const;
export type ProviderFormId = (typeof PROVIDER_FORM_IDS)[number];

export class ProviderFormError extends Error {
  override name = 'ProviderFormError';
}

const ENTITIES: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decodeEntities(value: string): string {
  return value.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (whole, ref: string) => {
    if (ref[0] === '#') {
      const code = ref[1] === 'x' || ref[1] === 'X' ? Number.parseInt(ref.slice(2), 16) : Number.parseInt(ref.slice(1), 10);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return ENTITIES[ref.toLowerCase()] ?? whole;
  });
}

function attributes(tag: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const [, name, value] of tag.matchAll(/([a-zA-Z_:][-a-zA-Z0-9_:.]*)\s*=\s*"([^"]*)"/g)) {
    if (name !== undefined && value !== undefined) found.set(name.toLowerCase(), decodeEntities(value));
  }
  return found;
}

/** Reads one of oidc-provider's forms; throws ProviderFormError on any other markup. */
export function readProviderForm(html: string): ProviderForm {
  const forms = [...html.matchAll(/<form\b[^>]*>/gi)];
  if (forms.length !== 1 || !/<\/form>\s*$/i.test(html.trim())) throw new ProviderFormError('expected exactly one form');
  const form = attributes(forms[0]?.[0] ?? '');
  const id = form.get('id');
  const action = form.get('action');
  if (!PROVIDER_FORM_IDS.includes(id as ProviderFormId)) throw new ProviderFormError(`unexpected form id ${JSON.stringify(id)}`);
  if (form.get('method')?.toLowerCase() !== 'post') throw new ProviderFormError('expected a POST form');
  if (!action || !/^https?:\/\//.test(action)) throw new ProviderFormError('expected an absolute action URL');
  const hidden: Array<readonly [string, string]> = [];
  for (const [tag] of html.matchAll(/<input\b[^>]*>/gi)) {
    const input = attributes(tag);
    const name = input.get('name');
    if (input.get('type') !== 'hidden') continue;
    if (!name) throw new ProviderFormError('a hidden field without a name');
    hidden.push([name, input.get('value') ?? '']);
  }
  const xsrf = hidden.filter(([name]) => name === 'xsrf');
  if (xsrf.length !== 1 || !xsrf[0]?.[1]) throw new ProviderFormError('expected one non-empty xsrf field');
  return { id: id as ProviderFormId, action, hidden };
}
