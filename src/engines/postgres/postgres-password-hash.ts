// The password reaches PostgreSQL only as a SCRAM-SHA-256 verifier computed here (RFC 5802/7677,
// the format of pg_authid.rolpassword), so the plaintext is never in a statement, a server log or
// pg_stat_statements, even with log_statement=all.
import { createHash, createHmac, pbkdf2, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const pbkdf2Async = promisify(pbkdf2);

/** PostgreSQL's own default (scram_iterations): what libpq and psql's \password use. */
export const DEFAULT_SCRAM_ITERATIONS = 4096;

/**
 * postgresPasswordHash returns the SCRAM-SHA-256 verifier of password
 * ("SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>", base64 parts) with a fresh 16-byte
 * salt. The password is used as its UTF-8 bytes without SASLprep, which is the identity for the
 * ASCII passwords generatePassword makes. The result only contains [A-Za-z0-9+/=$:-].
 */
export async function postgresPasswordHash(
  password: string,
  iterations = DEFAULT_SCRAM_ITERATIONS,
  salt = randomBytes(16),
): Promise<string> {
  if (!Number.isInteger(iterations) || iterations < 1)
    throw new RangeError(`SCRAM iterations must be a positive integer, got ${iterations}`);
  // Asynchronous: the libuv thread pool does the PBKDF2 work, not the event loop.
  const salted = await pbkdf2Async(Buffer.from(password, 'utf8'), salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}
