import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ClusterDatabaseRole,
  ClusterDatabaseServer,
  DatabaseCredential,
  DatabaseRole,
  DatabaseServer,
  DatabaseStaticCredential,
  KINDS,
  Reason,
  validate,
} from '../../src/api/v1alpha1/index.ts';
import { renderCrds, renderDocs } from '../../scripts/generate/render.ts';
import { withReasonTable } from '../../scripts/generate/reason-table.ts';
import { REASON_HELP } from '../../src/api/v1alpha1/reason-help.ts';
import { REPO_ROOT } from '../../harness/binaries.ts';
import { sample, sampleManifests } from '../../harness/samples.ts';

const SCHEMAS = { DatabaseServer, ClusterDatabaseServer, DatabaseRole, ClusterDatabaseRole, DatabaseCredential, DatabaseStaticCredential };

describe('the v1alpha1 schemas (as the operator reads objects)', () => {
  it('have one sample per kind, and every sample is valid', () => {
    const samples = sampleManifests();
    expect(Object.keys(samples).sort()).toEqual(KINDS.map((k) => k.kind).sort());
    for (const [kind, manifest] of Object.entries(samples)) {
      const result = validate(SCHEMAS[kind as keyof typeof SCHEMAS], manifest);
      expect({ kind, result: result.ok ? 'valid' : result.message }).toEqual({ kind, result: 'valid' });
    }
  });

  it('fill in the documented defaults', () => {
    const result = validate(DatabaseCredential, { ...sample('DatabaseCredential'), spec: { roleRef: { name: 'r' } } });
    if (!result.ok) throw new Error(result.message);
    expect(result.value.spec).toEqual({
      roleRef: { kind: 'DatabaseRole', name: 'r' },
      rotation: { enabled: true, renewAtPercent: 67 },
      secret: {},
      deletionPolicy: 'Revoke',
    });
    const role = validate(DatabaseRole, { ...sample('DatabaseRole'), spec: { serverRef: { name: 's' } } });
    if (!role.ok) throw new Error(role.message);
    expect(role.value.spec).toMatchObject({
      serverRef: { kind: 'DatabaseServer', name: 's' },
      defaultTTL: '1h',
      maxTTL: '24h',
      passwordPolicy: { length: 32, alphabet: 'alphanumeric' },
      revocation: { terminateSessions: true },
    });
  });

  it('turn a malformed object into one readable message instead of an exception', () => {
    const broken = {
      ...sample('DatabaseRole'),
      spec: { serverRef: { name: 's' }, defaultTTL: '2d', maxTTL: 'forever', postgres: {}, mysql: {} },
    };
    const result = validate(DatabaseRole, broken);
    expect(result).toEqual({
      ok: false,
      message: expect.stringContaining('defaultTTL: must be a duration such as 90s, 15m, 24h or 1h30m'),
    });
    expect(result.ok ? '' : result.message).toContain('maxTTL: must be a duration');
    expect(result.ok ? '' : result.message).toContain('set at most one engine block');
  });

  it('apply the same cross-field rules as the CRDs', () => {
    const role = (spec: object) => validate(DatabaseRole, { ...sample('DatabaseRole'), spec: { serverRef: { name: 's' }, ...spec } });
    expect(role({ defaultTTL: '2h', maxTTL: '1h' })).toEqual({ ok: false, message: 'spec.defaultTTL: defaultTTL must not exceed maxTTL' });
    expect(role({ defaultTTL: '1h', maxTTL: '1h' }).ok).toBe(true);
    const credential = (spec: object) =>
      validate(DatabaseCredential, { ...sample('DatabaseCredential'), spec: { roleRef: { name: 'r' }, ...spec } });
    expect(credential({ ttl: '5m', rotation: { overlap: '5m' } })).toEqual({
      ok: false,
      message: 'spec.rotation.overlap: rotation.overlap must be shorter than ttl',
    });
    // The default overlap never refuses a short ttl, and rotation settings do not matter with rotation off.
    expect(credential({ ttl: '2m' }).ok).toBe(true);
    expect(credential({ ttl: '2m', rotation: { enabled: false, overlap: '10m' } }).ok).toBe(true);
    expect(credential({ secret: { template: { URL: '{{username}}@{{hostname}}' } } })).toEqual({
      ok: false,
      message:
        'spec.secret.template: secret.template values may only use the variables {{username}}, {{password}}, {{host}}, {{port}}, {{database}}, {{uri}}, {{jdbcUrl}}, {{expiresAt}}, {{caCert}}',
    });
  });

  it('keep condition reasons in the pattern metav1.Condition requires', () => {
    for (const reason of Object.values(Reason)) expect(reason).toMatch(/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/);
  });
});

describe('the committed CRDs', () => {
  it.each(renderCrds().map((c) => [c.file, c.yaml]))('%s matches what the schemas generate (crds/ and the Helm chart)', (file, yaml) => {
    const hint = 'run `npm run generate:crds` and commit the result';
    for (const dir of ['crds', join('charts', 'dbcred', 'crds')]) {
      const committed = readFileSync(join(REPO_ROOT, dir, file), 'utf8');
      expect({ file: join(dir, file), upToDate: committed === yaml, hint }).toEqual({ file: join(dir, file), upToDate: true, hint });
    }
  });

  it("the README's table of reasons matches the catalog, and every Warning says what to do", () => {
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    const hint = 'run `npm run generate:crds`';
    expect({ upToDate: withReasonTable(readme) === readme, hint }).toEqual({ upToDate: true, hint });
    const warningsWithoutFix = Object.entries(REASON_HELP).filter(([, h]) => h.type === 'Warning' && !h.fix);
    expect(warningsWithoutFix).toEqual([]);
  });

  it('docs/crd-reference.md matches the schemas', () => {
    const { file, text } = renderDocs();
    const upToDate = readFileSync(join(REPO_ROOT, file), 'utf8') === text;
    expect({ file, upToDate, hint: 'run `npm run generate:crds`' }).toEqual({ file, upToDate: true, hint: 'run `npm run generate:crds`' });
  });
});
