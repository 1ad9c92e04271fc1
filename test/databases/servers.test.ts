import { describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import pg from 'pg';
import mysql from 'mysql2/promise';
import { requireDatabase } from '../../harness/environment.ts';
import { startMariaDB } from '../../harness/mariadb.ts';
import { startPostgres } from '../../harness/postgres.ts';
import { isAlive } from '../../harness/processes.ts';

describe('the PostgreSQL test server', () => {
  it('accepts the admin login over TCP with SCRAM and gives it CREATEROLE, not SUPERUSER', async () => {
    const db = requireDatabase('postgres');
    const client = new pg.Client({ host: db.host, port: db.port, database: db.database, user: db.admin.user, password: db.admin.password });
    await client.connect();
    try {
      const { rows } = await client.query<{ user: string; createrole: boolean; superuser: boolean }>(
        'SELECT current_user AS user, rolcreaterole AS createrole, rolsuper AS superuser FROM pg_roles WHERE rolname = current_user',
      );
      expect(rows[0]).toMatchObject({ user: db.admin.user, createrole: true, superuser: false });
    } finally {
      await client.end();
    }
  });

  it('refuses a wrong password', async () => {
    const db = requireDatabase('postgres');
    const client = new pg.Client({ host: db.host, port: db.port, database: db.database, user: db.admin.user, password: 'wrong' });
    await expect(client.connect()).rejects.toThrow(`password authentication failed for user "${db.admin.user}"`);
  });

  it('is stopped and its folder removed by stop()', async () => {
    const extra = await startPostgres();
    expect(isAlive(extra.info.pid)).toBe(true);
    await extra.stop();
    expect(isAlive(extra.info.pid)).toBe(false);
    expect(existsSync(extra.info.dataDir)).toBe(false);
  });
});

describe('the MariaDB test server', () => {
  it('accepts the admin login over TCP and has no anonymous accounts', async () => {
    const db = requireDatabase('mariadb');
    const conn = await mysql.createConnection({
      host: db.host,
      port: db.port,
      database: db.database,
      user: db.admin.user,
      password: db.admin.password,
    });
    try {
      const [who] = await conn.query<mysql.RowDataPacket[]>('SELECT CURRENT_USER() AS u');
      expect(who[0]?.['u']).toBe(`${db.admin.user}@%`);
      const [anonymous] = await conn.query<mysql.RowDataPacket[]>("SELECT COUNT(*) AS n FROM mysql.global_priv WHERE User = ''");
      expect(Number(anonymous[0]?.['n'])).toBe(0);
      const [scheduler] = await conn.query<mysql.RowDataPacket[]>('SELECT @@event_scheduler AS s');
      expect(scheduler[0]?.['s']).toBe('ON');
    } finally {
      await conn.end();
    }
  });

  it('refuses a wrong password', async () => {
    const db = requireDatabase('mariadb');
    await expect(mysql.createConnection({ host: db.host, port: db.port, user: db.admin.user, password: 'wrong' })).rejects.toThrow(
      `Access denied for user '${db.admin.user}'`,
    );
  });

  it('is stopped and its folder removed by stop()', async () => {
    const extra = await startMariaDB();
    expect(isAlive(extra.info.pid)).toBe(true);
    await extra.stop();
    expect(isAlive(extra.info.pid)).toBe(false);
    expect(existsSync(extra.info.dataDir)).toBe(false);
  });
});
