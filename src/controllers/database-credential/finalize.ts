// Deleting a credential (I6): revoke every user it issued (or, with deletionPolicy Retain, leave
// them and the Secret unmanaged), delete its Secret, then remove the finalizer.
import {
  BREAK_GLASS_ANNOTATION,
  DatabaseCredentialStatus,
  usernamesIn,
  validate,
  type DatabaseCredential,
} from '../../api/v1alpha1/index.ts';
import type { Result } from '../../runtime/controller.ts';
import { hasFinalizer, removeFinalizer } from '../../runtime/finalizers.ts';
import { Resources } from '../../runtime/kube/builtin-resources.ts';
import { isNotFound } from '../../runtime/kube/errors.ts';
import type { KubeObject } from '../../runtime/kube/types.ts';
import { REVOKE_FINALIZER } from '../dbcred-resources.ts';
import { RETAINED_FROM_ANNOTATION, RETAINED_LABEL } from '../../secrets/secret-metadata.ts';
import { deleteSecret, secretNameOf, type SecretObject } from '../published-secret.ts';
import { RES, type CredentialContext } from './credential-context.ts';
import { dropForeignUsers } from './foreign-users.ts';
import { REVOCATION_RETRY, revokeUsers, showRevocationFailing } from './revocation.ts';

/** finalizeCredential revokes every user the credential issued (or retains them), then releases the object. */
export async function finalizeCredential(c: CredentialContext, cred: DatabaseCredential): Promise<Result | void> {
  const { ctx } = c;
  if (!hasFinalizer(cred, REVOKE_FINALIZER)) return;
  const st = cred.status ?? {};
  // Retain keeps the user its Secret names; one in its overlap or still being issued goes, as on Revoke.
  const retain = cred.spec.deletionPolicy === 'Retain';
  const users = usernamesIn(st).filter((u) => !(retain && u === st.current?.username));
  if (users.length > 0 && st.server) {
    // `dbcred revoke` marks what it deletes, so the records say the glass was broken (and, through
    // the chart's policy, by whom).
    const mark = cred.metadata.annotations?.[BREAK_GLASS_ANNOTATION];
    const { revoked, failure } = await revokeUsers(
      c,
      cred,
      st.server,
      [...new Set(users)],
      mark ? 'break-glass' : 'deleted',
      mark ? { note: `break-glass ${mark}` } : {},
    );
    if (revoked.length > 0) {
      cred = await c.writeStatus(cred, {
        pending: st.pending && revoked.includes(st.pending.username) ? null : (st.pending ?? null),
        current: st.current && revoked.includes(st.current.username) ? null : (st.current ?? null),
        retiring: (st.retiring ?? []).filter((r) => !revoked.includes(r.username)),
      });
    }
    if (failure) {
      await showRevocationFailing(c, cred, failure, { deleting: true });
      return REVOCATION_RETRY;
    }
  }
  if (retain) {
    const message = `deletionPolicy Retain: user ${st.current?.username ?? '(none)'} and Secret ${secretNameOf(cred)} are left in place and no longer managed; the user lives while the Secret does (the database still ends it at its expiry)`;
    c.event(cred, 'Normal', 'Retained', 'Delete', message);
    c.audit(cred, { action: 'retain', outcome: 'success', username: st.current?.username, reason: 'Retained', message });
    await releaseSecret(c, cred);
  } else {
    // I5: the Secret must not outlive its user, even for the moment garbage collection takes.
    await deleteSecret(ctx.client, cred, c.cachedSecret(cred));
  }
  ctx.failpoints.hit('before-finalizer-removed');
  try {
    await removeFinalizer(ctx.client, RES, cred, REVOKE_FINALIZER);
  } catch (error) {
    if (!isNotFound(error)) throw error; // already released (a retry after a crash)
  }
  ctx.status.forget(RES, `${cred.metadata.namespace}/${cred.metadata.name}`);
}

/** finalizeMalformed revokes what a malformed object's status names, so a bad spec never leaks users. */
export async function finalizeMalformed(c: CredentialContext, raw: KubeObject): Promise<Result | void> {
  const status = validate(DatabaseCredentialStatus, (raw as { status?: unknown }).status ?? {});
  const spec = {
    roleRef: { kind: 'DatabaseRole' as const, name: '' },
    rotation: { enabled: false, renewAtPercent: 67, overlap: '0s' },
    secret: {},
    deletionPolicy: 'Revoke' as const,
  };
  const cred = { ...(raw as DatabaseCredential), spec, status: status.ok ? status.value : {} };
  return finalizeCredential(c, await dropForeignUsers(c, cred));
}

/**
 * A retained Secret loses its owner reference, so garbage collection does not take it. Only a
 * Secret this credential owns is touched (the name is the tenant's to choose), and the patch is
 * conditioned on the version read, so a Secret replaced meanwhile is judged again on retry.
 */
async function releaseSecret(c: CredentialContext, cred: DatabaseCredential): Promise<void> {
  let secret: SecretObject;
  try {
    secret = await c.ctx.client.get<SecretObject>(Resources.Secret, secretNameOf(cred), cred.metadata.namespace);
  } catch (error) {
    if (isNotFound(error)) return; // no Secret: nothing to keep
    throw error;
  }
  if (secret.metadata.ownerReferences?.find((r) => r.controller)?.uid !== cred.metadata.uid) return;
  // Marked before the finalizer goes, so a sweep that no longer sees the credential sees the mark.
  const current = cred.status?.current;
  await c.ctx.client.mergePatch(Resources.Secret, secret.metadata.name, secret.metadata.namespace, {
    metadata: {
      ownerReferences: null,
      resourceVersion: secret.metadata.resourceVersion,
      ...(current
        ? {
            labels: { [RETAINED_LABEL]: 'true' },
            annotations: { [RETAINED_FROM_ANNOTATION]: `${cred.metadata.uid}/${current.serial}` },
          }
        : {}),
    },
  });
}
