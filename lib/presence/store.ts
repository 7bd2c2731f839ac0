/**
 * The presentity writer shared by the three backends: one FIFO of writes per client, executed in
 * batched transactions by one connection, so writes land in call order (per presentity and
 * overall) and a DELETE is never committed without its INSERT. Backends only run a batch.
 */
import { KazooError } from '../errors';
import type { DbTarget } from './db-url';
import type { PresentityWrite } from './types';

/** A database failure as a backend reports it, before it becomes a KazooError. */
export class StoreFailure extends Error {
  constructor(
    message: string,
    /** The driver's code (SQLSTATE, MySQL error name, SQLite code), when it gave one. */
    readonly driverCode: string | undefined,
    /** The connection is unusable (refused, lost, login failed): retrying write by write is pointless. */
    readonly fatal: boolean,
  ) {
    super(message);
  }
}

/** One backend: runs a batch of writes in one transaction, in order, or throws a {@link StoreFailure}. */
export interface StoreBackend {
  /** Opens (or re-opens after a fatal failure) the connection, creating the table if missing. */
  runBatch(writes: readonly PresentityWrite[]): Promise<void>;
  close(): Promise<void>;
}

/** Most writes in one transaction: bounds the time a table lock is held and a failed batch's retry. */
const MAX_BATCH = 256;

interface Pending {
  write: PresentityWrite;
  resolve(): void;
  reject(error: KazooError): void;
}

/** Turns a driver failure into DATABASE_ERROR, with every credential of `target` hidden. */
export function databaseError(target: DbTarget, table: string, error: unknown): KazooError {
  const failure = error instanceof StoreFailure ? error : undefined;
  let text = error instanceof Error ? error.message : String(error);
  if (target.backend !== 'sqlite' && target.password !== undefined && target.password !== '') {
    text = text.split(target.password).join('***');
  }
  return new KazooError('DATABASE_ERROR', `kazoo: presentity write to ${target.redacted} (table ${table}) failed: ${text}`, {
    backend: target.backend,
    table,
    driverCode: failure?.driverCode,
  });
}

/**
 * Queues writes and runs them through a backend in batches. A batch that fails with a statement
 * error is retried write by write, so one bad write fails alone; a fatal failure (no connection)
 * fails the whole batch.
 */
export class PresentityWriter {
  private readonly queue: Pending[] = [];
  private running = false;
  private closed = false;
  /** Settles when the running pump has emptied the queue (close() waits on it, never polls). */
  private idle: Promise<void> = Promise.resolve();

  constructor(
    private readonly backend: StoreBackend,
    private readonly target: DbTarget,
    private readonly table: string,
  ) {}

  /** Resolves once `write` is committed; rejects with DATABASE_ERROR (nothing of it committed). */
  write(write: PresentityWrite): Promise<void> {
    if (this.closed) return Promise.reject(new KazooError('CLOSED', 'kazoo: client is closed'));
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ write, resolve, reject });
      if (!this.running) {
        this.running = true;
        // Deferred so that writes issued in the same turn of the event loop share a transaction.
        this.idle = new Promise<void>((done) => setImmediate(() => void this.pump().finally(done)));
      }
    });
  }

  /** Lets queued writes finish, then closes the connection. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    await this.idle;
    await this.backend.close();
  }

  private async pump(): Promise<void> {
    try {
      await this.drainQueue();
    } finally {
      this.running = false;
    }
  }

  private async drainQueue(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, MAX_BATCH);
      try {
        await this.backend.runBatch(batch.map((p) => p.write));
        for (const p of batch) p.resolve();
      } catch (error) {
        if (batch.length === 1 || (error instanceof StoreFailure && error.fatal) || !(error instanceof StoreFailure)) {
          const failure = databaseError(this.target, this.table, error);
          for (const p of batch) p.reject(failure);
        } else {
          await this.oneByOne(batch);
        }
      }
    }
  }

  /** After a failed batch (rolled back as a whole): the same writes, each in its own transaction, in order. */
  private async oneByOne(batch: Pending[]): Promise<void> {
    for (let i = 0; i < batch.length; i++) {
      try {
        await this.backend.runBatch([batch[i].write]);
        batch[i].resolve();
      } catch (error) {
        const failure = databaseError(this.target, this.table, error);
        batch[i].reject(failure);
        if (error instanceof StoreFailure && error.fatal) {
          for (const p of batch.slice(i + 1)) p.reject(failure);
          return;
        }
      }
    }
  }
}
