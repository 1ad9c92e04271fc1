// A credential's status is the operator's record of the users it issued (I1), but whoever may write
// the status subresource can edit it. A user name there that this credential could not have issued
// (names derive from its uid and serial) is never created, converged, revoked or published: it is
// dropped from the status, with a Warning Event and an audit record.
import type { DatabaseCredential } from '../../api/v1alpha1/index.ts';
import { isUsernameFor } from '../../engines/username.ts';
import { recordDenial } from '../denial.ts';
import type { CredentialContext } from './credential-context.ts';

/** foreignUsers lists the users the credential's status names that it did not issue. */
export function foreignUsers(cred: DatabaseCredential): string[] {
  const st = cred.status ?? {};
  const uid = cred.metadata.uid ?? '';
  const named = [st.pending, st.current, ...(st.retiring ?? [])].filter((u) => u !== undefined);
  return named.filter((u) => !isUsernameFor(u.username, uid, u.serial)).map((u) => u.username);
}

/** dropForeignUsers removes foreign users from the status, leaving the databases alone, and says so. */
export async function dropForeignUsers(c: CredentialContext, cred: DatabaseCredential): Promise<DatabaseCredential> {
  const foreign = foreignUsers(cred);
  if (foreign.length === 0) return cred;
  const st = cred.status ?? {};
  const keep = <T extends { username: string }>(u: T | undefined) => (u === undefined || foreign.includes(u.username) ? null : u);
  const message = `the status named user(s) ${foreign.join(', ')} that this credential did not issue (its status was edited); they were left alone and dropped from the status`;
  recordDenial(c.ctx, cred, 'DatabaseCredential', 'Check', 'ForeignUser', message);
  return c.writeStatus(cred, {
    pending: keep(st.pending),
    current: keep(st.current),
    retiring: (st.retiring ?? []).filter((r) => !foreign.includes(r.username)),
  });
}
