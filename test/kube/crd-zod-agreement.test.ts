import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { DatabaseCredential, DatabaseRole, validate } from '../../src/api/v1alpha1/index.ts';
import { dbcredObjects } from '../../harness/custom-objects.ts';
import { createTestNamespace, statusOf, type TestNamespace } from '../../harness/kube-client.ts';
import type { Manifest } from '../../harness/samples.ts';

// A property: the apiserver (CRD OpenAPI + CEL) and the operator (zod) give the same verdict on
// every generated object. Objects are built from good values at and inside the limits, and half of
// them get exactly one bad value (just past a limit, wrong format, hostile text), so each rule is
// probed on its own. A disagreement means an object the operator would refuse could be stored, or
// a valid one refused.

const objects = dbcredObjects();
let ns: TestNamespace;
beforeAll(async () => {
  ns = await createTestNamespace('agree');
});
afterAll(async () => {
  await ns.cleanup();
});

const BAD_DURATIONS = ['', '0s', '999ms', '999.999ms', '8760h1ms', '9000h', '5', '1d', '10 minutes', 'h', '-1s', '1h 30m', 'PT5M', '1.h'];
const goodGroup = fc.oneof(
  fc.constantFrom('readers', 'app_rw', '_x', 'a.b-c$', 'x'.repeat(63)),
  fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/),
);
const BAD_GROUPS = ['x'.repeat(64), '1abc', 'bad name', "o'hara", 'a;b', ''];
const GOOD_STATEMENTS = [
  'GRANT SELECT ON t TO {{username}}',
  'ALTER ROLE {{username}} SET search_path = app',
  'COMMENT ON ROLE {{username}} IS {{expiresAt}}',
  'SELECT 1',
];
const BAD_STATEMENTS = ['GRANT {{role}} TO {{username}}', 'SELECT {{ username }}', ''];
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });

/** A perturbation sets one path of the spec to a bad value. */
type Perturbation = { path: string[]; value: unknown };
const bad = (path: string, values: unknown[]): fc.Arbitrary<Perturbation> =>
  fc.constantFrom(...values).map((value) => ({ path: path.split('.'), value }));

function apply(spec: Record<string, unknown>, p: Perturbation): Record<string, unknown> {
  const out = structuredClone(spec);
  let node = out;
  for (const key of p.path.slice(0, -1)) node = (node[key] ??= {}) as Record<string, unknown>;
  node[p.path[p.path.length - 1]!] = p.value;
  return out;
}

const roleSpec = fc.record(
  {
    serverRef: fc.record({ name: fc.constantFrom('db', 'db-1') }),
    // defaultTTL never above maxTTL among the good values: the cross-field rule is probed as a perturbation.
    defaultTTL: maybe(fc.constantFrom('1s', '90s', '15m', '1h')),
    maxTTL: maybe(fc.constantFrom('1h', '1.5h', '24h', '8760h')),
    memberOf: maybe(fc.array(goodGroup, { maxLength: 3 })),
    creationStatements: maybe(fc.array(fc.constantFrom(...GOOD_STATEMENTS), { maxLength: 3 })),
    passwordPolicy: maybe(
      fc.record({ length: fc.integer({ min: 24, max: 128 }), alphabet: maybe(fc.constantFrom('alphanumeric', 'alphanumeric-symbols')) }),
    ),
    connectionLimit: maybe(fc.integer({ min: 1, max: 10_000 })),
    usernamePrefix: maybe(fc.constantFrom('orders', 'a1', 'x', 'abcdefgh')),
    postgres: maybe(fc.record({ ownedObjects: fc.record({ action: fc.constantFrom('Drop', 'Reassign'), reassignTo: goodGroup }) })),
  },
  { requiredKeys: ['serverRef'] },
);
const roleBad = fc.oneof(
  bad('serverRef.name', ['Bad_Name', '']),
  bad('defaultTTL', BAD_DURATIONS),
  bad('maxTTL', BAD_DURATIONS),
  bad('defaultTTL', ['8760h']), // above any good maxTTL but 8760h
  bad(
    'memberOf',
    BAD_GROUPS.map((g) => [g]),
  ),
  bad(
    'creationStatements',
    BAD_STATEMENTS.map((s) => [s]),
  ),
  bad('passwordPolicy.length', [0, 23, 129, 24.5]),
  bad('passwordPolicy.alphabet', ['hex', '']),
  bad('connectionLimit', [-1, 0, 10_001]),
  bad('usernamePrefix', ['Orders', '1x', 'abcdefghi', '']),
  bad('postgres.ownedObjects', [{ action: 'Reassign' }, { action: 'Keep' }]),
  bad('mysql', [{ userHost: '%' }]), // with postgres: two engine blocks
  bad('revocation.terminateSessions', ['yes']),
);

const goodTemplateKey = fc.constantFrom('DATABASE_URL', 'db.url', 'a-b');
const goodTemplateValue = fc.constantFrom(
  '{{uri}}',
  'postgres://{{username}}:{{password}}@{{host}}:{{port}}/{{database}}',
  'plain',
  '{{jdbcUrl}}{{expiresAt}}',
);
const credentialSpec = fc.record(
  {
    roleRef: fc.record({ name: fc.constantFrom('role', 'role-2'), kind: maybe(fc.constantFrom('DatabaseRole', 'ClusterDatabaseRole')) }),
    ttl: maybe(fc.constantFrom('10m', '1h', '24h', '8760h')),
    rotation: maybe(
      fc.record({
        renewAtPercent: maybe(fc.integer({ min: 10, max: 90 })),
        overlap: maybe(fc.constantFrom('0s', '30s', '5m', '9m59s')),
        enabled: maybe(fc.boolean()),
      }),
    ),
    secret: maybe(
      fc.record({
        name: maybe(fc.constantFrom('s', 'app-db')),
        template: maybe(fc.dictionary(goodTemplateKey, goodTemplateValue, { maxKeys: 3 })),
      }),
    ),
    deletionPolicy: maybe(fc.constantFrom('Revoke', 'Retain')),
  },
  { requiredKeys: ['roleRef'] },
);
const credentialBad = fc.oneof(
  bad('roleRef.kind', ['Role', '']),
  bad('roleRef.name', ['Role!']),
  bad('ttl', BAD_DURATIONS),
  bad('rotation.overlap', ['24h1ms', '10 minutes', '-5m']),
  bad('rotation.renewAtPercent', [0, 9, 91, 100, 50.5]),
  bad('secret.name', ['My_Secret']),
  bad('secret.template', [{ 'BAD KEY': '{{uri}}' }, { 'x/y': 'v' }, { URL: '{{token}}' }, { URL: '{{ username }}' }]),
  bad('deletionPolicy', ['Delete']),
  bad('rolloutRestartTargets', [[{ kind: 'Pod', name: 'p' }]]),
);

/** Drop undefined members, as JSON does on the wire. */
const plain = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

async function apiserverAccepts(m: Manifest): Promise<boolean> {
  try {
    await objects.create(m, { dryRun: true });
    return true;
  } catch (error) {
    if (statusOf(error) === 422) return false;
    throw error;
  }
}

describe('the CRDs and the zod schemas agree', () => {
  it.each([
    ['DatabaseRole', DatabaseRole, roleSpec, roleBad],
    ['DatabaseCredential', DatabaseCredential, credentialSpec, credentialBad],
  ] as const)('on which %s objects are valid', async (kind, schema, specArb, badArb) => {
    let accepted = 0;
    let refused = 0;
    const arb = fc
      .tuple(specArb, fc.option(badArb, { freq: 2, nil: undefined }))
      .map(([spec, p]) => (p ? apply(spec as Record<string, unknown>, p) : spec));
    await fc.assert(
      fc.asyncProperty(arb, async (spec) => {
        const m = plain({ apiVersion: 'dbcred.io/v1alpha1', kind, metadata: { name: 'probe', namespace: ns.name }, spec }) as Manifest;
        const server = await apiserverAccepts(m);
        const local = validate(schema, m);
        if (server) accepted++;
        else refused++;
        expect({ spec, apiserver: server, zod: local.ok ? true : local.message }).toEqual({
          spec,
          apiserver: server,
          zod: server ? true : expect.any(String),
        });
      }),
      { numRuns: 400, seed: 20261129 },
    );
    // The generator must exercise both sides of the boundary for the property to mean anything.
    expect(accepted).toBeGreaterThan(100);
    expect(refused).toBeGreaterThan(100);
  });
});
