import type { Reason } from '../api/v1alpha1/conditions.ts';
import { KubeError } from '../runtime/kube/errors.ts';
import { DbcredError, type ErrorCode } from '../util/errors.ts';

/** An error that becomes a condition: a catalog code plus the condition/Event reason users see. */
export class ConditionError extends DbcredError {
  readonly reason: Reason;
  /**
   * A wait that ends by itself within moments (a role created with its credentials, not checked
   * yet): shown in the condition, but raising no Warning Event, which would alarm on every apply.
   */
  readonly passing: boolean;

  constructor(code: ErrorCode, reason: Reason, message: string, options: { cause?: unknown; passing?: boolean } = {}) {
    super(code, message, options.cause === undefined ? {} : { cause: options.cause });
    this.name = 'ConditionError';
    this.reason = reason;
    this.passing = options.passing ?? false;
  }
}

/**
 * isApiServerHiccup: a Kubernetes API call failed in a way a retry may fix (unreachable, 5xx, 429,
 * an expired token). That says nothing about the object, so it is retried with the controller's
 * backoff instead of being shown as a condition and parked until a recheck.
 */
export function isApiServerHiccup(error: unknown): boolean {
  return error instanceof KubeError && error.retryable;
}

/** reasonFor maps any error to the reason a condition shows. */
export function reasonFor(error: unknown, fallback: Reason): Reason {
  if (error instanceof ConditionError) return error.reason;
  if (error instanceof DbcredError) {
    switch (error.code) {
      case 'DB_UNREACHABLE':
        return 'Unreachable';
      case 'DB_AUTH_FAILED':
        return 'AuthenticationFailed';
      case 'DB_TLS_FAILED':
        return 'TLSFailed';
      case 'DB_MISSING_PRIVILEGES':
        return 'MissingPrivileges';
      case 'DB_GROUP_ROLE_MISSING':
        return 'GroupRoleMissing';
      case 'DB_TEMPLATE_INVALID':
        return 'TemplateInvalid';
      case 'DB_VERIFY_FAILED':
        return 'VerificationFailed';
      default:
        return fallback;
    }
  }
  return fallback;
}

/** messageOf returns an error's message for a condition (DbcredError messages never hold secrets). */
export function messageOf(error: unknown): string {
  if (error instanceof DbcredError) return error.message;
  return 'internal error (see the operator log)';
}
