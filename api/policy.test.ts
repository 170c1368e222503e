import { describe, expect, it } from 'vitest';
import type { ResourceRole } from '../db/accounts.ts';
import type { Principal } from './auth/principal.ts';
import { HttpError } from './errors.ts';
import { authorize, can, visibleChains, type Action } from './policy.ts';

function principal(role: 'admin' | 'editor' | 'viewer', grants: Record<string, ResourceRole> = {}, id = 'me'): Principal {
  return { user: { id, role } as Principal['user'], grants: new Map(Object.entries(grants).map(([chain, r]) => [`chain:${chain}`, r])) };
}

const chain = (ownerId: string | null = 'someone-else') => ({ type: 'chain' as const, id: 'c1', ownerId, ref: 'demo' });
const chainActions: Action[] = ['chain:view', 'chain:edit', 'chain:delete', 'chain:share'];
const allowed = (p: Principal, r = chain()) => chainActions.filter((a) => can(p, a, r));

describe('the policy', () => {
  it('lets admins do everything', () => {
    expect(allowed(principal('admin'))).toEqual(chainActions);
    expect(can(principal('admin'), 'user:manage')).toBe(true);
  });

  it('gives owners every chain action, grant holders what their role allows, others nothing', () => {
    expect(allowed(principal('editor'), chain('me'))).toEqual(chainActions);
    expect(allowed(principal('editor', { c1: 'owner' }))).toEqual(chainActions);
    expect(allowed(principal('editor', { c1: 'editor' }))).toEqual(['chain:view', 'chain:edit']);
    expect(allowed(principal('viewer', { c1: 'viewer' }))).toEqual(['chain:view']);
    expect(allowed(principal('editor'))).toEqual([]);
  });

  it('lets editors, not viewers, create chains; only admins manage users and read the audit log', () => {
    expect(can(principal('editor'), 'chain:create')).toBe(true);
    expect(can(principal('viewer'), 'chain:create')).toBe(false);
    expect(can(principal('editor'), 'user:manage')).toBe(false);
    expect(can(principal('editor'), 'audit:read')).toBe(false);
  });

  it('answers 401 without a principal, 404 for a chain one has no role on, 403 for a role too small', () => {
    const status = (fn: () => void) => {
      try {
        fn();
        return 200;
      } catch (err) {
        return err instanceof HttpError ? err.status : 0;
      }
    };
    expect(status(() => authorize(null, 'chain:view', chain()))).toBe(401);
    expect(status(() => authorize(principal('editor'), 'chain:view', chain()))).toBe(404);
    expect(status(() => authorize(principal('viewer', { c1: 'viewer' }), 'chain:edit', chain()))).toBe(403);
    expect(status(() => authorize(principal('viewer'), 'chain:create'))).toBe(403);
  });

  it('takes run permissions from the chain: viewers read runs, editors control them; a 404 names the run', () => {
    const run = { ...chain(), run: 'run:abc' };
    expect(can(principal('viewer', { c1: 'viewer' }), 'run:view', run)).toBe(true);
    expect(can(principal('viewer', { c1: 'viewer' }), 'run:control', run)).toBe(false);
    expect(can(principal('editor', { c1: 'editor' }), 'run:control', run)).toBe(true);
    try {
      authorize(principal('editor'), 'run:view', run);
      expect.unreachable();
    } catch (err) {
      expect(err).toMatchObject({ status: 404, code: 'run_not_found' });
    }
  });

  it('lets editors create bots and manage credentials, viewers neither', () => {
    expect(can(principal('editor'), 'bot:create')).toBe(true);
    expect(can(principal('viewer'), 'bot:create')).toBe(false);
    expect(can(principal('editor'), 'credential:create')).toBe(true);
    expect(can(principal('viewer'), 'credential:create')).toBe(false);
    const bot = { type: 'bot' as const, id: 'b1', ownerId: 'someone-else' };
    const withBotGrant = (role: ResourceRole): Principal => ({ user: { id: 'me', role: 'viewer' } as Principal['user'], grants: new Map([['bot:b1', role]]) });
    expect(can(withBotGrant('viewer'), 'bot:view', bot)).toBe(true);
    expect(can(withBotGrant('viewer'), 'bot:edit', bot)).toBe(false);
    expect(can(withBotGrant('owner'), 'bot:delete', bot)).toBe(true);
  });

  it('gives credentials owners and grants: use reads and uses, manage also changes, the owner shares and deletes', () => {
    const credential = { type: 'credential' as const, id: 'k1', ownerId: 'someone-else' };
    const withGrant = (role: ResourceRole | null): Principal => ({ user: { id: 'me', role: 'editor' } as Principal['user'], grants: new Map(role ? [['credential:k1', role]] : []) });
    expect(can(withGrant(null), 'credential:use', credential)).toBe(false);
    expect(can(withGrant(null), 'credential:view', credential)).toBe(false);
    expect(can(withGrant('viewer'), 'credential:use', credential)).toBe(true);
    expect(can(withGrant('viewer'), 'credential:edit', credential)).toBe(false);
    expect(can(withGrant('editor'), 'credential:edit', credential)).toBe(true);
    expect(can(withGrant('editor'), 'credential:share', credential)).toBe(false);
    expect(can(withGrant(null), 'credential:delete', { ...credential, ownerId: 'me' })).toBe(true);
    try {
      authorize(withGrant('viewer'), 'credential:edit', credential);
      expect.unreachable();
    } catch (err) {
      expect(err).toMatchObject({ status: 403, details: { required: 'manage', role: 'use' } });
    }
  });

  it('lists the chains one owns or holds a grant on', () => {
    expect(visibleChains(principal('admin'))).toEqual({ all: true });
    expect(visibleChains(principal('editor', { c1: 'viewer', c2: 'editor' }))).toEqual({ all: false, ownerId: 'me', ids: ['c1', 'c2'] });
  });
});
