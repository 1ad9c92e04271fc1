// MariaDB accepts a pre-hashed mysql_native_password (IDENTIFIED BY PASSWORD '*<hex>'), so the
// plaintext never travels in a statement or reaches the general or slow log.
import { createHash } from 'node:crypto';

/**
 * mysqlPasswordHash returns the mysql_native_password hash of password: '*' followed by the
 * upper-case hex of SHA1(SHA1(password)), 41 characters from [*0-9A-F] (what PASSWORD() returns).
 */
export function mysqlPasswordHash(password: string): string {
  const once = createHash('sha1').update(password, 'utf8').digest();
  return `*${createHash('sha1').update(once).digest('hex').toUpperCase()}`;
}
