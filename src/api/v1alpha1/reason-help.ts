// What each reason means to someone reading `kubectl describe`, and what to do about it. Typed as a
// Record over the closed Reason list, so a new reason does not compile without its entry; the
// README's reason table is generated from it (npm run generate:crds), so the two cannot drift.
import type { Reason } from './conditions.ts';

export interface ReasonHelp {
  /** Normal: progress or a healthy fact; Warning: something a person should look at (a Warning Event goes with it). */
  type: 'Normal' | 'Warning';
  /** Where it shows. */
  on: string;
  /** What is true when it shows. */
  meaning: string;
  /** What to do; every Warning has one. */
  fix?: string;
}

const CRED = 'DatabaseCredential';
const ANY = 'any kind';
const SERVERS = 'servers';

export const REASON_HELP: Record<Reason, ReasonHelp> = {
  Ready: { type: 'Normal', on: ANY, meaning: 'The object does its job now.' },
  Connected: { type: 'Normal', on: SERVERS, meaning: 'The admin logged in and has every privilege the operator needs.' },
  Validated: { type: 'Normal', on: 'roles', meaning: 'The role is allowed by its server and its group roles exist.' },
  Issued: { type: 'Normal', on: CRED, meaning: 'A verified user is in the Secret until the time the message gives.' },
  Rotated: { type: 'Normal', on: CRED, meaning: 'A new verified user replaced the previous one in the Secret.' },
  RotationScheduled: { type: 'Normal', on: CRED, meaning: 'Previous users stay valid for the overlap, then are revoked.' },
  Revoked: { type: 'Normal', on: CRED, meaning: 'A user was dropped and its sessions ended.' },
  Expired: {
    type: 'Warning',
    on: CRED,
    meaning: 'The current user reached its expiry without a replacement (rotation off, or issuance failing) and was revoked.',
    fix: 'Turn rotation on, or fix what the other conditions say stops issuance; delete the credential if it is no longer needed.',
  },
  Retained: { type: 'Normal', on: CRED, meaning: 'Deleted with deletionPolicy Retain: the user and Secret were left in place, unmanaged.' },
  PasswordRotated: { type: 'Normal', on: 'DatabaseStaticCredential', meaning: "The existing user's password was changed and published." },
  AdminPasswordRotated: { type: 'Normal', on: SERVERS, meaning: 'The admin password was changed, proven and written back to its Secret.' },
  SecretUpdated: {
    type: 'Normal',
    on: 'credentials',
    meaning: 'The Secret was rendered again (same password) after its spec or the server address changed.',
  },
  InvalidSpec: {
    type: 'Warning',
    on: ANY,
    meaning: 'The spec does not parse or breaks a rule the CRD cannot express; nothing was changed.',
    fix: 'Fix the field the message names.',
  },
  SecretNotFound: {
    type: 'Warning',
    on: SERVERS,
    meaning: 'The admin or CA Secret the server names does not exist (or the operator may not read it).',
    fix: 'Create it in the namespace the message names, or grant the operator read there (chart: operator.adminSecretNamespaces).',
  },
  SecretKeyMissing: {
    type: 'Warning',
    on: SERVERS,
    meaning: 'The admin or CA Secret lacks the key the server names.',
    fix: 'Add the key, or set usernameKey/passwordKey/key to the one it has.',
  },
  ServerNotFound: {
    type: 'Warning',
    on: 'roles, credentials',
    meaning: 'The server the role names does not exist; re-checked when it appears.',
    fix: 'Create the server, or fix serverRef.',
  },
  SecretConflict: {
    type: 'Warning',
    on: 'credentials',
    meaning: 'The Secret name is taken by a Secret this credential does not own; that Secret was left alone.',
    fix: 'Pick another spec.secret.name, or delete the other Secret.',
  },
  ServerNotReady: {
    type: 'Warning',
    on: 'roles, credentials',
    meaning: 'The server is not Ready (its own condition says why).',
    fix: "Fix the server's Ready condition.",
  },
  RoleNotFound: {
    type: 'Warning',
    on: 'credentials',
    meaning: 'The role the credential names does not exist; re-checked when it appears.',
    fix: 'Create the role, or fix roleRef.',
  },
  RoleNotReady: {
    type: 'Warning',
    on: 'credentials',
    meaning:
      'The role is not Ready, or its latest spec has not been checked yet (that clears by itself within moments, and raises no Event: a role applied with its credentials is the usual case).',
    fix: "Fix the role's Ready condition.",
  },
  EngineMismatch: {
    type: 'Warning',
    on: 'roles',
    meaning: 'The role sets options of the other engine (mysql on a PostgreSQL server, postgres on MySQL).',
    fix: "Remove the other engine's block, or point the role at a server of that engine.",
  },
  GroupRoleMissing: {
    type: 'Warning',
    on: 'roles, credentials',
    meaning: 'A memberOf group role does not exist on the server (or the admin cannot grant it).',
    fix: 'Create the group role, and grant it to the admin WITH ADMIN OPTION; the role is re-checked within 60 s, or at once when touched (any annotation).',
  },
  TemplateInvalid: {
    type: 'Warning',
    on: 'roles, credentials',
    meaning: 'A statement or Secret template does not parse; not retried until the object changes (or in 10 min).',
    fix: 'Fix the template the message quotes.',
  },
  RolloutRestartsDisabled: {
    type: 'Warning',
    on: CRED,
    meaning: 'The credential names rolloutRestartTargets but the operator runs with --rollout-restarts=false; they were not restarted.',
    fix: 'Enable rollout restarts (chart: operator.rolloutRestarts.enabled), or make the workload reload the Secret itself.',
  },
  NamespaceNotAllowed: {
    type: 'Warning',
    on: 'credentials, roles',
    meaning: 'The server or role does not allow this namespace (allowedNamespaces).',
    fix: 'Ask the platform team to allow the namespace, or use a role that does.',
  },
  NotAllowedByServer: {
    type: 'Warning',
    on: 'roles, credentials, static credentials',
    meaning: "The server's owner does not allow what the object asks for; the message names the field that decides.",
    fix: 'Ask for less, or ask the platform team to allow it in that server field.',
  },
  PrivilegedAccount: {
    type: 'Warning',
    on: 'roles, static credentials',
    meaning:
      'The group role or static user is privileged, or reaches a privileged role; the message says which privilege and through what.',
    fix: 'Grant what the application needs to a plain group role instead.',
  },
  ForeignUser: {
    type: 'Warning',
    on: CRED,
    meaning: 'Its status had been edited to name a user it did not issue; that user was left alone and dropped from the status.',
    fix: 'Find who may write the status subresource (the chart never grants it to tenants).',
  },
  CertificateVerified: { type: 'Normal', on: SERVERS, meaning: "The server's certificate is checked before the admin login is sent." },
  TLSUnverified: {
    type: 'Warning',
    on: SERVERS,
    meaning: "tls.mode require: encrypted, but the server's certificate is not checked.",
    fix: 'Set tls.mode verify-full and tls.caSecretRef.',
  },
  TLSDisabled: {
    type: 'Warning',
    on: SERVERS,
    meaning: 'tls.mode disable: the admin login and issued passwords cross the network in the clear.',
    fix: 'Set tls.mode verify-full and tls.caSecretRef.',
  },
  ExpiryByDatabase: {
    type: 'Normal',
    on: SERVERS,
    meaning: 'The database refuses issued users after their expiry, even while the operator is down.',
  },
  ExpiryByOperatorOnly: {
    type: 'Warning',
    on: SERVERS,
    meaning: 'MySQL/MariaDB without the event scheduler or spec.database: an expired user works until the operator drops it.',
    fix: 'Set spec.database and event_scheduler=ON.',
  },
  FailedLoginsVisible: {
    type: 'Normal',
    on: SERVERS,
    meaning: 'Logins with users dbcred revoked or let expire are detected from the server log.',
  },
  FailedLoginsNotVisible: {
    type: 'Warning',
    on: SERVERS,
    meaning: 'The operator cannot read the refused logins: reuse of dead credentials goes unseen there.',
    fix: 'PostgreSQL: the jsonlog settings and the three grants the message names; MySQL/MariaDB: alert on the error log instead.',
  },
  DeadCredentialUsed: {
    type: 'Warning',
    on: SERVERS,
    meaning: 'Something at the client address tried a user dbcred revoked or let expire.',
    fix: 'Find the workload at that address; if the credential leaked, its issue and revoke audit records say which it was.',
  },
  QuotaExceeded: {
    type: 'Warning',
    on: CRED,
    meaning: "The role's maxCredentials is reached; issued when a place frees.",
    fix: 'Delete unused credentials of the role, or raise maxCredentials.',
  },
  TTLAboveMax: {
    type: 'Warning',
    on: CRED,
    meaning: "The ttl asked for is above the role's maxTTL; nothing was issued.",
    fix: 'Ask for a shorter ttl, or raise the role maxTTL.',
  },
  Unreachable: {
    type: 'Warning',
    on: 'servers, credentials',
    meaning: 'The database did not answer (network, DNS, down); retried with backoff.',
    fix: 'Check host, port and network policy from the operator pod.',
  },
  AuthenticationFailed: {
    type: 'Warning',
    on: 'servers, credentials',
    meaning: 'The database refused the admin login.',
    fix: 'Put the password the database accepts in the admin Secret (if an admin rotation was interrupted, see AdminRotationFailed).',
  },
  MissingPrivileges: {
    type: 'Warning',
    on: 'servers, roles',
    meaning: 'The admin lacks privileges the operator needs; the message lists each.',
    fix: 'Grant what the message lists (README, Engines: admin needs).',
  },
  TLSFailed: {
    type: 'Warning',
    on: 'servers, credentials',
    meaning: 'The TLS handshake failed (certificate not trusted, wrong host name, or no TLS on the server).',
    fix: 'Check tls.caSecretRef and the host name in the certificate, or the server TLS settings.',
  },
  IssueFailed: {
    type: 'Warning',
    on: CRED,
    meaning: 'Creating the user or publishing its Secret failed; retried with backoff (the message says why).',
    fix: 'Fix what the message says; the credential retries by itself.',
  },
  VerificationFailed: {
    type: 'Warning',
    on: CRED,
    meaning:
      'The new user could not log in before publication (pg_hba/host rules, a connection limit); the user was dropped, nothing published.',
    fix: 'Let the user log in from the operator (pg_hba.conf, mysql userHost), or raise the limit.',
  },
  RevocationFailed: {
    type: 'Warning',
    on: CRED,
    meaning: 'A user that should be gone could not be dropped yet; retried until it is.',
    fix: 'Fix what the message says (the database unreachable, objects the user owns); the operator keeps trying.',
  },
  AdminRotationRefused: {
    type: 'Warning',
    on: SERVERS,
    meaning:
      'Admin rotation changed nothing: the Secret is immutable, the operator may not update it, or the admin may not change its own password.',
    fix: 'Fix that, or remove spec.adminRotation; tried again in 10 min or when the server changes.',
  },
  AdminRotationFailed: {
    type: 'Warning',
    on: SERVERS,
    meaning: 'An admin rotation failed part-way; retried with backoff.',
    fix: "If neither password is accepted, put the one the database accepts under the Secret's password key and delete its dbcred.io-pending-password key.",
  },
};
