import { describe, expect, it } from '@jest/globals';
import type { DatabaseCredential } from '../../../src/api/v1alpha1/index.ts';
import type { Informer } from '../../../src/runtime/cache/informer.ts';
import type { KubeObject } from '../../../src/runtime/kube/types.ts';
import { isWaitingForQuota, liveUsers, quotaRefusal, usesRole } from '../../../src/controllers/database-credential/quota.ts';
import type { ResolvedRole } from '../../../src/controllers/roles.ts';

const user = (n: number) => ({ username: `dbc_u${n}`, serial: n, issuedAt: '2026-01-01T00:00:00Z', expiresAt: '2026-01-02T00:00:00Z' });

function credential(
  name: string,
  o: { namespace?: string; kind?: string; role?: string; users?: number; waiting?: boolean } = {},
): KubeObject {
  const users = o.users ?? 1;
  return {
    metadata: { name, namespace: o.namespace ?? 'team-a', uid: `uid-${name}` },
    spec: { roleRef: { ...(o.kind ? { kind: o.kind } : {}), name: o.role ?? 'readers' } },
    status: {
      ...(users >= 1 ? { current: user(1) } : {}),
      ...(users >= 2
        ? {
            retiring: Array.from({ length: users - 1 }, (_, i) => ({
              ...user(i + 2),
              revokeAt: '2026-01-01T00:05:00Z',
              reason: 'Rotated',
            })),
          }
        : {}),
      ...(o.waiting
        ? {
            conditions: [
              { type: 'Ready', status: 'False', reason: 'QuotaExceeded', message: '', lastTransitionTime: '2026-01-01T00:00:00Z' },
            ],
          }
        : {}),
    },
  };
}

const cache = (objects: KubeObject[]) => ({ list: () => objects }) as unknown as Informer<KubeObject>;
const role = (max: number | undefined, kind: ResolvedRole['kind'] = 'DatabaseRole') =>
  ({
    kind,
    role: { metadata: { name: 'readers', namespace: kind === 'DatabaseRole' ? 'team-a' : undefined }, spec: { maxActiveCredentials: max } },
  }) as unknown as ResolvedRole;

describe("a role's quota", () => {
  it('counts current, pending and retiring users of the credentials that use the role', () => {
    const all = cache([
      credential('a', { users: 1 }),
      credential('b', { users: 3 }),
      credential('c', { role: 'writers' }),
      credential('d', { namespace: 'team-b' }),
    ]);
    expect(liveUsers(all, 'DatabaseRole', 'readers', 'team-a')).toBe(4);
    expect(liveUsers(all, 'DatabaseRole', 'readers', 'team-a', 'uid-b')).toBe(1);
  });

  it('a DatabaseRole counts only its own namespace; a ClusterDatabaseRole counts every namespace', () => {
    expect(usesRole(credential('a', { namespace: 'team-b' }), 'DatabaseRole', 'readers', 'team-a')).toBe(false);
    expect(usesRole(credential('a', { namespace: 'team-b', kind: 'ClusterDatabaseRole' }), 'ClusterDatabaseRole', 'readers')).toBe(true);
    expect(usesRole(credential('a', { kind: 'ClusterDatabaseRole' }), 'DatabaseRole', 'readers', 'team-a')).toBe(false);
  });

  it('refuses one more user only when it would go over the maximum', () => {
    const me = credential('me', { users: 0 }) as unknown as DatabaseCredential;
    const others = cache([credential('a'), credential('b')]);
    expect(quotaRefusal(others, role(3), me)).toBeUndefined();
    const refusal = quotaRefusal(others, role(2), me);
    expect(refusal?.reason).toBe('QuotaExceeded');
    expect(refusal?.message).toBe('role readers allows 2 live users and has 2');
  });

  it("counts the credential's own users from its latest status, not the cache", () => {
    const stale = credential('me', { users: 2 });
    const me = { ...credential('me', { users: 0 }) } as unknown as DatabaseCredential;
    expect(quotaRefusal(cache([stale, credential('a')]), role(2), me)).toBeUndefined();
  });

  it('never refuses for a role without a quota', () => {
    expect(
      quotaRefusal(
        cache(Array.from({ length: 50 }, (_, i) => credential(`c${i}`))),
        role(undefined),
        credential('me') as unknown as DatabaseCredential,
      ),
    ).toBeUndefined();
  });

  it('tells which credentials wait for a place in it', () => {
    expect(isWaitingForQuota(credential('a', { users: 0, waiting: true }))).toBe(true);
    expect(isWaitingForQuota(credential('a'))).toBe(false);
  });
});
