/**
 * Direct access to the presentity databases of the integration tests (real PostgreSQL, MariaDB,
 * and SQLite files under os.tmpdir()), independent of kazoo-amqp's stores.
 */
import Database from 'better-sqlite3';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import * as mysql from 'mysql2/promise';
import { Client } from 'pg';
import type { PresentityRow } from '../../lib/presence/types';

export const PG_URL = process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const MYSQL_URL = process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';

/** A stored row with the body as text, as tests compare them: the library's row shape. */
export type StoredRow = PresentityRow;

/** One backend under test. */
export interface TestDb {
  name: 'sqlite' | 'postgres' | 'mysql';
  url: string;
  /** Every row of `table`, sorted by (event, domain, username, etag). */
  rows(table: string): Promise<StoredRow[]>;
  exec(sql: string, params?: unknown[]): Promise<unknown[]>;
  close(): Promise<void>;
}

/** A unique table name (letters, digits, `_`). */
export function uniqueTable(what: string): string {
  return `kz_pres_${what}_${randomUUID().slice(0, 8)}`;
}

const COLUMNS = 'event, domain, username, etag, sender, body, received_time, expires, priority';
const ORDER = 'ORDER BY event, domain, username, etag';

function normalize(raw: Record<string, unknown>): StoredRow {
  const body = raw.body;
  return {
    event: String(raw.event),
    domain: String(raw.domain),
    username: String(raw.username),
    etag: String(raw.etag),
    sender: String(raw.sender),
    body: Buffer.isBuffer(body) ? body.toString('utf8') : String(body),
    received_time: Number(raw.received_time),
    expires: Number(raw.expires),
    priority: Number(raw.priority),
  };
}

/**
 * better-sqlite3 builds its errors with the SqliteError class of the first test file that loaded
 * it in this Jest process (the native module is shared, its error class is set once), so under
 * --runInBand they can come from another file's realm: `instanceof Error` is false there and
 * `rejects.toThrow()` reports "did not throw". The helper rethrows them as this realm's Error.
 */
function sameRealm(error: unknown): Error {
  if (error instanceof Error) return error;
  const { message, code } = error as { message?: unknown; code?: unknown };
  return Object.assign(new Error(String(message ?? error)), { code });
}

export function sqliteDb(): TestDb {
  const dir = mkdtempSync(join(tmpdir(), 'kz-presence-'));
  const file = join(dir, 'presence.db');
  const db = new Database(file);
  return {
    name: 'sqlite',
    url: `sqlite://${file}`,
    async rows(table) {
      try {
        return (db.prepare(`SELECT ${COLUMNS} FROM "${table}" ${ORDER}`).all() as Record<string, unknown>[]).map(normalize);
      } catch (error) {
        throw sameRealm(error);
      }
    },
    async exec(sql, params = []) {
      try {
        const stmt = db.prepare(sql);
        return stmt.reader ? (stmt.all(...params) as unknown[]) : (stmt.run(...params), []);
      } catch (error) {
        throw sameRealm(error);
      }
    },
    async close() {
      db.close();
    },
  };
}

export async function postgresDb(): Promise<TestDb> {
  const client = new Client({ connectionString: PG_URL });
  await client.connect();
  return {
    name: 'postgres',
    url: PG_URL,
    async rows(table) {
      return (await client.query(`SELECT ${COLUMNS} FROM "${table}" ${ORDER}`)).rows.map(normalize);
    },
    async exec(sql, params = []) {
      return (await client.query(sql, params)).rows;
    },
    async close() {
      await client.end();
    },
  };
}

export async function mysqlDb(): Promise<TestDb> {
  const conn = await mysql.createConnection({ uri: MYSQL_URL, charset: 'utf8mb4' });
  return {
    name: 'mysql',
    url: MYSQL_URL,
    async rows(table) {
      const [rows] = await conn.query(`SELECT ${COLUMNS} FROM \`${table}\` ${ORDER}`);
      return (rows as Record<string, unknown>[]).map(normalize);
    },
    async exec(sql, params = []) {
      const [rows] = await conn.query(sql, params);
      return Array.isArray(rows) ? rows : [];
    },
    async close() {
      await conn.end();
    },
  };
}

/** Opens the backend named `name`. */
export function openTestDb(name: TestDb['name']): Promise<TestDb> {
  return name === 'sqlite' ? Promise.resolve(sqliteDb()) : name === 'postgres' ? postgresDb() : mysqlDb();
}
