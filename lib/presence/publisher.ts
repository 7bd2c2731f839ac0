/**
 * The `kazoo_pua_publish*` functions for one client: checks `pua_mode` and `db_url`, reads the
 * payload, builds the module's row and hands it to the store of `db_url`'s backend, which is
 * opened on first use (no broker needed) and closed by {@link PresencePublisher.close}.
 */
import { KazooError } from '../errors';
import { parseDbUrl, type DbTarget } from './db-url';
import { MysqlStore } from './mysql-store';
import { readPayload } from './payload';
import { PostgresStore } from './postgres-store';
import { handlerFor, publishPlan, type PuaFields, type PuaOptions, type PuaPlan } from './rows';
import { SqliteStore } from './sqlite-store';
import { PresentityWriter, type StoreBackend } from './store';
import type { PuaPackage, PuaResult } from './types';

/** The parameters presence reads, by their Kamailio names. */
export interface PresenceParams {
  db_url: string | null;
  presentity_table: string;
  pua_mode: 0 | 1;
  pua_include_entity: 0 | 1;
  pua_lock_type: 0 | 1 | 2;
}

/** Which function was called: the dispatcher or one handler directly. */
export type PuaEntry = 'publish' | PuaPackage;

function backendFor(target: DbTarget, table: string, lockType: 0 | 1 | 2): StoreBackend {
  switch (target.backend) {
    case 'sqlite':
      return new SqliteStore(target.path, table, lockType);
    case 'postgres':
      return new PostgresStore(target, table, lockType);
    case 'mysql':
      return new MysqlStore(target, table, lockType);
  }
}

/** Presence writes of one client. */
export class PresencePublisher {
  private writer: PresentityWriter | undefined;
  private closed = false;

  constructor(private readonly params: PresenceParams) {}

  /**
   * Runs `entry` on `payload` and writes the resulting row.
   * @throws KazooError PUA_DISABLED (pua_mode ≠ 1, or no db_url), INVALID_JSON,
   *   INVALID_ARGUMENT (payload type, Flush-Level ≥ 4), DATABASE_ERROR, CLOSED.
   */
  async publish(entry: PuaEntry, payload: unknown): Promise<PuaResult> {
    if (this.params.pua_mode !== 1) {
      throw new KazooError('PUA_DISABLED', `kazoo: pua_mode must be 1 to publish presence, got ${this.params.pua_mode}`, { param: 'pua_mode' });
    }
    if (this.params.db_url === null) {
      throw new KazooError('PUA_DISABLED', 'kazoo: db_url must be set to publish presence, got null', { param: 'db_url' });
    }
    if (this.closed) throw new KazooError('CLOSED', 'kazoo: client is closed');
    const fields: PuaFields = readPayload(payload);
    const options: PuaOptions = { includeEntity: this.params.pua_include_entity === 1, now: Math.floor(Date.now() / 1000) };
    const plan: PuaPlan = entry === 'publish' ? publishPlan(fields, options) : handlerFor(entry)(fields, options);
    if ('skip' in plan) return { written: false, reason: plan.skip, detail: plan.detail };
    await this.store().write(plan);
    const { event, domain, username, etag } = plan.row;
    return { written: true, event, domain, username, etag };
  }

  /** Waits for queued writes, then closes the database connection. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    await this.writer?.close();
  }

  private store(): PresentityWriter {
    if (this.writer === undefined) {
      const target = parseDbUrl(this.params.db_url as string);
      const table = this.params.presentity_table;
      this.writer = new PresentityWriter(backendFor(target, table, this.params.pua_lock_type), target, table);
    }
    return this.writer;
  }
}
