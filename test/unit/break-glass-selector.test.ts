import { describe, expect, it } from '@jest/globals';
import type { DatabaseCredential } from '../../src/api/v1alpha1/index.ts';
import { table, takeKubeconfig } from '../../src/cli/command-io.ts';
import { isEmpty, matches, parseSelector, usersOf } from '../../src/cli/credential-selector.ts';

function credential(
  namespace: string,
  name: string,
  role: { kind: 'DatabaseRole' | 'ClusterDatabaseRole'; name: string },
  server?: { kind: 'DatabaseServer' | 'ClusterDatabaseServer'; name: string; namespace?: string },
  status: Partial<NonNullable<DatabaseCredential['status']>> = {},
): DatabaseCredential {
  return {
    apiVersion: 'dbcred.io/v1alpha1',
    kind: 'DatabaseCredential',
    metadata: { namespace, name },
    spec: { roleRef: role },
    status: { ...(server ? { server } : {}), ...status },
  } as DatabaseCredential;
}

const orders = credential(
  'shop',
  'orders',
  { kind: 'DatabaseRole', name: 'readers' },
  { kind: 'DatabaseServer', namespace: 'shop', name: 'pg' },
);
const reports = credential(
  'bi',
  'reports',
  { kind: 'DatabaseRole', name: 'readers' },
  { kind: 'DatabaseServer', namespace: 'bi', name: 'pg' },
);
const shared = credential('bi', 'shared', { kind: 'ClusterDatabaseRole', name: 'analysts' }, { kind: 'ClusterDatabaseServer', name: 'pg' });
const fresh = credential('shop', 'fresh', { kind: 'DatabaseRole', name: 'readers' });
const all = [orders, reports, shared, fresh];
const picked = (values: Parameters<typeof parseSelector>[0]) =>
  all.filter((c) => matches(parseSelector(values), c)).map((c) => c.metadata.name);

describe('break-glass selectors', () => {
  it('pick one credential by namespace and name', () => {
    expect(picked({ credential: 'shop/orders' })).toEqual(['orders']);
  });

  it('pick credentials of a DatabaseRole only in that role’s namespace', () => {
    expect(picked({ role: 'shop/readers' })).toEqual(['orders', 'fresh']);
  });

  it('tell a ClusterDatabaseRole from a DatabaseRole of the same name', () => {
    expect(picked({ 'cluster-role': 'analysts' })).toEqual(['shared']);
    expect(picked({ role: 'bi/analysts' })).toEqual([]);
  });

  it('pick by the server the status records, namespaced or cluster-wide', () => {
    expect(picked({ server: 'bi/pg' })).toEqual(['reports']);
    expect(picked({ 'cluster-server': 'pg' })).toEqual(['shared']);
  });

  it('leave out a credential that has not recorded a server when a server is asked for', () => {
    expect(picked({ server: 'shop/pg' })).toEqual(['orders']);
  });

  it('combine with AND', () => {
    expect(picked({ namespace: 'bi', role: 'bi/readers' })).toEqual(['reports']);
    expect(picked({ namespace: 'shop', 'cluster-server': 'pg' })).toEqual([]);
  });

  it('select everything only when nothing is given', () => {
    expect(isEmpty(parseSelector({}))).toBe(true);
    expect(isEmpty(parseSelector({ namespace: 'bi' }))).toBe(false);
    expect(picked({})).toEqual(['orders', 'reports', 'shared', 'fresh']);
  });

  it.each([
    [{ credential: 'orders' }, '--credential takes NAMESPACE/NAME, not "orders"'],
    [{ role: 'a/b/c' }, '--role takes NAMESPACE/NAME, not "a/b/c"'],
    [{ 'cluster-role': 'shop/analysts' }, '--cluster-role takes the name of a cluster-scoped object'],
    [{ role: 'shop/readers', 'cluster-role': 'analysts' }, '--role and --cluster-role cannot both be given'],
    [{ server: 'shop/pg', 'cluster-server': 'pg' }, '--server and --cluster-server cannot both be given'],
  ])('refuse %j with a clear message', (values, message) => {
    expect(() => parseSelector(values)).toThrow(message);
  });
});

describe('the users a credential names', () => {
  it('are its current, pending and retiring users, each with when it ends', () => {
    const cred = credential('shop', 'orders', { kind: 'DatabaseRole', name: 'readers' }, undefined, {
      current: { username: 'u2', serial: 2, issuedAt: '2026-01-01T00:00:00Z', expiresAt: '2026-01-01T01:00:00Z' },
      pending: { username: 'u3', serial: 3, expiresAt: '2026-01-01T02:00:00Z', startedAt: '2026-01-01T00:40:00Z' },
      retiring: [{ username: 'u1', serial: 1, revokeAt: '2026-01-01T00:05:00Z' }],
    });
    expect(usersOf(cred)).toEqual([
      { username: 'u2', state: 'current', until: '2026-01-01T01:00:00Z' },
      { username: 'u3', state: 'pending', until: '2026-01-01T02:00:00Z' },
      { username: 'u1', state: 'retiring', until: '2026-01-01T00:05:00Z' },
    ]);
    expect(usersOf(fresh)).toEqual([]);
  });
});

describe('command-line helpers', () => {
  it('take --kubeconfig in either spelling and leave the rest in order', () => {
    expect(takeKubeconfig(['--role', 'a/b', '--kubeconfig', '/k', '--confirm'])).toEqual({
      kubeconfig: '/k',
      rest: ['--role', 'a/b', '--confirm'],
    });
    expect(takeKubeconfig(['--kubeconfig=/k2', '-n', 'x'])).toEqual({ kubeconfig: '/k2', rest: ['-n', 'x'] });
    expect(takeKubeconfig(['--all'])).toEqual({ rest: ['--all'] });
  });

  it('align a table by its widest cells', () => {
    expect(
      table([
        ['NAME', 'USER'],
        ['orders-long', 'u1'],
        ['a', 'u22'],
      ]),
    ).toEqual(['NAME          USER', 'orders-long   u1', 'a             u22']);
  });
});
