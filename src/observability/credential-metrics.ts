// The product's metrics: what was issued and revoked, how fast, and how late. Registered next to
// the runtime's metrics in the same registry (all prefixed dbcred_).
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface CredentialMetrics {
  issued: Counter<'engine' | 'why'>;
  issuanceDuration: Histogram<'engine'>;
  revoked: Counter<'why'>;
  revocationLag: Histogram<'why'>;
  revocationFailures: Counter;
  denials: Counter<'reason'>;
  /** Connections opened to databases: admin (a pool's new one) or login (a user's own, to verify it). */
  databaseConnections: Counter<'engine' | 'purpose'>;
  /** 1 for a server whose certificate the operator does not check (tls mode require or disable). */
  serverTransportUnverified: Gauge<'kind' | 'namespace' | 'name'>;
  /** 1 for a server whose database cannot end issued users' logins at expiry by itself (MySQL/MariaDB without the event scheduler). */
  serverExpiryNotEnforced: Gauge<'kind' | 'namespace' | 'name'>;
  /** 1 for a server whose refused logins the operator cannot read (reuse of dead credentials goes unseen there). */
  serverFailedLoginsUnseen: Gauge<'kind' | 'namespace' | 'name'>;
  /** Logins refused for users dbcred revoked or let expire, by server. */
  deadCredentialLogins: Counter<'kind' | 'namespace' | 'name'>;
  /** 1 while the requester policy is installed (audit records and Events name who asked), else 0. */
  requesterVerified: Gauge;
}

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** A credential's current user, as the expiry gauge shows it. */
export interface CurrentCredential {
  namespace: string;
  name: string;
  expiresAtMs: number;
}

/** createCredentialMetrics registers the product metrics; current is read at each scrape. */
export function createCredentialMetrics(registry: Registry, current: () => CurrentCredential[]): CredentialMetrics {
  new Gauge({
    name: 'dbcred_active_credentials',
    help: 'DatabaseCredentials with a current user.',
    registers: [registry],
    collect() {
      this.set(current().length);
    },
  });
  // One series per credential with a current user, so an alert can fire on time() > expiry - margin
  // for a credential that is not being renewed.
  new Gauge({
    name: 'dbcred_credential_expiry_timestamp_seconds',
    help: "When each DatabaseCredential's current user expires (Unix seconds).",
    labelNames: ['namespace', 'name'],
    registers: [registry],
    collect() {
      this.reset();
      for (const c of current()) this.set({ namespace: c.namespace, name: c.name }, c.expiresAtMs / 1000);
    },
  });
  return {
    issued: new Counter({
      name: 'dbcred_credentials_issued_total',
      help: 'Users issued, by engine and why (issue, rotate, repair).',
      labelNames: ['engine', 'why'],
      registers: [registry],
    }),
    issuanceDuration: new Histogram({
      name: 'dbcred_issuance_duration_seconds',
      help: 'Intent recorded → user created, verified and published.',
      labelNames: ['engine'],
      buckets: SECONDS,
      registers: [registry],
    }),
    revoked: new Counter({
      name: 'dbcred_credentials_revoked_total',
      help: 'Users revoked, by why (retired, expired, deleted, abandoned, orphan).',
      labelNames: ['why'],
      registers: [registry],
    }),
    revocationLag: new Histogram({
      name: 'dbcred_revocation_lag_seconds',
      help: 'How late a user was revoked after it was due (overlap end or expiry).',
      labelNames: ['why'],
      buckets: SECONDS,
      registers: [registry],
    }),
    revocationFailures: new Counter({
      name: 'dbcred_revocation_failures_total',
      help: 'Revocation attempts that failed (retried until they succeed).',
      registers: [registry],
    }),
    denials: new Counter({
      name: 'dbcred_denials_total',
      help: 'Requests refused, by reason (TTLAboveMax, QuotaExceeded, NamespaceNotAllowed, NotAllowedByServer, PrivilegedAccount, ForeignUser).',
      labelNames: ['reason'],
      registers: [registry],
    }),
    databaseConnections: new Counter({
      name: 'dbcred_database_connections_opened_total',
      help: "Connections opened to databases, by engine and purpose: admin (a new one in a server's admin pool) or login (an issued or static user's own, to verify it).",
      labelNames: ['engine', 'purpose'],
      registers: [registry],
    }),
    serverTransportUnverified: new Gauge({
      name: 'dbcred_server_transport_unverified',
      help: '1 for a server whose certificate is not checked (tls mode require or disable): the admin login can be read by a man in the middle.',
      labelNames: ['kind', 'namespace', 'name'],
      registers: [registry],
    }),
    serverExpiryNotEnforced: new Gauge({
      name: 'dbcred_server_expiry_not_enforced',
      help: "1 for a server whose database cannot end issued users' logins at expiry by itself: expiry holds only while the operator runs.",
      labelNames: ['kind', 'namespace', 'name'],
      registers: [registry],
    }),
    serverFailedLoginsUnseen: new Gauge({
      name: 'dbcred_server_failed_logins_unseen',
      help: "1 for a server whose refused logins the operator cannot read: a login attempt with a revoked or expired credential is not detected there (the server's FailedLoginsVisible condition says what to change).",
      labelNames: ['kind', 'namespace', 'name'],
      registers: [registry],
    }),
    deadCredentialLogins: new Counter({
      name: 'dbcred_dead_credential_logins_total',
      help: 'Logins the database refused for users dbcred had revoked or let expire: a leaked or stale credential still in use. The audit record has the client address.',
      labelNames: ['kind', 'namespace', 'name'],
      registers: [registry],
    }),
    requesterVerified: new Gauge({
      name: 'dbcred_requester_verified',
      help: '1 while the requester admission policy (--requester-policy) is installed, so audit records and Events name who asked; 0: they do not, since a tenant could write the annotations itself.',
      registers: [registry],
    }),
  };
}
