// Annotations that are part of the API: what users set to ask for something, and what the chart's
// admission policy stamps for the operator to read.

/**
 * Who asked, stamped by the chart's MutatingAdmissionPolicy from the apiserver's request.userInfo
 * when a dbcred object is created or its spec (or one of these) changes, over anything the client
 * sent. Trusted by the operator only while that policy is installed (--requester-policy).
 */
export const REQUESTED_BY_ANNOTATION = 'dbcred.io/requested-by';
/** The requester's groups, comma-separated. */
export const REQUESTED_BY_GROUPS_ANNOTATION = 'dbcred.io/requested-by-groups';
/** The requester's UID as the authenticator gave it (a ServiceAccount's uid; empty for some users). */
export const REQUESTED_BY_UID_ANNOTATION = 'dbcred.io/requested-by-uid';

/**
 * Set by `dbcred revoke --confirm` on each credential before deleting it: why, as the operator of
 * the break-glass command wrote it. The chart's policy re-stamps the requester when it changes, so
 * the operator's revocation records name who broke the glass.
 */
export const BREAK_GLASS_ANNOTATION = 'dbcred.io/break-glass';
