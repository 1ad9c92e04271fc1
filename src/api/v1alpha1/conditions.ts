// The closed vocabulary of status conditions and Event reasons. Every condition the operator
// writes and every Event it emits uses a type and a reason from this file, so users (and alerts)
// can rely on the set being finite and documented in the README.

/** Condition types, by the kinds that carry them. */
export const ConditionType = {
  /** Every kind: the object does its job now. */
  Ready: 'Ready',
  /** DatabaseCredential: a verified user is published in the Secret. */
  Issued: 'Issued',
  /** DatabaseCredential: a replacement user is being issued or the old one is in its overlap window. */
  Rotating: 'Rotating',
  /** DatabaseCredential: a user that should be gone still exists; retried until it is. */
  RevocationFailing: 'RevocationFailing',
  /**
   * DatabaseCredential: issuing failed with an error no retry can fix; nothing is tried again until
   * the credential, its role or its server changes (or the 10-minute recheck). Since: its lastTransitionTime.
   */
  Stalled: 'Stalled',
  /** Servers: the operator checks the server's certificate (tls mode verify-ca or verify-full). */
  TransportVerified: 'TransportVerified',
  /** Servers: the database itself ends an issued user's logins at expiry, even while the operator is down. */
  ExpiryEnforced: 'ExpiryEnforced',
  /** Servers: the operator can read the database's refused logins, so reuse of a dead credential is detected. */
  FailedLoginsVisible: 'FailedLoginsVisible',
  /** Servers with admin rotation: the last rotation of the admin password finished (False: it failed or was refused). */
  AdminPasswordRotated: 'AdminPasswordRotated',
} as const;
export type ConditionType = (typeof ConditionType)[keyof typeof ConditionType];

/** Reasons for conditions and Events. One list for all kinds; the README documents each. */
export const Reason = {
  // success and progress
  Ready: 'Ready',
  Connected: 'Connected',
  Validated: 'Validated',
  Issued: 'Issued',
  Rotated: 'Rotated',
  RotationScheduled: 'RotationScheduled',
  Revoked: 'Revoked',
  Expired: 'Expired',
  Retained: 'Retained',
  PasswordRotated: 'PasswordRotated',
  AdminPasswordRotated: 'AdminPasswordRotated',
  SecretUpdated: 'SecretUpdated',
  // bad input (changes nothing)
  InvalidSpec: 'InvalidSpec',
  SecretNotFound: 'SecretNotFound',
  SecretKeyMissing: 'SecretKeyMissing',
  ServerNotFound: 'ServerNotFound',
  SecretConflict: 'SecretConflict',
  ServerNotReady: 'ServerNotReady',
  RoleNotFound: 'RoleNotFound',
  RoleNotReady: 'RoleNotReady',
  EngineMismatch: 'EngineMismatch',
  GroupRoleMissing: 'GroupRoleMissing',
  TemplateInvalid: 'TemplateInvalid',
  // the operator's configuration
  RolloutRestartsDisabled: 'RolloutRestartsDisabled',
  // tenancy and limits (denials)
  NamespaceNotAllowed: 'NamespaceNotAllowed',
  NotAllowedByServer: 'NotAllowedByServer',
  PrivilegedAccount: 'PrivilegedAccount',
  ForeignUser: 'ForeignUser',
  CertificateVerified: 'CertificateVerified',
  TLSUnverified: 'TLSUnverified',
  TLSDisabled: 'TLSDisabled',
  ExpiryByDatabase: 'ExpiryByDatabase',
  ExpiryByOperatorOnly: 'ExpiryByOperatorOnly',
  FailedLoginsVisible: 'FailedLoginsVisible',
  FailedLoginsNotVisible: 'FailedLoginsNotVisible',
  DeadCredentialUsed: 'DeadCredentialUsed',
  QuotaExceeded: 'QuotaExceeded',
  TTLAboveMax: 'TTLAboveMax',
  // the database side
  Unreachable: 'Unreachable',
  AuthenticationFailed: 'AuthenticationFailed',
  MissingPrivileges: 'MissingPrivileges',
  TLSFailed: 'TLSFailed',
  IssueFailed: 'IssueFailed',
  VerificationFailed: 'VerificationFailed',
  RevocationFailed: 'RevocationFailed',
  AdminRotationRefused: 'AdminRotationRefused',
  AdminRotationFailed: 'AdminRotationFailed',
} as const;
export type Reason = (typeof Reason)[keyof typeof Reason];

/** The condition shape of every dbcred status (metav1.Condition). */
export interface Condition {
  type: ConditionType;
  status: 'True' | 'False' | 'Unknown';
  reason: Reason;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}
