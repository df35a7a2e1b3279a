import { describe, expect, it } from 'vitest';
import { apiCaller, apiTokens, type ApiToken } from './api-guard.js';

const tokens: ApiToken[] = [
  { name: 'ops', token: 'ops-token-0123456789', role: 'admin' },
  { name: 'wall', token: 'wall-token-0123456789', role: 'viewer' },
];
const call = (method: string, authorization?: string, ip = '10.0.0.9') =>
  apiCaller(tokens, { method, ip, authorization, path: '/api/x' });

describe('apiCaller', () => {
  it('names the token; a viewer reads, an admin also changes', () => {
    expect(call('GET', 'Bearer wall-token-0123456789')).toEqual({ name: 'wall', role: 'viewer' });
    expect(call('PUT', 'Bearer ops-token-0123456789')).toEqual({ name: 'ops', role: 'admin' });
    expect(() => call('PUT', 'Bearer wall-token-0123456789')).toThrow(
      'token wall is a viewer: it may not PUT /api/x',
    );
    expect(() => call('POST', 'Bearer wall-token-0123456789')).toThrow('viewer');
  });

  it.each([[undefined], ['Bearer nope'], ['ops-token-0123456789'], ['Bearer ops-token-012345678']])(
    'refuses %s with 401',
    (authorization) => {
      expect(() => call('GET', authorization)).toThrow('missing or wrong bearer token');
    },
  );

  it('without tokens: loopback only, as admin', () => {
    expect(
      apiCaller([], { method: 'DELETE', ip: '127.0.0.1', authorization: undefined, path: '/api/x' }),
    ).toEqual({
      name: 'loopback',
      role: 'admin',
    });
    expect(() =>
      apiCaller([], { method: 'GET', ip: '10.1.1.1', authorization: undefined, path: '/api/x' }),
    ).toThrow('set api.tokens');
  });
});

describe('apiTokens', () => {
  it('keeps api.adminToken working as an admin named admin', () => {
    expect(apiTokens({ adminToken: 'a'.repeat(16), tokens: [tokens[1]!] })).toEqual([
      { name: 'admin', token: 'a'.repeat(16), role: 'admin' },
      tokens[1],
    ]);
  });
});
