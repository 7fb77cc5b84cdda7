import { describe, expect, it } from 'vitest';
import { checkTarget, chooseApi, decideClientCredentials, isRefusal, requestedScopes } from './client-credentials-policy.ts';

const ORDERS = 'https://orders.example.test';
const BILLING = 'https://billing.example.test';
const UNKNOWN = 'https://unknown.example.test';

const orders = { identifier: ORDERS, scopes: ['read', 'write'] };
const billing = { identifier: BILLING, scopes: ['invoice'] };
/** The registered APIs, as the caller's lookup finds them. */
const registered = new Map([ORDERS, BILLING].map((identifier) => [identifier, { identifier, signingAlg: 'ES256' }]));
const lookup = (identifier: string) => registered.get(identifier) ?? null;

/** The policy end to end, as the fast path runs it: choose, look up, decide. */
function decide(params: { resource?: string; audience?: string; scope?: string }, grants = [orders, billing]) {
  const chosen = chooseApi(params, grants);
  if (isRefusal(chosen)) return chosen;
  return decideClientCredentials(params, chosen.identifier, lookup(chosen.identifier), grants);
}

describe('client credentials policy: which API (RFC 8707 §2)', () => {
  it('takes the API audience names', () => {
    expect(decide({ audience: ORDERS })).toEqual({ api: registered.get(ORDERS), scopes: ['read', 'write'] });
  });

  it('takes the API resource names', () => {
    expect(decide({ resource: BILLING })).toEqual({ api: registered.get(BILLING), scopes: ['invoice'] });
  });

  it('accepts audience and resource naming the same API', () => {
    expect(decide({ audience: ORDERS, resource: ORDERS })).toMatchObject({ api: { identifier: ORDERS } });
  });

  it('refuses audience and resource naming different APIs [invalid_target]', () => {
    expect(decide({ audience: ORDERS, resource: BILLING })).toEqual({
      refusal: 'invalid_target',
      description: 'audience and resource name different APIs',
    });
  });

  it('refuses an audience other than the resource oidc-provider resolved [invalid_target]', () => {
    // resources.ts: the library hands over the resource; audience arrives beside it.
    expect(checkTarget({ audience: ORDERS }, BILLING, lookup(BILLING), [orders, billing])).toMatchObject({ refusal: 'invalid_target' });
  });

  it('defaults to the only API the client was granted when none is named', () => {
    expect(chooseApi({}, [orders])).toEqual({ identifier: ORDERS });
    expect(decide({ scope: 'read' }, [orders])).toEqual({ api: registered.get(ORDERS), scopes: ['read'] });
  });

  it('refuses to choose when the client was granted several APIs [invalid_target]', () => {
    expect(chooseApi({}, [orders, billing])).toEqual({
      refusal: 'invalid_target',
      description: 'this client may request tokens for several APIs: name one with the audience or resource parameter',
    });
  });

  it('refuses to choose when the client was granted no API [invalid_target]', () => {
    expect(chooseApi({}, [])).toEqual({ refusal: 'invalid_target', description: 'this client has not been granted any API' });
  });

  it('refuses an API nobody registered [invalid_target]', () => {
    expect(decide({ audience: UNKNOWN })).toEqual({ refusal: 'invalid_target', description: 'no API is registered with this identifier' });
    expect(decide({ resource: UNKNOWN })).toMatchObject({ refusal: 'invalid_target' });
  });

  it('refuses a registered API the client was not granted [invalid_target]', () => {
    expect(decide({ resource: BILLING }, [orders])).toEqual({
      refusal: 'invalid_target',
      description: 'this client is not allowed to request tokens for this API',
    });
  });

  it('reads empty values as absent, as oidc-provider does', () => {
    expect(decide({ audience: '', resource: '', scope: '' }, [orders])).toEqual({ api: registered.get(ORDERS), scopes: ['read', 'write'] });
    expect(decide({ audience: ORDERS, resource: '' })).toMatchObject({ api: { identifier: ORDERS } });
    expect(decide({ audience: '', resource: BILLING })).toMatchObject({ api: { identifier: BILLING } });
    expect(chooseApi({ audience: '' }, [orders, billing])).toMatchObject({ refusal: 'invalid_target' });
  });
});

describe('client credentials policy: which scopes (RFC 6749 §3.3)', () => {
  it('grants every granted scope when none is requested', () => {
    expect(requestedScopes(undefined, orders)).toEqual({ scopes: ['read', 'write'] });
    expect(requestedScopes('', orders)).toEqual({ scopes: ['read', 'write'] });
  });

  it('grants no scope by default at an API granted without scopes', () => {
    expect(requestedScopes(undefined, { identifier: ORDERS, scopes: [] })).toEqual({ scopes: [] });
  });

  it('grants exactly the requested subset, in request order', () => {
    expect(requestedScopes('write', orders)).toEqual({ scopes: ['write'] });
    expect(requestedScopes('write read', orders)).toEqual({ scopes: ['write', 'read'] });
  });

  it('grants a repeated scope once', () => {
    expect(requestedScopes('write read write', orders)).toEqual({ scopes: ['write', 'read'] });
  });

  it('refuses a scope that was not granted, naming the refused ones [invalid_scope] (RFC 6749 §5.2)', () => {
    expect(requestedScopes('read admin delete', orders)).toEqual({
      refusal: 'invalid_scope',
      description: 'requested scope is not allowed',
      scope: 'admin delete',
    });
  });

  it('refuses a scope granted at another API [invalid_scope]', () => {
    expect(decide({ audience: ORDERS, scope: 'invoice' })).toMatchObject({ refusal: 'invalid_scope', scope: 'invoice' });
  });

  it.each([' ', 'read  write', ' read', 'read ', 'read\twrite', 'r"ead', 'r\\ead', 'lecture-é'])(
    'refuses a scope value outside the RFC 6749 §3.3 syntax [%j]',
    (scope) => {
      expect(requestedScopes(scope, orders)).toEqual({ refusal: 'invalid_scope', description: 'scope contains invalid characters' });
    },
  );

  it('checks the API before the scopes', () => {
    expect(decide({ audience: UNKNOWN, scope: 'nope' })).toMatchObject({ refusal: 'invalid_target' });
    expect(decide({ resource: BILLING, scope: 'nope' }, [orders])).toMatchObject({ refusal: 'invalid_target' });
  });
});
