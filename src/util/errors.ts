// The one catalog of error codes. Every error the operator raises on purpose is a DbcredError
// with a code from this list, so logs, conditions and metrics can be matched on codes and
// docs/errors.md (generated) documents each one. Messages never contain a password: build them from identifiers,
// not from values a user or a database handed us.

/** Each code with whether a retry may help and what it means (the README's error table). */
export const ERROR_CATALOG = {
  // configuration
  CONFIG_INVALID: { retryable: false, summary: 'An operator setting (flag or environment variable) is invalid.' },

  // the Kubernetes API (src/runtime/kube)
  KUBE_NOT_FOUND: { retryable: false, summary: 'The object does not exist.' },
  KUBE_CONFLICT: { retryable: true, summary: 'The object changed since it was read (resourceVersion mismatch) or already exists.' },
  KUBE_GONE: { retryable: true, summary: 'The watch resourceVersion is too old (410); relist.' },
  KUBE_FORBIDDEN: { retryable: false, summary: 'RBAC does not allow the operator to do this.' },
  KUBE_UNAUTHORIZED: { retryable: true, summary: "The operator's credentials were refused (expired token?)." },
  KUBE_INVALID: { retryable: false, summary: 'The apiserver refused the request as invalid (422, or another 4xx not listed here).' },
  KUBE_TOO_MANY_REQUESTS: { retryable: true, summary: 'The apiserver throttled the request (429).' },
  KUBE_UNAVAILABLE: { retryable: true, summary: 'The apiserver could not be reached or failed (network error, 5xx, timeout).' },

  // the databases (src/engines)
  DB_UNREACHABLE: { retryable: true, summary: 'The database server could not be reached (connection refused, DNS, timeout).' },
  DB_TLS_FAILED: { retryable: false, summary: 'The TLS handshake failed (certificate, CA or host name mismatch, or TLS not offered).' },
  DB_AUTH_FAILED: { retryable: false, summary: 'The database refused the login.' },
  DB_MISSING_PRIVILEGES: { retryable: false, summary: 'The admin user lacks a privilege the operation needs.' },
  DB_GROUP_ROLE_MISSING: { retryable: false, summary: 'A group role named in memberOf does not exist on the server.' },
  DB_TEMPLATE_INVALID: { retryable: false, summary: 'A creation or revocation statement template is invalid.' },
  DB_VERIFY_FAILED: { retryable: true, summary: 'A newly created user could not log in and run the probe query.' },
  DB_QUERY_FAILED: { retryable: true, summary: 'A statement failed for another reason (the database error code is in the message).' },
  DB_UNSUPPORTED: { retryable: false, summary: 'The server version or configuration does not support the operation.' },
  DB_INVALID_NAME: { retryable: false, summary: 'A user or role name is outside the alphabet or length the engine accepts.' },
  DB_USER_MISSING: { retryable: false, summary: 'The user to rotate does not exist (it expired or was dropped).' },
  DB_USER_CONFLICT: { retryable: false, summary: 'A user with the generated name exists but does not carry the dbcred marker.' },

  // references, tenancy and limits (the controllers)
  REFERENCE_MISSING: {
    retryable: true,
    summary: 'A referenced object, Secret or Secret key does not exist (yet); the object waits for it.',
  },
  REFERENCE_INVALID: {
    retryable: false,
    summary: 'A referenced object exists but cannot be used (wrong engine, not ready, invalid spec).',
  },
  ACCESS_DENIED: { retryable: false, summary: 'Tenancy: the namespace may not use this role or server.' },
  LIMIT_EXCEEDED: {
    retryable: false,
    summary: "A limit refused the request: ttl above the role's maxTTL, or the role's quota of live users.",
  },

  // reconciliation
  NOT_LEADER: {
    retryable: true,
    summary: 'A side effect was refused because this replica no longer holds the leader lease (another replica carries on).',
  },
} as const satisfies Record<string, { retryable: boolean; summary: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOG;

/** A deliberate error: a catalog code, whether retrying may help, and a message free of secrets. */
export class DbcredError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options: { retryable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DbcredError';
    this.code = code;
    this.retryable = options.retryable ?? ERROR_CATALOG[code].retryable;
  }
}

/** isDbcredError narrows an unknown error, optionally to one code. */
export function isDbcredError(error: unknown, code?: ErrorCode): error is DbcredError {
  return error instanceof DbcredError && (code === undefined || error.code === code);
}
