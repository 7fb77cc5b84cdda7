import { describe, expect, it } from 'vitest';
import { formActionSource, pageContentSecurityPolicy } from './security-headers.ts';

describe('page Content-Security-Policy', () => {
  it('allows only our stylesheet, images from here/https/data:, forms to this server; no script, framing or <base>', () => {
    expect(pageContentSecurityPolicy()).toBe(
      "default-src 'none'; style-src 'self'; img-src 'self' https: data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
  });

  it('adds the origins of client redirect URIs to form-action, each once', () => {
    const csp = pageContentSecurityPolicy({
      formActions: [
        'https://app.example.test/cb?x=1',
        'https://APP.example.test/other',
        'com.example.app:/oauth2redirect',
        'http://127.0.0.1:*',
      ],
    });
    expect(csp).toContain("form-action 'self' https://app.example.test com.example.app: http://127.0.0.1:*;");
  });

  it('refuses anything that would widen or break the policy', () => {
    for (const bad of [
      'not a url',
      'javascript:alert(1)',
      'data:text/html,x',
      "https://a.example.test;script-src 'unsafe-inline'",
      'https://a.example.test, https://b.example.test',
      '*',
      "'unsafe-inline'",
    ]) {
      expect(() => formActionSource(bad), bad).toThrow();
    }
  });
});
