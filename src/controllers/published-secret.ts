// The Secret a credential (either kind) is published in: owned by the credential (garbage-collected
// with it), labelled, and annotated with a hash of its data so an edit by hand is noticed. Written,
// re-rendered and deleted here; what is known of it without its data is in secrets/secret-digest.ts.
import { API_VERSION } from '../api/v1alpha1/kind.ts';
import type { DatabaseCredential, DatabaseStaticCredential } from '../api/v1alpha1/index.ts';
import type { KubeClient } from '../runtime/kube/client.ts';
import { isAlreadyExists, isConflict, isNotFound } from '../runtime/kube/errors.ts';
import { Resources } from '../runtime/kube/builtin-resources.ts';
import type { KubeObject } from '../runtime/kube/types.ts';
import { ConditionError } from './condition-error.ts';
import type { ResolvedServer } from './engine-pool.ts';
import { renderSecretData, type CredentialValues } from '../secrets/secret-data.ts';
import { dataHash, decodeData, layoutHash, secretIsIntact } from '../secrets/secret-digest.ts';
import {
  CREDENTIAL_LABEL,
  DATA_HASH_ANNOTATION,
  LAYOUT_HASH_ANNOTATION,
  MANAGED_BY,
  MANAGED_BY_LABEL,
} from '../secrets/secret-metadata.ts';

export type SecretObject = KubeObject & { data?: Record<string, string>; stringData?: Record<string, string>; type?: string };

/** Either kind of credential that publishes a Secret. */
export type SecretOwner = DatabaseCredential | DatabaseStaticCredential;

/** secretNameOf returns the Secret name of a credential (spec.secret.name, default the credential's name). */
export const secretNameOf = (cred: SecretOwner) => cred.spec.secret.name ?? cred.metadata.name;

/** secretValues: what a Secret says of a user on a server, the password aside (expiresAt: when it stops working). */
export function secretValues(server: ResolvedServer, username: string, expiresAt: number): Omit<CredentialValues, 'password'> {
  return {
    engine: server.engineName,
    username,
    host: server.host,
    port: server.port,
    database: server.database,
    expiresAt: new Date(expiresAt),
    tlsMode: server.tlsMode,
    ...(server.caPem === undefined ? {} : { caCert: server.caPem }),
  };
}

/** secretConflict is the refusal to use a Secret of that name that this credential does not own, or undefined. */
function secretConflict(cred: SecretOwner, existing: SecretObject): ConditionError | undefined {
  const owner = existing.metadata.ownerReferences?.find((r) => r.controller);
  if (owner?.uid === cred.metadata.uid) return undefined;
  const { namespace, name } = existing.metadata;
  return new ConditionError(
    'REFERENCE_INVALID',
    'SecretConflict',
    `Secret ${namespace}/${name} exists and is not owned by this ${cred.kind}; choose another spec.secret.name or delete it`,
  );
}

/**
 * assertSecretIsOurs refuses (SecretConflict) before anything is created when the credential's
 * Secret name is taken by a Secret it does not own; a missing Secret is fine. One read, for a
 * credential's first user only (later ones find their own Secret in the cache).
 */
export async function assertSecretIsOurs(client: KubeClient, cred: SecretOwner): Promise<void> {
  let existing: SecretObject;
  try {
    existing = await client.get<SecretObject>(Resources.Secret, secretNameOf(cred), cred.metadata.namespace);
  } catch (error) {
    if (isNotFound(error)) return;
    throw error;
  }
  const conflict = secretConflict(cred, existing);
  if (conflict) throw conflict;
}

/**
 * writeSecret publishes data in the credential's Secret, conditioned on what the caller read: with
 * no Secret seen it only creates one, and over a seen Secret it replaces exactly that version. A
 * Secret written meanwhile by anyone else (a newer leader, a person) makes the write fail with a
 * conflict instead of being overwritten; the retry reads again. A Secret of that name that this
 * credential does not own is refused (SecretConflict).
 */
export async function writeSecret(
  client: KubeClient,
  cred: SecretOwner,
  data: Record<string, string>,
  layout: string | undefined,
  seen: SecretObject | undefined,
): Promise<SecretObject> {
  const name = secretNameOf(cred);
  const namespace = cred.metadata.namespace!;
  const body: SecretObject = {
    metadata: {
      name,
      namespace,
      labels: { ...cred.spec.secret.labels, [MANAGED_BY_LABEL]: MANAGED_BY, [CREDENTIAL_LABEL]: cred.metadata.name },
      annotations: {
        ...cred.spec.secret.annotations,
        [DATA_HASH_ANNOTATION]: dataHash(data),
        ...(layout === undefined ? {} : { [LAYOUT_HASH_ANNOTATION]: layout }),
      },
      ownerReferences: [
        {
          apiVersion: API_VERSION,
          kind: cred.kind,
          name: cred.metadata.name,
          uid: cred.metadata.uid!,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    type: 'Opaque',
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('base64')])),
  };
  if (seen) {
    const conflict = secretConflict(cred, seen);
    if (conflict) throw conflict;
    return client.replace<SecretObject>(Resources.Secret, {
      ...body,
      metadata: { ...body.metadata, resourceVersion: seen.metadata.resourceVersion },
    });
  }
  try {
    return await client.create<SecretObject>(Resources.Secret, body);
  } catch (error) {
    if (!isAlreadyExists(error)) throw error;
    // Someone else's Secret is a refusal; our own that this reconcile did not see is a conflict to retry.
    const existing = await client.get<SecretObject>(Resources.Secret, name, namespace);
    throw secretConflict(cred, existing) ?? error;
  }
}

/**
 * rerenderSecret writes the credential's Secret again from the current spec and values, keeping
 * the password it holds. It does so only if the Secret is still exactly what the operator wrote for
 * that user; otherwise (missing, edited) it returns undefined and the caller's repair path applies.
 */
export async function rerenderSecret(
  client: KubeClient,
  cred: SecretOwner,
  values: Omit<CredentialValues, 'password'>,
): Promise<SecretObject | undefined> {
  let live: SecretObject;
  try {
    live = await client.get<SecretObject>(Resources.Secret, secretNameOf(cred), cred.metadata.namespace);
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
  const password = decodeData(live)['password'];
  if (!secretIsIntact(live, values.username) || !password) return undefined;
  return writeSecret(
    client,
    cred,
    renderSecretData({ ...values, password }, cred.spec.secret.template),
    layoutHash(cred.spec.secret, values),
    live,
  );
}

/**
 * deleteSecret deletes the credential's Secret if this credential owns it. The cached copy, when
 * given, saves reading it first; the deletion is conditioned on its uid either way, so a Secret
 * replaced meanwhile is read again and judged afresh.
 */
export async function deleteSecret(client: KubeClient, cred: SecretOwner, cached?: SecretObject): Promise<void> {
  const ownedBy = (secret: SecretObject) => secret.metadata.ownerReferences?.find((r) => r.controller)?.uid === cred.metadata.uid;
  if (cached && ownedBy(cached)) {
    try {
      await client.delete(Resources.Secret, cached.metadata.name, cached.metadata.namespace, { uid: cached.metadata.uid });
      return;
    } catch (error) {
      if (isNotFound(error)) return;
      if (!isConflict(error)) throw error; // another Secret of that name now: read it below
    }
  }
  try {
    const existing = await client.get<SecretObject>(Resources.Secret, secretNameOf(cred), cred.metadata.namespace);
    if (!ownedBy(existing)) return;
    await client.delete(Resources.Secret, existing.metadata.name, existing.metadata.namespace, { uid: existing.metadata.uid });
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}
