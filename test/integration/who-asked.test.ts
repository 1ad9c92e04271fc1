import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import {
  REQUESTED_BY_ANNOTATION,
  REQUESTED_BY_GROUPS_ANNOTATION,
  REQUESTED_BY_UID_ANNOTATION,
} from '../../src/api/v1alpha1/annotations.ts';
import { DbcredResources } from '../../src/controllers/dbcred-resources.ts';
import type { KubeClient } from '../../src/runtime/kube/client.ts';
import { Resources } from '../../src/runtime/kube/builtin-resources.ts';
import type { KubeObject } from '../../src/runtime/kube/types.ts';
import { waitFor } from '../../harness/processes.ts';
import { startOperator, type InProcessOperator } from '../../harness/operator.ts';
import { tenantClient } from '../../harness/tenant.ts';
import { create, get, startLab, waitForCondition, type Lab } from '../../harness/lab.ts';

// Who asked: the chart's admission policy (installed by the harness as the chart renders it) stamps
// the identity the apiserver authenticated; the operator names it in audit records and Events, and
// only while that policy is installed.

let lab: Lab;
let tenant: KubeClient;
let op: InProcessOperator | undefined;
let tenantName: string;

beforeAll(async () => {
  lab = await startLab('who-asked');
  tenant = await tenantClient(lab.client, lab.ns.name);
  tenantName = `system:serviceaccount:${lab.ns.name}:tenant`;
}, 120_000);
afterEach(async () => {
  await op?.stop();
  op = undefined;
});
afterAll(async () => {
  await lab?.cleanup();
});

type AuditLine = { action: string; object: { name: string }; requester?: { username: string; groups?: string[]; uid?: string } };
const auditOf = (name: string) => op!.audit.map((l) => JSON.parse(l) as AuditLine).filter((r) => r.object.name === name);

async function eventNotes(name: string): Promise<string[]> {
  const list = await lab.client.list<KubeObject & { note?: string; regarding?: { name?: string } }>(Resources.Event, {
    namespace: lab.ns.name,
  });
  return list.items.filter((e) => e.regarding?.name === name).map((e) => e.note ?? '');
}

describe('who asked for a credential', () => {
  it('is the ServiceAccount the apiserver authenticated, not the name the tenant wrote', async () => {
    op = await startOperator(lab.ns.name);
    // A forged stamp sent with the object is overwritten at admission.
    await tenant.create(DbcredResources.DatabaseCredential, {
      apiVersion: 'dbcred.io/v1alpha1',
      kind: 'DatabaseCredential',
      metadata: {
        name: 'stamped',
        namespace: lab.ns.name,
        annotations: { [REQUESTED_BY_ANNOTATION]: 'platform-admin', [REQUESTED_BY_GROUPS_ANNOTATION]: 'system:masters' },
      },
      spec: { roleRef: { name: 'pg-readers' } },
    });
    const ready = await waitForCondition(lab.client, 'DatabaseCredential', lab.ns.name, 'stamped', 'Ready', 'True');
    const annotations = ready.metadata.annotations ?? {};
    expect(annotations[REQUESTED_BY_ANNOTATION]).toBe(tenantName);
    expect(annotations[REQUESTED_BY_GROUPS_ANNOTATION]?.split(',')).toEqual(
      expect.arrayContaining(['system:serviceaccounts', `system:serviceaccounts:${lab.ns.name}`]),
    );
    expect(annotations[REQUESTED_BY_GROUPS_ANNOTATION]).not.toContain('system:masters');
    expect(annotations[REQUESTED_BY_UID_ANNOTATION]).toMatch(/^[0-9a-f-]{36}$/);

    await waitFor('the issue audit record', () => Promise.resolve(auditOf('stamped').some((r) => r.action === 'issue')), {
      timeoutMs: 10_000,
    });
    expect(auditOf('stamped').find((r) => r.action === 'issue')?.requester).toEqual({
      username: tenantName,
      groups: annotations[REQUESTED_BY_GROUPS_ANNOTATION]!.split(','),
      uid: annotations[REQUESTED_BY_UID_ANNOTATION],
    });
    await op.operator.stop(); // flushes the Events
    op = undefined;
    expect(await eventNotes('stamped')).toContainEqual(expect.stringContaining(`(requested by ${tenantName})`));
  });

  it("keeps the requester through the operator's own updates, and puts the forger's name over a forged one", async () => {
    op = await startOperator(lab.ns.name);
    const before = await get(lab.client, 'DatabaseCredential', lab.ns.name, 'stamped');
    // The operator has updated it since (finalizer, status): the stamp is the tenant's still.
    expect(before.metadata.annotations?.[REQUESTED_BY_ANNOTATION]).toBe(tenantName);
    // The platform team's client forges the tenant's stamp away: the result names the platform's own identity.
    await lab.client.mergePatch(DbcredResources.DatabaseCredential, 'stamped', lab.ns.name, {
      metadata: { annotations: { [REQUESTED_BY_ANNOTATION]: 'nobody' } },
    });
    const after = await get(lab.client, 'DatabaseCredential', lab.ns.name, 'stamped');
    expect(after.metadata.annotations?.[REQUESTED_BY_ANNOTATION]).not.toBe('nobody');
    expect(after.metadata.annotations?.[REQUESTED_BY_ANNOTATION]).not.toBe(tenantName);
    expect(after.metadata.annotations?.[REQUESTED_BY_UID_ANNOTATION]).not.toBe(before.metadata.annotations?.[REQUESTED_BY_UID_ANNOTATION]);
  });
});

describe('without the policy', () => {
  it('the operator names nobody, whatever the annotations say', async () => {
    op = await startOperator(lab.ns.name, { 'requester-policy': 'no-such-policy' });
    await create(tenant, 'DatabaseCredential', lab.ns.name, 'unverified', { roleRef: { name: 'mysql-readers' } });
    const ready = await waitForCondition(lab.client, 'DatabaseCredential', lab.ns.name, 'unverified', 'Ready', 'True');
    expect(ready.metadata.annotations?.[REQUESTED_BY_ANNOTATION]).toBe(tenantName); // stamped, but not believed
    await waitFor('the issue audit record', () => Promise.resolve(auditOf('unverified').some((r) => r.action === 'issue')), {
      timeoutMs: 10_000,
    });
    expect(auditOf('unverified').map((r) => r.requester)).toEqual(auditOf('unverified').map(() => undefined));
  });
});
