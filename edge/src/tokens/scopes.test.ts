// Scope arithmetic: what routes need, what tokens grant, and that a new token never exceeds its creator.
import { describe, expect, it } from 'vitest';
import { ApiError } from '../errors.ts';
import { checkScope, requiredScope, scopesForNewToken } from './scopes.ts';

describe('token scopes', () => {
  it('maps routes to scopes', () => {
    expect(requiredScope({ method: 'get', tag: 'environments', auth: 'user' })).toBe('read');
    expect(requiredScope({ method: 'post', tag: 'environments', auth: 'user' })).toBe('environments');
    expect(requiredScope({ method: 'post', tag: 'billing', auth: 'user' })).toBe('billing');
    expect(requiredScope({ method: 'get', tag: 'hosts', auth: 'admin' })).toBe('admin');
    expect(requiredScope({ method: 'post', tag: 'auth', auth: 'user', scope: 'read' })).toBe('read');
  });

  it('a read-only token cannot write; unscoped credentials can', () => {
    const create = { method: 'post', tag: 'environments', auth: 'user' as const };
    expect(() => checkScope(['read'], create)).toThrow(ApiError);
    expect(() => checkScope(null, create)).not.toThrow();
    expect(() => checkScope(['billing'], { method: 'get', tag: 'environments', auth: 'user' })).not.toThrow();
  });

  it('never gives more than the creator has', () => {
    expect(scopesForNewToken({ role: 'user', scopes: null }, undefined)).toBeNull();
    expect(() => scopesForNewToken({ role: 'user', scopes: null }, ['admin'])).toThrow(/administrators/);
    expect(() => scopesForNewToken({ role: 'admin', scopes: ['read'] }, ['environments'])).toThrow(/no "environments"/);
    expect(scopesForNewToken({ role: 'admin', scopes: ['billing'] }, ['read'])).toEqual(['read']);
  });
});
