import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ProviderFormError, readProviderForm } from './provider-form.ts';

const LIBRARY = join(import.meta.dirname, '..', '..', '..', 'node_modules', 'oidc-provider', 'lib');

interface UserCodeForms {
  input(action: string, csrfToken: string, code: string | undefined, charset: string): string;
  confirm(action: string, csrfToken: string, code: string): string;
}
/** oidc-provider's own builders of the device-flow forms (not part of its public API). */
const forms = (await import(pathToFileURL(join(LIBRARY, 'helpers', 'user_code_form.js')).href)) as UserCodeForms;

const ACTION = 'https://id.example.test/device';

describe('readProviderForm', () => {
  it('reads the user-code input form oidc-provider builds: its action and xsrf, not the visible input', () => {
    for (const charset of ['base-20', 'digits']) {
      expect(readProviderForm(forms.input(ACTION, 'xsrf-secret', 'BCDF-GHJK', charset))).toEqual({
        id: 'op.deviceInputForm',
        action: ACTION,
        hidden: [['xsrf', 'xsrf-secret']],
      });
    }
  });

  it('reads the confirm form: xsrf, the user code (unescaped) and confirm', () => {
    expect(readProviderForm(forms.confirm(ACTION, 'xsrf-secret', 'a"<b>&\'c'))).toEqual({
      id: 'op.deviceConfirmForm',
      action: ACTION,
      hidden: [
        ['xsrf', 'xsrf-secret'],
        ['user_code', 'a"<b>&\'c'],
        ['confirm', 'yes'],
      ],
    });
  });

  it('reads the logout form, whose markup end_session.js still builds the same way', () => {
    const source = readFileSync(join(LIBRARY, 'actions', 'end_session.js'), 'utf8');
    // the template literal in end_session.js, with its two placeholders
    const [action, secret] = ['action', 'secret'].map((name) => ['$', '{', name, '}'].join('')) as [string, string];
    const template = `<form id="op.logoutForm" method="post" action="${action}"><input type="hidden" name="xsrf" value="${secret}"/></form>`;
    expect(source).toContain(template);
    const html = template.replace(action, `${ACTION}/session/end/confirm`).replace(secret, 's3cret');
    expect(readProviderForm(html)).toEqual({ id: 'op.logoutForm', action: `${ACTION}/session/end/confirm`, hidden: [['xsrf', 's3cret']] });
  });

  it('refuses markup of any other shape rather than render a form without its xsrf field', () => {
    const bad = [
      '',
      '<p>hello</p>',
      `<form id="op.logoutForm" method="post" action="${ACTION}"></form>`,
      `<form id="op.logoutForm" method="post" action="${ACTION}"><input type="hidden" name="xsrf" value=""/></form>`,
      `<form id="other" method="post" action="${ACTION}"><input type="hidden" name="xsrf" value="x"/></form>`,
      `<form id="op.logoutForm" method="get" action="${ACTION}"><input type="hidden" name="xsrf" value="x"/></form>`,
      `<form id="op.logoutForm" method="post" action="javascript:alert(1)"><input type="hidden" name="xsrf" value="x"/></form>`,
      `<form id="op.logoutForm" method="post" action="${ACTION}"><input type="hidden" name="xsrf" value="x"/></form><form id="op.logoutForm" method="post" action="${ACTION}"></form>`,
    ];
    for (const html of bad) expect(() => readProviderForm(html), html).toThrow(ProviderFormError);
  });
});
