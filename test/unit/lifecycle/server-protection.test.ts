import { describe, expect, it } from '@jest/globals';
import {
  hasLiveUsers,
  secretFinalizer,
  secretsOfServer,
  serverOfCredential,
} from '../../../src/controllers/database-server/server-protection.ts';

const cred = (namespace: string, status: Record<string, unknown>) => ({ metadata: { name: 'c', namespace }, status });

describe('server protection', () => {
  it('gives each server its own Secret finalizer, a valid qualified name', () => {
    const a = secretFinalizer({ kind: 'DatabaseServer', name: 'pg', namespace: 'team-a' });
    const b = secretFinalizer({ kind: 'DatabaseServer', name: 'pg', namespace: 'team-b' });
    const c = secretFinalizer({ kind: 'ClusterDatabaseServer', name: 'pg' });
    expect(new Set([a, b, c]).size).toBe(3);
    for (const f of [a, b, c]) expect(f).toMatch(/^in-use\.dbcred\.io\/[a-f0-9]{20}$/);
  });

  it('finds the server a credential recorded, in its own namespace for a DatabaseServer', () => {
    expect(serverOfCredential(cred('team', { server: { kind: 'DatabaseServer', name: 'pg' } }))).toEqual({
      kind: 'DatabaseServer',
      name: 'pg',
      namespace: 'team',
    });
    expect(serverOfCredential(cred('team', { server: { kind: 'ClusterDatabaseServer', name: 'shared' } }))).toEqual({
      kind: 'ClusterDatabaseServer',
      name: 'shared',
    });
    expect(serverOfCredential(cred('team', {}))).toBeUndefined();
  });

  it('counts a pending, current or retiring user as live, and nothing else', () => {
    expect(hasLiveUsers(cred('t', { pending: { username: 'u' } }))).toBe(true);
    expect(hasLiveUsers(cred('t', { current: { username: 'u' } }))).toBe(true);
    expect(hasLiveUsers(cred('t', { retiring: [{ username: 'u' }] }))).toBe(true);
    expect(hasLiveUsers(cred('t', { retiring: [], lastSerial: 3 }))).toBe(false);
  });

  it("names the admin and CA Secrets, in the server's namespace or where a cluster server says", () => {
    const spec = {
      adminCredentialsSecretRef: { name: 'admin', namespace: 'platform' },
      tls: { caSecretRef: { name: 'ca', namespace: 'certs' } },
    };
    expect(secretsOfServer({ metadata: { name: 's' }, spec }, { kind: 'ClusterDatabaseServer', name: 's' })).toEqual([
      { namespace: 'platform', name: 'admin' },
      { namespace: 'certs', name: 'ca' },
    ]);
    expect(
      secretsOfServer(
        { metadata: { name: 's', namespace: 'team' }, spec: { adminCredentialsSecretRef: { name: 'admin' } } },
        {
          kind: 'DatabaseServer',
          name: 's',
          namespace: 'team',
        },
      ),
    ).toEqual([{ namespace: 'team', name: 'admin' }]);
  });
});
