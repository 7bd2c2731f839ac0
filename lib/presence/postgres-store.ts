/**
 * The PostgreSQL presentity store (`postgres://user[:pass]@host[:port]/db`) on `pg`: one
 * connection, one transaction per batch folded into one DELETE per key depth and one multi-row
 * INSERT (unnest of arrays, so the prepared statements never change). `pua_lock_type` 1/2 take the
 * table lock Kamailio's db_postgres takes (EXCLUSIVE / ACCESS EXCLUSIVE) once per batch.
 */
import type * as Pg from 'pg';
import { foldBatch, type FoldedBatch } from './batch';
import type { DbTarget } from './db-url';
import { holdSocket, loadDriver } from './driver';
import { createTableStatements, PRESENTITY_TABLE_VERSION, quoteTable, REQUIRED_COLUMNS, versionStatements } from './schema';
import { StoreFailure, type StoreBackend } from './store';
import { KEY_COLUMNS, type PresentityWrite } from './types';

type PgTarget = Extract<DbTarget, { backend: 'postgres' | 'mysql' }>;

/** SQLSTATE classes after which the connection is dropped: connection, login, database missing, shutdown. */
const FATAL_SQLSTATE = /^(08|28|3D|57P|53)/;

function failure(error: unknown, broken: boolean): StoreFailure {
  const code = (error as { code?: unknown }).code;
  const text = error instanceof Error ? error.message : String(error);
  const sqlstate = typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
  // No SQLSTATE means the failure came from the socket, not from a statement.
  const fatal = broken || sqlstate === undefined || FATAL_SQLSTATE.test(sqlstate);
  return new StoreFailure(text, typeof code === 'string' ? code : undefined, fatal);
}

/** PostgreSQL backend of {@link PresentityWriter}. */
export class PostgresStore implements StoreBackend {
  private client: Pg.Client | undefined;
  private readonly t: string;
  private readonly lock: string | undefined;

  /**
   * @param target parsed `db_url`.
   * @param table checked `presentity_table`.
   * @param lockType `pua_lock_type`: 0 none, 1 `LOCK TABLE … IN EXCLUSIVE MODE`, 2 `… ACCESS EXCLUSIVE`.
   */
  constructor(
    private readonly target: PgTarget,
    private readonly table: string,
    lockType: 0 | 1 | 2,
  ) {
    this.t = quoteTable('postgres', table);
    this.lock = lockType === 0 ? undefined : `LOCK TABLE ${this.t} IN ${lockType === 1 ? 'EXCLUSIVE' : 'ACCESS EXCLUSIVE'} MODE`;
  }

  async runBatch(writes: readonly PresentityWrite[]): Promise<void> {
    const client = await this.connection();
    holdSocket(client, true);
    try {
      await client.query('BEGIN');
      if (this.lock) await client.query(this.lock);
      const folded = foldBatch(writes) as FoldedBatch;
      for (const [depth, keys] of folded.deletes) {
        const cols = KEY_COLUMNS.slice(0, depth);
        await client.query({
          name: `kz_pua_delete_${depth}`,
          text: `DELETE FROM ${this.t} WHERE (${cols.join(', ')}) IN (SELECT * FROM unnest(${cols.map((_, i) => `$${i + 1}::text[]`).join(', ')}))`,
          values: cols.map((_, i) => keys.map((k) => k[i])),
        });
      }
      const rows = folded.inserts;
      await client.query({
        name: 'kz_pua_insert',
        text:
          `INSERT INTO ${this.t} (event, domain, username, etag, sender, body, received_time, expires, priority) ` +
          'SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bytea[], $7::int[], $8::int[], $9::int[])',
        values: [
          rows.map((r) => r.event),
          rows.map((r) => r.domain),
          rows.map((r) => r.username),
          rows.map((r) => r.etag),
          rows.map((r) => r.sender),
          rows.map((r) => Buffer.from(r.body, 'utf8')),
          rows.map((r) => r.received_time),
          rows.map((r) => r.expires),
          rows.map((r) => r.priority),
        ],
      });
      await client.query('COMMIT');
    } catch (error) {
      // The 'error' handler below has already dropped a client whose socket failed.
      const f = failure(error, this.client !== client);
      if (f.fatal) await this.discard(client);
      else await client.query('ROLLBACK').catch(() => this.discard(client));
      throw f;
    } finally {
      holdSocket(client, false);
    }
  }

  async close(): Promise<void> {
    await this.drop();
  }

  private async drop(): Promise<void> {
    if (this.client) await this.discard(this.client);
  }

  /** Ends `client`, which may already have been let go by its 'error' handler. */
  private async discard(client: Pg.Client): Promise<void> {
    if (this.client === client) this.client = undefined;
    await client.end().catch(() => undefined);
  }

  private async connection(): Promise<Pg.Client> {
    if (this.client) return this.client;
    const pg = loadDriver<typeof Pg>('pg', 'pg');
    const client = new pg.Client({
      host: this.target.host,
      port: this.target.port,
      user: this.target.user,
      password: this.target.password,
      database: this.target.database,
      connectionTimeoutMillis: 5000,
      application_name: 'kazoo-amqp presence',
    });
    // A server shutdown or a dropped socket is reported here too; the next batch reconnects.
    client.on('error', () => {
      if (this.client === client) this.client = undefined;
    });
    try {
      await client.connect();
      await this.ensureTable(client);
    } catch (error) {
      await client.end().catch(() => undefined);
      if (error instanceof StoreFailure) throw error;
      throw failure(error, true);
    }
    this.client = client;
    return client;
  }

  /** Creates the table when missing (never alters one), then checks its columns. */
  private async ensureTable(client: Pg.Client): Promise<void> {
    const exists = (await client.query('SELECT to_regclass($1) AS oid', [this.t])).rows[0].oid !== null;
    if (!exists) {
      const version = versionStatements('postgres', this.table);
      try {
        await client.query('BEGIN');
        for (const sql of createTableStatements('postgres', this.table)) await client.query(sql);
        if (version !== null) {
          await client.query(version.create);
          await client.query(
            `INSERT INTO ${version.table} (table_name, table_version) SELECT $1::varchar, $2 WHERE NOT EXISTS (SELECT 1 FROM ${version.table} WHERE table_name = $1::varchar)`,
            [version.name, PRESENTITY_TABLE_VERSION],
          );
        }
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw failure(error, true);
      }
    }
    const { rows } = await client.query(
      'SELECT attname FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped',
      [this.t],
    );
    const columns = new Set(rows.map((r: { attname: string }) => r.attname.toLowerCase()));
    const missing = REQUIRED_COLUMNS.filter((c) => !columns.has(c));
    if (missing.length > 0) {
      throw new StoreFailure(`table ${this.table} lacks the presentity column(s) ${missing.join(', ')}`, 'MISSING_COLUMN', true);
    }
  }
}
