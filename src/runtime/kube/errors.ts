import { DbcredError, type ErrorCode } from '../../util/errors.ts';

/** An error answered by (or on the way to) the apiserver, normalised for API calls and watches alike. */
export class KubeError extends DbcredError {
  /** HTTP status, or 0 when the apiserver could not be reached. */
  readonly status: number;
  /** The Status reason (NotFound, AlreadyExists, Conflict, Invalid, Expired, ...). */
  readonly reason: string;

  constructor(status: number, reason: string, message: string, cause?: unknown) {
    super(codeFor(status), message, cause === undefined ? {} : { cause });
    this.name = 'KubeError';
    this.status = status;
    this.reason = reason;
  }
}

function codeFor(status: number): ErrorCode {
  switch (status) {
    case 401:
      return 'KUBE_UNAUTHORIZED';
    case 403:
      return 'KUBE_FORBIDDEN';
    case 404:
      return 'KUBE_NOT_FOUND';
    case 409:
      return 'KUBE_CONFLICT';
    case 410:
      return 'KUBE_GONE';
    case 422:
      return 'KUBE_INVALID';
    case 429:
      return 'KUBE_TOO_MANY_REQUESTS';
    default:
      return status >= 500 || status === 0 ? 'KUBE_UNAVAILABLE' : 'KUBE_INVALID';
  }
}

/** A metav1.Status as the apiserver sends it in error bodies and watch ERROR events. */
export interface ApiStatus {
  kind?: 'Status';
  code?: number;
  reason?: string;
  message?: string;
}

/** fromStatus builds a KubeError from an HTTP status and the apiserver's Status body (if any). */
export function fromStatus(httpStatus: number, body: ApiStatus | undefined, what: string): KubeError {
  const status = body?.code ?? httpStatus;
  return new KubeError(status, body?.reason ?? '', `${what}: ${body?.message ?? `HTTP ${httpStatus}`}`);
}

export const isNotFound = (e: unknown): boolean => e instanceof KubeError && e.status === 404;
export const isConflict = (e: unknown): boolean => e instanceof KubeError && e.status === 409;
export const isAlreadyExists = (e: unknown): boolean => e instanceof KubeError && e.status === 409 && e.reason === 'AlreadyExists';
export const isGone = (e: unknown): boolean => e instanceof KubeError && e.status === 410;
export const isForbidden = (e: unknown): boolean => e instanceof KubeError && e.status === 403;
export const isInvalid = (e: unknown): boolean => e instanceof KubeError && e.status === 422;
