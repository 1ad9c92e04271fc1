// Issuing a user for a credential, first or as a replacement: record the intent (I1), create the
// user, verify it logs in, publish it in the Secret (I5), then record it as current and schedule
// the previous user's retirement after the overlap. Also re-rendering the Secret for the same user.
import { ROTATE_ANNOTATION, type DatabaseCredential, type DatabaseCredentialStatus } from '../../api/v1alpha1/index.ts';
import type { Reason } from '../../api/v1alpha1/conditions.ts';
import { generatePassword } from '../../engines/password.ts';
import { usernameFor } from '../../engines/username.ts';
import { renewAt } from '../../lifecycle/horizons.ts';
import { renderSecretData } from '../../secrets/secret-data.ts';
import { digestSecret, layoutHash } from '../../secrets/secret-digest.ts';
import { mustParseDuration } from '../../util/duration.ts';
import type { ResolvedServer, ServerRef } from '../engine-pool.ts';
import { assertSecretIsOurs, rerenderSecret, secretNameOf, secretValues, writeSecret } from '../published-secret.ts';
import type { ResolvedRole } from '../roles.ts';
import { withCondition, withoutCondition } from '../status-conditions.ts';
import { isDbcredError } from '../../util/errors.ts';
import { revokeUsers } from './revocation.ts';
import type { CredentialContext, Status } from './credential-context.ts';
import { restartTargets } from '../rollout-restart.ts';

/** The overlap when the credential sets none (capped by the previous user's expiry). */
const DEFAULT_OVERLAP_MS = 5 * 60_000;

type Retiring = NonNullable<Status['retiring']>[number];

/** Why a user is issued: the first one, a scheduled replacement, or a replacement of a damaged one. */
export type IssueWhy = 'issue' | 'rotate' | 'repair';

/**
 * issueUser records the intent (unless one is being completed), calls intentRecorded, creates and
 * verifies the user, publishes it, and records it as current with the previous user retiring; it
 * returns the credential as written.
 */
export async function issueUser(
  c: CredentialContext,
  cred: DatabaseCredential,
  role: ResolvedRole,
  server: ResolvedServer,
  ttlMs: number,
  why: IssueWhy,
  now: number,
  intentRecorded: () => void = () => undefined,
): Promise<DatabaseCredential> {
  const { ctx } = c;
  const st: Status = cred.status ?? {};
  let pending = st.pending;
  // A Secret name taken by someone else is refused before any user exists (checked once: a
  // credential that has a user already found its name free).
  if (!pending && !st.current && !c.cachedSecret(cred)) await assertSecretIsOurs(ctx.client, cred);
  if (!pending) {
    // After an expiry or a dropped intent nothing else remembers the serials used: lastSerial does.
    const serial = Math.max(st.lastSerial ?? 0, st.current?.serial ?? 0, ...(st.retiring ?? []).map((r) => r.serial)) + 1;
    const username = usernameFor(
      { credentialUid: cred.metadata.uid!, serial, prefix: role.role.spec.usernamePrefix, marker: server.engine.marker },
      server.engine.maxUsernameLength,
    );
    pending = { username, serial, expiresAt: new Date(now + ttlMs).toISOString(), startedAt: new Date(now).toISOString() };
    // I1: the name and expiry are recorded before the user exists.
    cred = await c.writeStatus(cred, { pending, lastSerial: serial, server: serverOf(role.server), secretName: secretNameOf(cred) });
    ctx.failpoints.hit('after-intent-recorded');
  }
  intentRecorded();
  const expiresAt = Date.parse(pending.expiresAt);
  const password = generatePassword(role.role.spec.passwordPolicy);
  await server.engine.createUser({ username: pending.username, password, expiresAt: new Date(expiresAt), policy: role.policy });
  ctx.failpoints.hit('after-user-created');
  try {
    await server.engine.verifyLogin({ username: pending.username, password });
    ctx.failpoints.hit('after-user-verified');
    const values = secretValues(server, pending.username, expiresAt);
    const written = await writeSecret(
      ctx.client,
      cred,
      renderSecretData({ ...values, password }, cred.spec.secret.template),
      layoutHash(cred.spec.secret, values),
      c.cachedSecret(cred),
    );
    c.secrets.remember(digestSecret(written)); // no password kept, even until the cache has it
  } catch (error) {
    // A failure no retry can fix (a Secret name taken meanwhile, a Secret the apiserver refuses)
    // leaves a user nobody will ever be given: it is dropped at once, not left in status.pending
    // until its expiry. Retryable failures (the database, the apiserver, a lost lease) keep the
    // intent for the retry or the next leader to complete.
    if (isDbcredError(error) && !error.retryable) await abandonPending(c, cred, pending.username);
    throw error;
  }
  ctx.failpoints.hit('after-secret-written');

  const issuedAt = ctx.clock.now();
  const previous = st.current;
  const retiring: Retiring[] = [...(st.retiring ?? [])];
  if (previous && previous.username !== pending.username) {
    // Never past the previous user's own expiry (which is how the default follows a short ttl); an
    // expired user is no use to anyone: it goes at once.
    const overlap = cred.spec.rotation.overlap === undefined ? DEFAULT_OVERLAP_MS : mustParseDuration(cred.spec.rotation.overlap);
    const overlapEnd = Math.min(issuedAt + overlap, Math.max(issuedAt, Date.parse(previous.expiresAt)));
    retiring.push({
      username: previous.username,
      serial: previous.serial,
      revokeAt: new Date(overlapEnd).toISOString(),
      reason: why === 'repair' ? 'Repaired' : 'Rotated',
    });
  }
  c.missingUsers.delete(`${cred.metadata.namespace}/${cred.metadata.name}`);
  const current = {
    username: pending.username,
    serial: pending.serial,
    issuedAt: new Date(issuedAt).toISOString(),
    expiresAt: pending.expiresAt,
    ...(cred.spec.rotation.enabled
      ? { renewAt: new Date(renewAt(issuedAt, expiresAt, cred.spec.rotation.renewAtPercent)).toISOString() }
      : {}),
  };
  const reason: Reason = why === 'issue' ? 'Issued' : 'Rotated';
  const message = `user ${current.username} (serial ${current.serial}) is in Secret ${secretNameOf(cred)} until ${current.expiresAt}`;
  let conditions = withCondition(st.conditions, 'Ready', 'True', reason, message, issuedAt, cred.metadata.generation);
  conditions = withCondition(conditions, 'Issued', 'True', reason, message, issuedAt, cred.metadata.generation);
  conditions =
    retiring.length > 0
      ? withCondition(
          conditions,
          'Rotating',
          'True',
          'RotationScheduled',
          `${retiring.length} previous user(s) revoked after the overlap`,
          issuedAt,
          cred.metadata.generation,
        )
      : withoutCondition(conditions, 'Rotating');
  const request = rotationRequestOf(cred);
  cred = await c.writeStatus(cred, {
    current,
    pending: null,
    retiring,
    conditions,
    secretName: secretNameOf(cred),
    server: serverOf(role.server),
    // Any new user carries out a rotation asked for before it.
    ...(request !== undefined ? { rotationRequest: request } : {}),
  });
  ctx.metrics.issued.inc({ engine: server.engineName, why });
  ctx.metrics.issuanceDuration.observe({ engine: server.engineName }, Math.max(0, issuedAt - Date.parse(pending.startedAt)) / 1000);
  c.event(cred, 'Normal', reason, why === 'issue' ? 'Issue' : 'Rotate', message);
  c.audit(cred, {
    action: why === 'issue' ? 'issue' : 'rotate',
    outcome: 'success',
    server: role.server.name,
    role: role.role.metadata.name,
    username: current.username,
    reason,
    message,
  });
  if (previous)
    await restartTargets(c.ctx, cred.metadata.namespace!, cred.spec.rolloutRestartTargets ?? [], issuedAt, (reason, note) =>
      c.event(cred, 'Warning', reason, 'RolloutRestart', note),
    );
  return cred;
}

/** abandonPending revokes the pending user of an issuance that cannot complete and clears the intent. */
async function abandonPending(c: CredentialContext, cred: DatabaseCredential, username: string): Promise<void> {
  const server = cred.status?.server;
  if (!server) return;
  const { failure } = await revokeUsers(c, cred, server, [username], 'abandoned', { event: false });
  if (!failure) await c.writeStatus(cred, { pending: null });
}

/**
 * republishSecret renders the Secret again for the same user after its spec (template, labels,
 * annotations) or the server's address changed, keeping the password it holds (rerenderSecret).
 */
export async function republishSecret(
  c: CredentialContext,
  cred: DatabaseCredential,
  server: ResolvedServer,
  current: NonNullable<DatabaseCredentialStatus['current']>,
): Promise<void> {
  const written = await rerenderSecret(c.ctx.client, cred, secretValues(server, current.username, Date.parse(current.expiresAt)));
  if (!written) return;
  c.secrets.remember(digestSecret(written));
  const message = `Secret ${secretNameOf(cred)} rendered again for user ${current.username} (same password): its spec or the server's address changed`;
  c.event(cred, 'Normal', 'SecretUpdated', 'Publish', message);
  c.audit(cred, {
    action: 'republish',
    outcome: 'success',
    server: server.ref.name,
    username: current.username,
    reason: 'SecretUpdated',
    message,
  });
}

function serverOf(ref: ServerRef): NonNullable<Status['server']> {
  return ref.namespace ? { kind: ref.kind, name: ref.name, namespace: ref.namespace } : { kind: ref.kind, name: ref.name };
}

/** rotationRequestOf is the credential's dbcred.io/rotate annotation (a request for a new user now), if set. */
export function rotationRequestOf(cred: Pick<DatabaseCredential, 'metadata'>): string | undefined {
  return cred.metadata.annotations?.[ROTATE_ANNOTATION];
}
