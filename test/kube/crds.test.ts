import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { KINDS } from '../../src/api/v1alpha1/index.ts';
import { kubectl } from '../../harness/crds.ts';
import { dbcredObjects } from '../../harness/custom-objects.ts';
import { requireKube } from '../../harness/environment.ts';
import { apiError, createTestNamespace, type TestNamespace } from '../../harness/kube-client.ts';
import { sample, type Manifest } from '../../harness/samples.ts';
import { randomBytes } from 'node:crypto';

const objects = dbcredObjects();
let ns: TestNamespace;
const suffix = randomBytes(3).toString('hex');

/** place puts a sample into this suite's namespace (or gives a cluster-scoped one a unique name). */
function place(m: Manifest, name = m.metadata.name): Manifest {
  const def = KINDS.find((k) => k.kind === m.kind)!;
  if (def.scope === 'Cluster') return { ...m, metadata: { name: `${name}-${suffix}` } };
  return { ...m, metadata: { name, namespace: ns.name } };
}

beforeAll(async () => {
  ns = await createTestNamespace('crds');
});
afterAll(async () => {
  for (const kind of ['ClusterDatabaseServer', 'ClusterDatabaseRole']) {
    await kubectl(requireKube().kubeconfig, [
      'delete',
      kind.toLowerCase() + '.dbcred.io',
      '-l',
      `dbcred.io/test-suffix=${suffix}`,
      '--ignore-not-found',
    ]);
  }
  await ns.cleanup();
});

describe('the dbcred CRDs on a real apiserver', () => {
  it('apply with kubectl and are Established, with short names and the dbcred category', async () => {
    const kubeconfig = requireKube().kubeconfig;
    await kubectl(kubeconfig, ['apply', '--server-side', '--force-conflicts', '--field-manager=dbcred-tests', '-f', 'crds/']);
    const list = parse(await kubectl(kubeconfig, ['get', 'crd', '-l', 'app.kubernetes.io/part-of=dbcred', '-o', 'yaml'])) as {
      items: {
        metadata: { name: string };
        spec: { names: { shortNames: string[]; categories: string[] } };
        status: { conditions: { type: string; status: string }[] };
      }[];
    };
    expect(list.items.map((c) => c.metadata.name).sort()).toEqual(KINDS.map((k) => `${k.plural}.dbcred.io`).sort());
    for (const crd of list.items) {
      expect(crd.status.conditions).toContainEqual(expect.objectContaining({ type: 'Established', status: 'True' }));
      expect(crd.spec.names.categories).toEqual(['dbcred']);
      expect(crd.spec.names.shortNames.length).toBeGreaterThan(0);
    }
  });

  it('accept every sample, and `kubectl get dbcred` lists them all', async () => {
    for (const def of KINDS) {
      const m = place(sample(def.kind));
      if (def.scope === 'Cluster') m.metadata['labels'] = { 'dbcred.io/test-suffix': suffix };
      await objects.create(m);
    }
    const out = await kubectl(requireKube().kubeconfig, ['get', 'dbcred', '-n', ns.name, '-o', 'name']);
    for (const def of KINDS.filter((k) => k.scope === 'Namespaced')) {
      expect(out).toContain(`${def.singular}.dbcred.io/`);
    }
  });

  it('explain fields (kubectl explain shows the descriptions)', async () => {
    const explain = async (path: string) => (await kubectl(requireKube().kubeconfig, ['explain', path])).replace(/\s+/g, ' ');
    expect(await explain('databasecredential.spec.ttl')).toContain("Lifetime of each issued user; must not exceed the role's maxTTL.");
    expect(await explain('databaserole.spec.memberOf')).toContain('Group roles each issued user joins');
    expect(await explain('clusterdatabaseserver.spec.tls.mode')).toContain('verify-full: verify-ca plus the host name');
    expect(await explain('databasestaticcredential.spec.rotationSchedule')).toContain('Standard cron syntax with five fields');
  });

  it('apply the defaults a user can rely on', async () => {
    const created = await objects.create(place({ ...sample('DatabaseCredential'), spec: { roleRef: { name: 'r' } } }, 'defaults'));
    expect(created.spec).toEqual({
      roleRef: { kind: 'DatabaseRole', name: 'r' },
      rotation: { enabled: true, renewAtPercent: 67 },
      secret: {},
      deletionPolicy: 'Revoke',
    });
  });

  it('accept a short ttl with the default overlap, and any overlap while rotation is off', async () => {
    const short = await objects.create(place({ ...sample('DatabaseCredential'), spec: { roleRef: { name: 'r' }, ttl: '2m' } }, 'short'));
    expect(short.spec).toMatchObject({ ttl: '2m', rotation: { enabled: true, renewAtPercent: 67 } });
    const off = await objects.create(
      place(
        { ...sample('DatabaseCredential'), spec: { roleRef: { name: 'r' }, ttl: '2m', rotation: { enabled: false, overlap: '10m' } } },
        'off',
      ),
    );
    expect(off.spec).toMatchObject({ rotation: { enabled: false, overlap: '10m' } });
  });

  it('let kubectl select credentials by role and roles by server, for break-glass deletes', async () => {
    for (const [name, role] of [
      ['by-role-a', 'role-a'],
      ['by-role-b', 'role-b'],
    ])
      await objects.create(place({ ...sample('DatabaseCredential'), spec: { roleRef: { name: role } } }, name));
    await objects.create(place({ ...sample('DatabaseRole'), spec: { serverRef: { name: 'server-a' } } }, 'on-server-a'));
    const select = async (plural: string, selector: string) =>
      (await kubectl(requireKube().kubeconfig, ['get', `${plural}.dbcred.io`, '-n', ns.name, '--field-selector', selector, '-o', 'name']))
        .trim()
        .split('\n');
    expect(await select('databasecredentials', 'spec.roleRef.name=role-a')).toEqual(['databasecredential.dbcred.io/by-role-a']);
    expect(await select('databaseroles', 'spec.serverRef.name=server-a')).toEqual(['databaserole.dbcred.io/on-server-a']);
  });

  it('prune unknown fields when the client does not ask for strict validation', async () => {
    const m = place(sample('DatabaseCredential'), 'pruned');
    m.spec['tll'] = '5m';
    const created = await objects.create(m, { fieldValidation: 'Ignore' });
    expect(created.spec).not.toHaveProperty('tll');
    expect(created.spec).toHaveProperty('ttl', '2h');
  });
});

type Case = [title: string, kind: string, mutate: (m: Manifest) => void, expected: string[]];

// The cases below reach into nested spec fields of plain manifests; `any` keeps each case one line.
/* eslint-disable @typescript-eslint/no-unsafe-member-access */
const spec = (m: Manifest) => m.spec as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const INVALID_CREATES: Case[] = [
  [
    'a server with an unknown engine',
    'DatabaseServer',
    (m) => (spec(m).engine = 'oracle'),
    ['spec.engine: Unsupported value: "oracle": supported values: "postgres", "mysql"'],
  ],
  [
    'a server port above 65535',
    'DatabaseServer',
    (m) => (spec(m).port = 70000),
    ['spec.port: Invalid value: 70000: spec.port in body should be less than or equal to 65535'],
  ],
  [
    'a server port of 0',
    'DatabaseServer',
    (m) => (spec(m).port = 0),
    ['spec.port: Invalid value: 0: spec.port in body should be greater than or equal to 1'],
  ],
  [
    'a server without its admin Secret reference',
    'DatabaseServer',
    (m) => delete spec(m).adminCredentialsSecretRef,
    ['spec.adminCredentialsSecretRef: Required value'],
  ],
  [
    'an admin Secret reference without a name',
    'DatabaseServer',
    (m) => (spec(m).adminCredentialsSecretRef = { usernameKey: 'u' }),
    ['spec.adminCredentialsSecretRef.name: Required value'],
  ],
  [
    'a host name with a space',
    'DatabaseServer',
    (m) => (spec(m).host = 'db host'),
    ['spec.host: Invalid value: "db host"', 'should match'],
  ],
  [
    'an unknown TLS mode',
    'DatabaseServer',
    (m) => (spec(m).tls = { mode: 'strict' }),
    ['spec.tls.mode: Unsupported value: "strict": supported values: "disable", "require", "verify-ca", "verify-full"'],
  ],
  [
    'a CA with TLS mode require',
    'DatabaseServer',
    (m) => (spec(m).tls = { mode: 'require', caSecretRef: { name: 'ca' } }),
    ['spec.tls: Invalid value', 'tls.caSecretRef is only used with mode verify-ca or verify-full'],
  ],
  [
    'an admin rotation schedule that is not cron',
    'DatabaseServer',
    (m) => (spec(m).adminRotation = { schedule: 'every sunday' }),
    ['spec.adminRotation.schedule: Invalid value', 'must be a cron schedule with five fields (e.g. "0 3 * * *")'],
  ],
  [
    'a cluster server whose admin Secret has no namespace',
    'ClusterDatabaseServer',
    (m) => delete spec(m).adminCredentialsSecretRef.namespace,
    ['spec.adminCredentialsSecretRef.namespace: Required value'],
  ],
  [
    'a cluster server with empty allowedNamespaces',
    'ClusterDatabaseServer',
    (m) => (spec(m).allowedNamespaces = {}),
    ['allowedNamespaces needs names or a selector (selector: {} allows every namespace)'],
  ],
  [
    'a role whose defaultTTL exceeds its maxTTL',
    'DatabaseRole',
    (m) => Object.assign(spec(m), { defaultTTL: '2h', maxTTL: '1h' }),
    ['spec.defaultTTL: Invalid value', 'defaultTTL must not exceed maxTTL'],
  ],
  [
    'a role with a duration in words',
    'DatabaseRole',
    (m) => (spec(m).defaultTTL = '10 minutes'),
    ['spec.defaultTTL: Invalid value: "10 minutes": must be a duration such as 90s, 15m, 24h or 1h30m'],
  ],
  [
    'a role maxTTL above a year',
    'DatabaseRole',
    (m) => (spec(m).maxTTL = '9000h'),
    ['spec.maxTTL: Invalid value: "9000h": must be between 1s and 8760h'],
  ],
  [
    'a role with both engine blocks',
    'DatabaseRole',
    (m) => (spec(m).mysql = {}),
    ["set at most one engine block: postgres or mysql, matching the server's engine"],
  ],
  [
    'a group role name with SQL in it',
    'DatabaseRole',
    (m) => (spec(m).memberOf = ['readers; DROP TABLE x']),
    ['spec.memberOf[0]: Invalid value: "readers; DROP TABLE x"'],
  ],
  [
    'a creation statement with an unknown variable',
    'DatabaseRole',
    (m) => (spec(m).creationStatements = ['GRANT {{role}} TO {{username}}']),
    [
      'spec.creationStatements: Invalid value',
      'statements may only use the variables {{username}}, {{password}}, {{expiresAt}}, {{database}}',
    ],
  ],
  [
    'owned objects reassigned to nobody',
    'DatabaseRole',
    (m) => (spec(m).postgres = { ownedObjects: { action: 'Reassign' } }),
    ['spec.postgres.ownedObjects: Invalid value', 'ownedObjects.reassignTo is required when action is Reassign'],
  ],
  [
    'a password shorter than 24 characters',
    'DatabaseRole',
    (m) => (spec(m).passwordPolicy = { length: 12 }),
    ['spec.passwordPolicy.length: Invalid value: 12: spec.passwordPolicy.length in body should be greater than or equal to 24'],
  ],
  [
    'a cluster role without allowedNamespaces',
    'ClusterDatabaseRole',
    (m) => delete spec(m).allowedNamespaces,
    ['spec.allowedNamespaces: Required value'],
  ],
  [
    'a cluster role on a namespaced server',
    'ClusterDatabaseRole',
    (m) => (spec(m).serverRef.kind = 'DatabaseServer'),
    ['spec.serverRef.kind: Unsupported value: "DatabaseServer": supported values: "ClusterDatabaseServer"'],
  ],
  [
    'a MySQL grant of ALL',
    'ClusterDatabaseRole',
    (m) => (spec(m).mysql.grants = [{ privileges: ['ALL'], database: 'events' }]),
    ['spec.mysql.grants[0].privileges[0]: Unsupported value: "ALL"'],
  ],
  ['a credential without a role', 'DatabaseCredential', (m) => delete spec(m).roleRef, ['spec.roleRef: Required value']],
  [
    "a credential whose name cannot be its Secret's label value",
    'DatabaseCredential',
    (m) => (m.metadata.name = 'x'.repeat(64)),
    ['the name must be at most 63 characters: it becomes the dbcred.io/credential label of the Secret'],
  ],
  [
    "a static credential whose name cannot be its Secret's label value",
    'DatabaseStaticCredential',
    (m) => (m.metadata.name = 'y'.repeat(64)),
    ['the name must be at most 63 characters'],
  ],
  [
    'a credential ttl that is not a duration',
    'DatabaseCredential',
    (m) => (spec(m).ttl = 'forever'),
    ['spec.ttl: Invalid value: "forever": must be a duration such as 90s, 15m, 24h or 1h30m'],
  ],
  [
    'a credential ttl of zero',
    'DatabaseCredential',
    (m) => (spec(m).ttl = '0s'),
    ['spec.ttl: Invalid value: "0s": must be between 1s and 8760h'],
  ],
  [
    'an overlap as long as the ttl',
    'DatabaseCredential',
    (m) => Object.assign(spec(m), { ttl: '10m', rotation: { overlap: '10m' } }),
    ['spec.rotation.overlap: Invalid value', 'rotation.overlap must be shorter than ttl'],
  ],
  [
    'a rotation at 95% of the ttl',
    'DatabaseCredential',
    (m) => (spec(m).rotation = { renewAtPercent: 95 }),
    ['spec.rotation.renewAtPercent: Invalid value: 95: spec.rotation.renewAtPercent in body should be less than or equal to 90'],
  ],
  [
    'a Secret key with a space',
    'DatabaseCredential',
    (m) => (spec(m).secret = { template: { 'DATABASE URL': '{{uri}}' } }),
    ['spec.secret.template: Invalid value', 'secret.template keys must be valid Secret keys: letters, digits, -, _ and .'],
  ],
  [
    'a Secret template with an unknown variable',
    'DatabaseCredential',
    (m) => (spec(m).secret = { template: { TOKEN: '{{token}}' } }),
    ['spec.secret.template: Invalid value', 'secret.template values may only use the variables {{username}}, {{password}}, {{host}}'],
  ],
  [
    'an unknown deletion policy',
    'DatabaseCredential',
    (m) => (spec(m).deletionPolicy = 'Delete'),
    ['spec.deletionPolicy: Unsupported value: "Delete": supported values: "Revoke", "Retain"'],
  ],
  [
    'a rollout restart of a Pod',
    'DatabaseCredential',
    (m) => (spec(m).rolloutRestartTargets = [{ kind: 'Pod', name: 'p' }]),
    ['spec.rolloutRestartTargets[0].kind: Unsupported value: "Pod": supported values: "Deployment", "StatefulSet", "DaemonSet"'],
  ],
  ['a misspelled field (strict field validation)', 'DatabaseCredential', (m) => (spec(m).tll = '5m'), ['unknown field "spec.tll"']],
  [
    'a static credential without a schedule',
    'DatabaseStaticCredential',
    (m) => delete spec(m).rotationSchedule,
    ['spec.rotationSchedule: Required value'],
  ],
  [
    'a static credential with a six-field schedule',
    'DatabaseStaticCredential',
    (m) => (spec(m).rotationSchedule = '0 0 3 * * * *'),
    ['spec.rotationSchedule: Invalid value', 'must be a cron schedule with five fields'],
  ],
];

describe('invalid manifests are refused with a message that says what is wrong', () => {
  it.each(INVALID_CREATES)('%s', async (_title, kind, mutate, expected) => {
    const m = place(sample(kind), 'invalid');
    mutate(m);
    const error = await apiError(() => objects.create(m, { dryRun: true }));
    expect(error.status === 422 || error.status === 400).toBe(true);
    for (const text of expected) expect(error.message).toContain(text);
  });
});

const IMMUTABLE_UPDATES: Case[] = [
  ['the engine of a server', 'DatabaseServer', (m) => (spec(m).engine = 'mysql'), ['spec.engine: Invalid value', 'engine is immutable']],
  [
    'the server of a role',
    'DatabaseRole',
    (m) => (spec(m).serverRef = { name: 'other-db' }),
    ['spec.serverRef: Invalid value', 'serverRef is immutable'],
  ],
  ['the server of a cluster role', 'ClusterDatabaseRole', (m) => (spec(m).serverRef.name = 'other-db'), ['serverRef is immutable']],
  [
    'the role of a credential',
    'DatabaseCredential',
    (m) => (spec(m).roleRef = { name: 'other-role' }),
    ['spec.roleRef: Invalid value', 'roleRef is immutable: create a new DatabaseCredential to use another role or server'],
  ],
  ['the role kind of a credential', 'DatabaseCredential', (m) => (spec(m).roleRef.kind = 'ClusterDatabaseRole'), ['roleRef is immutable']],
  ['the Secret name of a credential', 'DatabaseCredential', (m) => (spec(m).secret.name = 'another-secret'), ['secret.name is immutable']],
  ['the user of a static credential', 'DatabaseStaticCredential', (m) => (spec(m).username = 'someone_else'), ['username is immutable']],
];

describe('immutable fields cannot change after creation', () => {
  it.each(IMMUTABLE_UPDATES)('%s', async (title, kind, mutate, expected) => {
    const name = `immutable-${IMMUTABLE_UPDATES.findIndex((c) => c[0] === title)}`;
    const created = await objects.create(place(sample(kind), name));
    mutate(created);
    const error = await apiError(() => objects.replace(created));
    expect(error.status).toBe(422);
    for (const text of expected) expect(error.message).toContain(text);
  });

  it('while mutable fields still can', async () => {
    const created = await objects.create(place(sample('DatabaseCredential'), 'mutable'));
    spec(created).ttl = '3h';
    spec(created).rotation.overlap = '10m';
    const replaced = await objects.replace(created);
    expect(replaced.spec).toMatchObject({ ttl: '3h', rotation: { overlap: '10m' } });
  });
});
