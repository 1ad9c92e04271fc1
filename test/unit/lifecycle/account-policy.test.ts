import { describe, expect, it } from '@jest/globals';
import { matchesAccountSet, privilegedRefusal, rolePolicyRefusal, staticUserRefusal } from '../../../src/controllers/account-policy.ts';
import type { AnyServer } from '../../../src/controllers/engine-pool.ts';
import type { AnyRole } from '../../../src/controllers/roles.ts';

type Spec = Record<string, unknown>;
const server = (kind: 'DatabaseServer' | 'ClusterDatabaseServer', spec: Spec = {}, engine = 'postgres') =>
  ({ kind, metadata: { name: 'shared' }, spec: { engine, tenantRoles: { statements: 'Forbidden' }, ...spec } }) as unknown as AnyServer;
const role = (kind: 'DatabaseRole' | 'ClusterDatabaseRole', spec: Spec = {}) =>
  ({ kind, metadata: { name: 'r', namespace: kind === 'DatabaseRole' ? 'team-a' : undefined }, spec }) as unknown as AnyRole;

describe('matchesAccountSet', () => {
  it('matches listed names exactly and patterns with * as any run of characters', () => {
    const set = { names: ['legacy_batch'], patterns: ['app_*', '*_ro', 'a.b*'] };
    expect(['legacy_batch', 'app_x', 'app_', 'orders_ro', 'a.bc'].map((n) => matchesAccountSet(set, n))).toEqual([
      true,
      true,
      true,
      true,
      true,
    ]);
    expect(['legacy_batch2', 'xapp_x', 'orders_rw', 'aXbc'].map((n) => matchesAccountSet(set, n))).toEqual([false, false, false, false]);
  });

  it('matches nothing when the set is omitted or empty', () => {
    expect(matchesAccountSet(undefined, 'x')).toBe(false);
    expect(matchesAccountSet({}, 'x')).toBe(false);
  });
});

describe("rolePolicyRefusal: a tenant's role on a shared server", () => {
  const shared = (tenantRoles: Spec) => server('ClusterDatabaseServer', { tenantRoles: { statements: 'Forbidden', ...tenantRoles } });

  it('gets bare users only by default', () => {
    expect(rolePolicyRefusal(role('DatabaseRole'), shared({}))).toBeUndefined();
    expect(rolePolicyRefusal(role('DatabaseRole', { memberOf: ['app_readers'] }), shared({}))?.reason).toBe('NotAllowedByServer');
  });

  it('may join the group roles the server lists, and no others', () => {
    const s = shared({ memberOf: { patterns: ['app_*'] } });
    expect(rolePolicyRefusal(role('DatabaseRole', { memberOf: ['app_readers'] }), s)).toBeUndefined();
    expect(rolePolicyRefusal(role('DatabaseRole', { memberOf: ['app_readers', 'billing_writers'] }), s)?.message).toContain(
      'billing_writers',
    );
  });

  it('may reassign owned objects only to a listed group role', () => {
    const s = shared({ memberOf: { names: ['app_owner'] } });
    const reassign = (to: string) => role('DatabaseRole', { postgres: { ownedObjects: { action: 'Reassign', reassignTo: to } } });
    expect(rolePolicyRefusal(reassign('app_owner'), s)).toBeUndefined();
    expect(rolePolicyRefusal(reassign('dbcred_admin'), s)?.reason).toBe('NotAllowedByServer');
  });

  it('may carry SQL statements only when the server allows them', () => {
    const withStatements = role('DatabaseRole', { revocationStatements: ['SELECT 1'] });
    expect(rolePolicyRefusal(withStatements, shared({}))?.message).toContain('spec.tenantRoles.statements');
    expect(rolePolicyRefusal(withStatements, shared({ statements: 'Allowed' }))).toBeUndefined();
  });

  it('may grant only on the databases the server lists', () => {
    const s = server('ClusterDatabaseServer', { tenantRoles: { statements: 'Forbidden', grantDatabases: ['team_a'] } }, 'mysql');
    const grant = (database: string) =>
      role('DatabaseRole', { mysql: { userHost: '%', grants: [{ privileges: ['SELECT'], database, table: '*' }] } });
    expect(rolePolicyRefusal(grant('team_a'), s)).toBeUndefined();
    expect(rolePolicyRefusal(grant('team_b'), s)?.message).toContain('team_b');
  });
});

describe('rolePolicyRefusal: every role, whoever wrote it', () => {
  const own = server('DatabaseServer');
  const cluster = server('ClusterDatabaseServer');

  it('roles on their own namespace server and cluster roles are not limited by tenantRoles', () => {
    expect(rolePolicyRefusal(role('DatabaseRole', { memberOf: ['app_readers'], creationStatements: ['SELECT 1'] }), own)).toBeUndefined();
    expect(
      rolePolicyRefusal(role('ClusterDatabaseRole', { memberOf: ['app_readers'], creationStatements: ['SELECT 1'] }), cluster),
    ).toBeUndefined();
  });

  it('never joins a user dbcred issues', () => {
    expect(rolePolicyRefusal(role('ClusterDatabaseRole', { memberOf: ['dbc_app_abc'] }), cluster)?.reason).toBe('NotAllowedByServer');
  });

  it('joins a PostgreSQL predefined role only when the server allows it by name', () => {
    const r = role('ClusterDatabaseRole', { memberOf: ['pg_read_all_data'] });
    expect(rolePolicyRefusal(r, cluster)?.message).toContain('spec.allowedPredefinedRoles');
    expect(rolePolicyRefusal(r, server('ClusterDatabaseServer', { allowedPredefinedRoles: ['pg_read_all_data'] }))).toBeUndefined();
    expect(rolePolicyRefusal(role('DatabaseRole', { memberOf: ['pg_execute_server_program'] }), own)?.reason).toBe('NotAllowedByServer');
  });

  it('never grants on every database or on the system schemas (MySQL)', () => {
    const mysqlServer = server('DatabaseServer', {}, 'mysql');
    for (const database of ['*', 'mysql', 'MySQL', 'sys', 'performance_schema', 'information_schema']) {
      const r = role('ClusterDatabaseRole', { mysql: { userHost: '%', grants: [{ privileges: ['SELECT'], database, table: '*' }] } });
      expect(rolePolicyRefusal(r, mysqlServer)?.reason).toBe('NotAllowedByServer');
    }
  });
});

describe('staticUserRefusal', () => {
  const open = server('DatabaseServer', { staticUsers: { patterns: ['*'] } });

  it('refuses the admin login and users dbcred issues, whatever the server lists', () => {
    expect(staticUserRefusal('dbcred_admin', open, 'dbcred_admin')?.message).toContain('admin login');
    expect(staticUserRefusal('dbc_app_abc', open, 'dbcred_admin')?.reason).toBe('NotAllowedByServer');
  });

  it('allows only the users the server lists', () => {
    const s = server('DatabaseServer', { staticUsers: { names: ['legacy_batch'] } });
    expect(staticUserRefusal('legacy_batch', s, 'dbcred_admin')).toBeUndefined();
    expect(staticUserRefusal('other_team', s, 'dbcred_admin')?.message).toContain('spec.staticUsers');
    expect(staticUserRefusal('legacy_batch', server('DatabaseServer'), 'dbcred_admin')?.reason).toBe('NotAllowedByServer');
  });
});

describe('privilegedRefusal', () => {
  it('refuses on any reason but a predefined role the server allows by name', () => {
    const allowing = server('DatabaseServer', { allowedPredefinedRoles: ['pg_read_all_data'] });
    const reads = [
      { name: 'g', reasons: [{ why: 'it reaches the predefined role pg_read_all_data', predefinedRole: 'pg_read_all_data' }] },
    ];
    expect(privilegedRefusal(reads, allowing, 'group role')).toBeUndefined();
    expect(privilegedRefusal(reads, server('DatabaseServer'), 'group role')?.reason).toBe('PrivilegedAccount');
    const both = [{ name: 'g', reasons: [...reads[0]!.reasons, { why: 'it has CREATEROLE' }] }];
    expect(privilegedRefusal(both, allowing, 'group role')?.message).toBe('group role g is privileged: it has CREATEROLE');
  });

  it('refuses nothing when no account is privileged', () => {
    expect(privilegedRefusal([], server('DatabaseServer'), 'user')).toBeUndefined();
  });
});
