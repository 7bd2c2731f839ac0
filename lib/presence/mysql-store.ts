/**
 * The MariaDB/MySQL presentity store (`mysql://user[:pass]@host[:port]/db`) on `mysql2`: one
 * connection, one transaction per batch folded into one DELETE per key depth and one multi-row
 * INSERT (values escaped by the driver). `pua_lock_type` 1/2 take the
 * `LOCK TABLES … WRITE` Kamailio's db_mysql takes, once per batch.
 */
import type * as MySql from 'mysql2/promise';
import { foldBatch, foldCollation, type FoldedBatch } from './batch';
import type { DbTarget } from './db-url';
import { holdSocket, loadDriver } from './driver';
import { createTableStatements, PRESENTITY_TABLE_VERSION, quoteTable, REQUIRED_COLUMNS, versionStatements } from './schema';
import { StoreFailure, type StoreBackend } from './store';
import { KEY_COLUMNS, type PresentityWrite } from './types';

type MyTarget = Extract<DbTarget, { backend: 'postgres' | 'mysql' }>;

function failure(error: unknown, forceFatal: boolean): StoreFailure {
  const e = error as { code?: unknown; fatal?: unknown };
  const text = error instanceof Error ? error.message : String(error);
  return new StoreFailure(text, typeof e.code === 'string' ? e.code : undefined, forceFatal || e.fatal === true);
}

/** MariaDB/MySQL backend of {@link PresentityWriter}. */
export class MysqlStore implements StoreBackend {
  private conn: MySql.Connection | undefined;
  private readonly t: string;
  private readonly locked: boolean;

  /**
   * @param target parsed `db_url`.
   * @param table checked `presentity_table`.
   * @param lockType `pua_lock_type`: 0 none (a READ COMMITTED transaction), 1 and 2 `LOCK TABLES … WRITE`.
   */
  constructor(
    private readonly target: MyTarget,
    private readonly table: string,
    lockType: 0 | 1 | 2,
  ) {
    this.t = quoteTable('mysql', table);
    this.locked = lockType !== 0;
  }

  async runBatch(writes: readonly PresentityWrite[]): Promise<void> {
    const conn = await this.connection();
    holdSocket(conn, true);
    try {
      await conn.query(this.locked ? `LOCK TABLES ${this.t} WRITE` : 'START TRANSACTION');
      // Folding must not depend on the table's collation (often case-insensitive here).
      const folded = foldBatch(writes, foldCollation);
      const steps = folded === null ? writes.map((w) => foldBatch([w]) as FoldedBatch) : [folded];
      for (const step of steps) {
        for (const [depth, keys] of step.deletes) {
          await conn.query(`DELETE FROM ${this.t} WHERE (${KEY_COLUMNS.slice(0, depth).join(', ')}) IN (?)`, [keys]);
        }
        const rows = step.inserts.map((r) => [r.event, r.domain, r.username, r.etag, r.sender, Buffer.from(r.body, 'utf8'), r.received_time, r.expires, r.priority]);
        await conn.query(`INSERT INTO ${this.t} (event, domain, username, etag, sender, body, received_time, expires, priority) VALUES ?`, [rows]);
      }
      await conn.query('COMMIT');
      if (this.locked) await conn.query('UNLOCK TABLES');
    } catch (error) {
      // The 'error' handler below has already let go of a connection whose socket failed.
      const f = failure(error, this.conn !== conn);
      if (f.fatal) {
        await this.discard(conn);
      } else {
        try {
          await conn.query('ROLLBACK');
          if (this.locked) await conn.query('UNLOCK TABLES');
        } catch {
          await this.discard(conn);
        }
      }
      throw f;
    } finally {
      holdSocket(conn, false);
    }
  }

  async close(): Promise<void> {
    await this.drop();
  }

  private async drop(): Promise<void> {
    if (this.conn) await this.discard(this.conn);
  }

  /** Ends `conn`, which may already have been let go by its 'error' handler. */
  private async discard(conn: MySql.Connection): Promise<void> {
    if (this.conn === conn) this.conn = undefined;
    await conn.end().catch(() => conn.destroy());
  }

  private async connection(): Promise<MySql.Connection> {
    if (this.conn) return this.conn;
    const mysql = loadDriver<typeof MySql>('mysql2/promise', 'mysql2');
    let conn: MySql.Connection;
    try {
      conn = await mysql.createConnection({
        host: this.target.host,
        port: this.target.port,
        user: this.target.user,
        password: this.target.password,
        database: this.target.database,
        connectTimeout: 5000,
        charset: 'utf8mb4',
      });
    } catch (error) {
      throw failure(error, true);
    }
    // A dropped connection is reported here too; the next batch reconnects.
    conn.on('error', () => {
      if (this.conn === conn) this.conn = undefined;
    });
    try {
      // Without gap locks, two writers deleting absent keys cannot deadlock each other.
      await conn.query('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED');
      // LOCK TABLES commits an open transaction: with autocommit off, the batch is one transaction.
      if (this.locked) await conn.query('SET autocommit = 0');
      await this.ensureTable(conn);
    } catch (error) {
      conn.destroy();
      if (error instanceof StoreFailure) throw error;
      throw failure(error, true);
    }
    this.conn = conn;
    return conn;
  }

  /** Creates the table when missing (never alters one), then checks its columns. */
  private async ensureTable(conn: MySql.Connection): Promise<void> {
    const [schema, name] = this.table.includes('.') ? this.table.split('.') : [null, this.table];
    const where = 'TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ?';
    const [tables] = await conn.query(`SELECT 1 FROM information_schema.TABLES WHERE ${where}`, [schema, name]);
    if ((tables as unknown[]).length === 0) {
      for (const sql of createTableStatements('mysql', this.table)) await conn.query(sql);
      const version = versionStatements('mysql', this.table);
      if (version !== null) {
        await conn.query(version.create);
        await conn.query(
          `INSERT INTO ${version.table} (table_name, table_version) SELECT ?, ? FROM DUAL WHERE NOT EXISTS (SELECT 1 FROM ${version.table} WHERE table_name = ?)`,
          [version.name, PRESENTITY_TABLE_VERSION, version.name],
        );
      }
      if (this.locked) await conn.query('COMMIT');
    }
    const [columns] = await conn.query(`SELECT COLUMN_NAME AS name FROM information_schema.COLUMNS WHERE ${where}`, [schema, name]);
    const have = new Set((columns as Array<{ name: string }>).map((c) => c.name.toLowerCase()));
    const missing = REQUIRED_COLUMNS.filter((c) => !have.has(c));
    if (missing.length > 0) {
      throw new StoreFailure(`table ${this.table} lacks the presentity column(s) ${missing.join(', ')}`, 'MISSING_COLUMN', true);
    }
  }
}
