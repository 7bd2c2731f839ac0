/**
 * The SQLite presentity store (`sqlite:///path.db`, `kazoo:///path.db`) on better-sqlite3: one
 * connection in WAL mode, one transaction per batch. `pua_lock_type` picks the BEGIN flavour.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { loadDriver } from './driver';
import { createTableStatements, PRESENTITY_TABLE_VERSION, quoteTable, REQUIRED_COLUMNS, versionStatements } from './schema';
import { StoreFailure, type StoreBackend } from './store';
import { KEY_COLUMNS, type PresentityWrite } from './types';

type Database = BetterSqlite3.Database;
type Statement = BetterSqlite3.Statement;

/** SQLite codes after which the connection is reopened rather than retried write by write. */
const FATAL = /^SQLITE_(CANTOPEN|NOTADB|CORRUPT|IOERR|READONLY|FULL|PERM|AUTH)/;

function failure(error: unknown): StoreFailure {
  const code = (error as { code?: unknown }).code;
  const text = error instanceof Error ? error.message : String(error);
  return new StoreFailure(text, typeof code === 'string' ? code : undefined, typeof code === 'string' && FATAL.test(code));
}

/** SQLite backend of {@link PresentityWriter}. */
export class SqliteStore implements StoreBackend {
  private db: Database | undefined;
  private deletes: Statement[] = [];
  private insert: Statement | undefined;
  private run: ((writes: readonly PresentityWrite[]) => void) | undefined;

  /**
   * @param path absolute path of the database file (created when missing).
   * @param table checked `presentity_table`.
   * @param lockType `pua_lock_type`: 0 BEGIN (deferred), 1 BEGIN IMMEDIATE, 2 BEGIN EXCLUSIVE.
   */
  constructor(
    private readonly path: string,
    private readonly table: string,
    private readonly lockType: 0 | 1 | 2,
  ) {}

  async runBatch(writes: readonly PresentityWrite[]): Promise<void> {
    try {
      if (this.run === undefined) this.open();
      (this.run as (w: readonly PresentityWrite[]) => void)(writes);
    } catch (error) {
      if (error instanceof StoreFailure) throw error;
      const f = failure(error);
      if (f.fatal) this.drop();
      throw f;
    }
  }

  async close(): Promise<void> {
    this.drop();
  }

  private drop(): void {
    const db = this.db;
    this.db = undefined;
    this.run = undefined;
    this.insert = undefined;
    this.deletes = [];
    try {
      db?.close();
    } catch {
      // already unusable; nothing more to release
    }
  }

  private open(): void {
    const Driver = loadDriver<typeof BetterSqlite3>('better-sqlite3', 'better-sqlite3');
    let db: Database;
    try {
      // The embedded store is the default backend: a db_url in a folder that does not exist yet
      // (a fresh data directory) is created, as the file itself is.
      if (this.path !== ':memory:') mkdirSync(dirname(this.path), { recursive: true });
      db = new Driver(this.path, { timeout: 5000 });
    } catch (error) {
      const f = failure(error);
      throw new StoreFailure(f.message, f.driverCode, true);
    }
    try {
      db.pragma('journal_mode = WAL');
      this.ensureTable(db);
      const t = quoteTable('sqlite', this.table);
      this.deletes = [1, 2, 3, 4].map((k) =>
        db.prepare(`DELETE FROM ${t} WHERE ${KEY_COLUMNS.slice(0, k).map((c) => `${c} = ?`).join(' AND ')}`),
      );
      this.insert = db.prepare(
        `INSERT INTO ${t} (event, domain, username, etag, sender, body, received_time, expires, priority) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      const body = (writes: readonly PresentityWrite[]): void => {
        for (const { row, keyColumns } of writes) {
          (this.deletes[keyColumns - 1] as Statement).run(...KEY_COLUMNS.slice(0, keyColumns).map((c) => row[c]));
          (this.insert as Statement).run(
            row.event, row.domain, row.username, row.etag, row.sender, Buffer.from(row.body, 'utf8'),
            row.received_time, row.expires, row.priority,
          );
        }
      };
      const tx = db.transaction(body);
      this.run = this.lockType === 0 ? tx.deferred : this.lockType === 1 ? tx.immediate : tx.exclusive;
      this.db = db;
    } catch (error) {
      db.close();
      if (error instanceof StoreFailure) throw error;
      const f = failure(error);
      throw new StoreFailure(f.message, f.driverCode, true);
    }
  }

  /** Creates the table when missing (never alters one), then checks its columns. */
  private ensureTable(db: Database): void {
    const [schema, name] = this.table.includes('.') ? this.table.split('.') : ['main', this.table];
    const exists = db.prepare(`SELECT 1 FROM "${schema}".sqlite_master WHERE type = 'table' AND name = ?`).get(name) !== undefined;
    if (!exists) {
      const version = versionStatements('sqlite', this.table);
      db.transaction(() => {
        for (const sql of createTableStatements('sqlite', this.table)) db.exec(sql);
        if (version === null) return;
        db.exec(version.create);
        db.prepare(`INSERT INTO ${version.table} (table_name, table_version) SELECT ?, ? WHERE NOT EXISTS (SELECT 1 FROM ${version.table} WHERE table_name = ?)`).run(
          version.name, PRESENTITY_TABLE_VERSION, version.name,
        );
      }).immediate();
    }
    const columns = new Set((db.prepare(`PRAGMA "${schema}".table_info("${name}")`).all() as Array<{ name: string }>).map((c) => c.name.toLowerCase()));
    const missing = REQUIRED_COLUMNS.filter((c) => !columns.has(c));
    if (missing.length > 0) {
      throw new StoreFailure(`table ${this.table} lacks the presentity column(s) ${missing.join(', ')}`, 'MISSING_COLUMN', true);
    }
  }
}
