// Which credentials a break-glass command acts on: by credential, role, server or namespace, the
// selectors combined with AND. The apiserver filters by field selector (the CRD's selectableFields)
// where it can; matches() is the one judge, so a server that ignored a selector changes nothing.
import { DatabaseCredential, validate } from '../api/v1alpha1/index.ts';
import { DbcredResources } from '../controllers/dbcred-resources.ts';
import type { KubeClient } from '../runtime/kube/client.ts';
import { isNotFound } from '../runtime/kube/errors.ts';
import type { KubeObject } from '../runtime/kube/types.ts';
import { DbcredError } from '../util/errors.ts';

/** A namespaced object named `namespace/name`, or a cluster-scoped one by name. */
interface Named {
  namespace?: string;
  name: string;
}

export interface CredentialSelector {
  credential?: Required<Named>;
  role?: Named & { kind: 'DatabaseRole' | 'ClusterDatabaseRole' };
  server?: Named & { kind: 'DatabaseServer' | 'ClusterDatabaseServer' };
  namespace?: string;
}

/** The command-line options that select credentials, as node:util parseArgs declares them. */
export const SELECTOR_OPTIONS = {
  credential: { type: 'string' },
  role: { type: 'string' },
  'cluster-role': { type: 'string' },
  server: { type: 'string' },
  'cluster-server': { type: 'string' },
  namespace: { type: 'string', short: 'n' },
} as const;

export const SELECTOR_HELP = `selectors (combined with AND):
  --credential NAMESPACE/NAME   one DatabaseCredential
  --role NAMESPACE/NAME         credentials issued from a DatabaseRole
  --cluster-role NAME           credentials issued from a ClusterDatabaseRole
  --server NAMESPACE/NAME       credentials whose users live on a DatabaseServer
  --cluster-server NAME         credentials whose users live on a ClusterDatabaseServer
  -n, --namespace NAMESPACE     credentials in a namespace`;

function namespacedName(flag: string, value: string): Required<Named> {
  const parts = value.split('/');
  if (parts.length !== 2 || !parts[0] || !parts[1])
    throw new DbcredError('CONFIG_INVALID', `--${flag} takes NAMESPACE/NAME, not "${value}"`);
  return { namespace: parts[0], name: parts[1] };
}

function clusterName(flag: string, value: string): Named {
  if (!value || value.includes('/'))
    throw new DbcredError('CONFIG_INVALID', `--${flag} takes the name of a cluster-scoped object, not "${value}"`);
  return { name: value };
}

/** parseSelector turns the selector flags into a CredentialSelector; it throws CONFIG_INVALID on a malformed or conflicting one. */
export function parseSelector(values: Partial<Record<keyof typeof SELECTOR_OPTIONS, string>>): CredentialSelector {
  const selector: CredentialSelector = {};
  if (values.credential !== undefined) selector.credential = namespacedName('credential', values.credential);
  if (values.role !== undefined && values['cluster-role'] !== undefined)
    throw new DbcredError('CONFIG_INVALID', '--role and --cluster-role cannot both be given: a credential has one role');
  if (values.role !== undefined) selector.role = { kind: 'DatabaseRole', ...namespacedName('role', values.role) };
  if (values['cluster-role'] !== undefined)
    selector.role = { kind: 'ClusterDatabaseRole', ...clusterName('cluster-role', values['cluster-role']) };
  if (values.server !== undefined && values['cluster-server'] !== undefined)
    throw new DbcredError('CONFIG_INVALID', '--server and --cluster-server cannot both be given: a credential has one server');
  if (values.server !== undefined) selector.server = { kind: 'DatabaseServer', ...namespacedName('server', values.server) };
  if (values['cluster-server'] !== undefined)
    selector.server = { kind: 'ClusterDatabaseServer', ...clusterName('cluster-server', values['cluster-server']) };
  if (values.namespace !== undefined) selector.namespace = values.namespace;
  return selector;
}

/** isEmpty tells whether the selector would match every credential in the cluster. */
export function isEmpty(selector: CredentialSelector): boolean {
  return !selector.credential && !selector.role && !selector.server && selector.namespace === undefined;
}

/** matches tells whether a credential is selected. A DatabaseRole is in the credential's own namespace; a server is where status records its users live. */
export function matches(selector: CredentialSelector, cred: DatabaseCredential): boolean {
  const ns = cred.metadata.namespace;
  if (selector.namespace !== undefined && ns !== selector.namespace) return false;
  if (selector.credential && (ns !== selector.credential.namespace || cred.metadata.name !== selector.credential.name)) return false;
  const role = selector.role;
  if (role) {
    const ref = (cred.spec as Partial<DatabaseCredential['spec']> | undefined)?.roleRef;
    if (ref?.kind !== role.kind || ref.name !== role.name) return false;
    if (role.kind === 'DatabaseRole' && ns !== role.namespace) return false;
  }
  const server = selector.server;
  if (server) {
    const at = cred.status?.server;
    if (!at || at.kind !== server.kind || at.name !== server.name) return false;
    if (server.kind === 'DatabaseServer' && at.namespace !== server.namespace) return false;
  }
  return true;
}

/** Where to list, and the field selector that narrows the list on the apiserver. */
function listQuery(selector: CredentialSelector): { namespace?: string; fieldSelector?: string } {
  const fields: string[] = [];
  if (selector.role) fields.push(`spec.roleRef.kind=${selector.role.kind}`, `spec.roleRef.name=${selector.role.name}`);
  if (selector.server) fields.push(`status.server.kind=${selector.server.kind}`, `status.server.name=${selector.server.name}`);
  const namespace =
    selector.credential?.namespace ?? selector.namespace ?? (selector.role?.kind === 'DatabaseRole' ? selector.role.namespace : undefined);
  return { ...(namespace === undefined ? {} : { namespace }), ...(fields.length ? { fieldSelector: fields.join(',') } : {}) };
}

/**
 * selectCredentials lists the credentials the selector names, sorted by namespace and name. An
 * object that no longer parses is returned as stored: its status may still name live users.
 */
export async function selectCredentials(client: KubeClient, selector: CredentialSelector): Promise<DatabaseCredential[]> {
  let raw: KubeObject[];
  if (selector.credential) {
    try {
      raw = [await client.get<KubeObject>(DbcredResources.DatabaseCredential, selector.credential.name, selector.credential.namespace)];
    } catch (error) {
      if (isNotFound(error)) return [];
      throw error;
    }
  } else {
    raw = (await client.listAll<KubeObject>(DbcredResources.DatabaseCredential, listQuery(selector))).items;
  }
  const parsed = raw.map((object) => {
    const result = validate(DatabaseCredential, object);
    return result.ok ? result.value : (object as DatabaseCredential);
  });
  return parsed
    .filter((cred) => matches(selector, cred))
    .sort((a, b) => `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`));
}

/** usersOf lists the users a credential's status names: pending, current and retiring, each with its expiry or drop time. */
export function usersOf(cred: DatabaseCredential): { username: string; state: 'current' | 'pending' | 'retiring'; until?: string }[] {
  const st = cred.status ?? {};
  return [
    ...(st.current ? [{ username: st.current.username, state: 'current' as const, until: st.current.expiresAt }] : []),
    ...(st.pending ? [{ username: st.pending.username, state: 'pending' as const, until: st.pending.expiresAt }] : []),
    ...(st.retiring ?? []).map((r) => ({ username: r.username, state: 'retiring' as const, until: r.revokeAt })),
  ];
}
