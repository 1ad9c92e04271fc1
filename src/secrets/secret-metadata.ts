// The labels and annotations dbcred puts on every Secret it writes: how the operator finds its own
// Secrets (the owned-Secret informer selects on the managed-by label) and notices edits by hand.

/** Labels on every Secret the operator writes (the owned-Secret informer selects on the first). */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'dbcred';
export const CREDENTIAL_LABEL = 'dbcred.io/credential';
/**
 * On each Secret a server logs in with (admin login, CA), set by the server's check: the operator
 * watches Secrets with this label, so a changed or deleted admin Secret reaches its server within
 * seconds, and no other Secret of the namespace is read.
 */
export const SERVER_SECRET_LABEL = 'dbcred.io/server-secret';
/**
 * On the Secret a credential deleted with deletionPolicy Retain leaves behind: its user is spared by
 * the orphan sweep for as long as this Secret exists (and the database still ends it at its expiry).
 */
export const RETAINED_LABEL = 'dbcred.io/retained';
/**
 * `<credential uid>/<serial>` of the retained user: the sweep spares the Secret's user only when its
 * name derives from these (usernameFor), so a Secret labelled by hand cannot shelter another user.
 */
export const RETAINED_FROM_ANNOTATION = 'dbcred.io/retained-from';
/** Annotation with the hash of the data the operator wrote, to detect edits by hand. */
export const DATA_HASH_ANNOTATION = 'dbcred.io/data-hash';
/** A hash of what a credential's Secret was rendered from, the password aside (spec and server). */
export const LAYOUT_HASH_ANNOTATION = 'dbcred.io/layout-hash';

/**
 * Admin rotation: the admin Secret key holding the password being rotated to, written before the
 * database changes (so a crash never leaves a password nobody knows), removed once the Secret's
 * password key holds it.
 */
export const PENDING_ADMIN_PASSWORD_KEY = 'dbcred.io-pending-password';
/** When the operator last wrote a rotated admin password into the admin Secret (RFC 3339). */
export const ADMIN_ROTATED_AT_ANNOTATION = 'dbcred.io/admin-password-rotated-at';
