import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/config.ts';
import { safeHref } from './components.tsx';
import { exampleUserCode } from './device-pages.tsx';
import { ConsentPage, DeviceCodePage, ErrorPage, errorPageKind, LoggedOutPage, LoginPage, renderPage, userCodeError } from './index.ts';

const { branding } = loadConfig({ PRODUCT_NAME: 'Acme & Co', ACCENT_COLOR: '#ffd700' });
const XSS = '<img src=x onerror=alert(1)>';

describe('renderPage', () => {
  it('renders a complete document: doctype, language, viewport, title, one stylesheet, no script or inline style', () => {
    const html = renderPage(<LoginPage action="/interaction/abc/login" csrf={{ name: 'csrf', value: 't0ken' }} />, { branding });
    expect(html.startsWith('<!doctype html><html lang="en">')).toBe(true);
    expect(html).toContain('<meta name="viewport" content="width=device-width, initial-scale=1"/>');
    expect(html).toContain('<title>Sign in – Acme &amp; Co</title>');
    expect(html).toMatch(/<link rel="stylesheet" href="\/assets\/gatehouse\.[A-Za-z0-9_-]{16}\.css"\/>/);
    expect(html).not.toMatch(/<script|<style|style=|\son[a-z]+=/i);
    expect(html).toContain('<input type="hidden" name="csrf" value="t0ken"/>');
  });

  it('ties a login error to its fields with aria-describedby and says "Error:" first in the title', () => {
    const html = renderPage(<LoginPage action="/l" csrf={{ name: 'csrf', value: 't' }} username="alice" error="invalid-credentials" />, {
      branding,
    });
    expect(html).toContain('<title>Error: Sign in – Acme &amp; Co</title>');
    expect(html).toMatch(/id="password"[^>]*aria-describedby="password-error"[^>]*aria-invalid="true"/);
    expect(html).toMatch(/id="username"[^>]*aria-describedby="password-error"[^>]*aria-invalid="true"/);
    expect(html).toContain('id="password-error"');
    expect(html).not.toContain('<img src=x');
  });

  it('escapes data everywhere it appears: client names, scopes, API names, reasons', () => {
    const pages = [
      <ConsentPage
        key="c"
        action="/c"
        csrf={{ name: 'csrf', value: `"${XSS}` }}
        client={{ name: XSS, homeUri: 'javascript:alert(1)' }}
        oidcScopes={['openid', XSS]}
        claims={[XSS]}
        apis={[{ name: XSS, identifier: `https://api.example.test/${XSS}`, scopes: [{ value: XSS }, { value: 'b', description: XSS }] }]}
      />,
      <DeviceCodePage
        key="d"
        form={{ id: 'op.deviceInputForm', action: 'https://id.example.test/device', hidden: [['xsrf', XSS]] }}
        userCode={XSS}
        error="invalid"
      />,
      <ErrorPage key="e" kind="generic" reason={XSS} requestId={XSS} />,
      <LoggedOutPage key="o" client={{ name: XSS, homeUri: 'javascript:alert(1)' }} />,
    ];
    for (const page of pages) {
      const html = renderPage(page, { branding });
      expect(html).not.toContain('<img src=x');
      expect(html).not.toContain('javascript:');
      expect(html).toContain('&lt;img src=x onerror=alert(1)>');
    }
  });
});

describe('page helpers', () => {
  it('links only to http(s) URLs and paths on this server', () => {
    expect(safeHref('https://app.example.test/home')).toBe('https://app.example.test/home');
    expect(safeHref('/device')).toBe('/device');
    for (const bad of [
      'javascript:alert(1)',
      ' javascript:alert(1)',
      'JaVaScRiPt:alert(1)',
      'data:text/html,x',
      '//evil.test',
      '/\\evil.test',
      'vbscript:x',
      '',
      null,
      undefined,
    ]) {
      expect(safeHref(bad), String(bad)).toBeNull();
    }
  });

  it("maps oidc-provider's errors onto the error page's kinds", () => {
    const named = (name: string, error?: string) => Object.assign(new Error('x'), { name, error });
    expect(errorPageKind(named('SessionNotFound', 'invalid_request'))).toBe('expired-interaction');
    expect(errorPageKind(named('InvalidClient', 'invalid_client'))).toBe('unknown-client');
    expect(errorPageKind(named('AccessDenied', 'access_denied'))).toBe('access-denied');
    expect(errorPageKind(named('InvalidRedirectUri', 'invalid_redirect_uri'))).toBe('generic');
    expect(errorPageKind(new Error('boom'), { error: 'server_error' })).toBe('generic');
  });

  it("maps oidc-provider's user-code errors onto the code-entry page's messages", () => {
    const named = (name: string) => Object.assign(new Error('x'), { name });
    expect(userCodeError(undefined)).toBeNull();
    expect(userCodeError(named('NoCodeError'))).toBe('missing');
    expect(userCodeError(named('NotFoundError'))).toBe('invalid');
    expect(userCodeError(named('ExpiredError'))).toBe('expired');
    expect(userCodeError(named('AlreadyUsedError'))).toBe('used');
    expect(userCodeError(named('AbortedError'))).toBe('aborted');
    expect(userCodeError(named('InvalidRequest'))).toBe('failed');
  });

  it('gives an example code in the configured format', () => {
    expect(exampleUserCode({})).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
    expect(exampleUserCode({ charset: 'digits', mask: '***-***-***' })).toMatch(/^\d{3}-\d{3}-\d{3}$/);
  });
});
