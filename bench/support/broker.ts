/**
 * Harness-side broker helpers (amqplib): declare, purge, preload, inspect and delete the
 * exchanges and queues a scenario uses. Nothing here is timed.
 */
import * as amqplib from 'amqplib';
import { BrokerInfo } from '../types';

/** Names declared through an {@link Admin}, so they can be deleted even after an interruption. */
interface Declared {
  exchanges: Set<string>;
  queues: Set<string>;
}

/** A management connection owned by the harness process. */
export class Admin {
  private conn!: amqplib.ChannelModel;
  private ch!: amqplib.ConfirmChannel;
  private connClosed = false;
  private version = 'unknown';
  private readonly declared: Declared = { exchanges: new Set(), queues: new Set() };

  private constructor(private readonly broker: BrokerInfo) {}

  /** Connects to the broker; rejects when it is unreachable (the harness then exits non-zero). */
  static async connect(broker: BrokerInfo): Promise<Admin> {
    const admin = new Admin(broker);
    await admin.open();
    return admin;
  }

  private async open(): Promise<void> {
    const conn = await amqplib.connect(this.broker.url);
    conn.on('error', () => {});
    conn.on('close', () => {
      this.connClosed = true;
    });
    this.conn = conn;
    this.connClosed = false;
    this.ch = await conn.createConfirmChannel();
    this.ch.on('error', () => {});
    const v = conn.connection.serverProperties.version;
    if (typeof v === 'string') this.version = v;
  }

  /** The broker's own version string (server-properties `version`). */
  brokerVersion(): string {
    return this.version;
  }

  /**
   * Runs `op` on the admin channel. A failed operation is not retried (the caller reports it), but
   * the next one gets a fresh channel, or a fresh connection if the broker dropped it (other
   * processes may restart the broker between scenarios).
   */
  private async withChannel<T>(op: (ch: amqplib.ConfirmChannel) => Promise<T>): Promise<T> {
    if (this.connClosed) await this.open();
    try {
      return await op(this.ch);
    } catch (err) {
      if (!this.connClosed) {
        try {
          this.ch = await this.conn.createConfirmChannel();
          this.ch.on('error', () => {});
        } catch {
          this.connClosed = true; // reconnect on the next operation
        }
      }
      throw err;
    }
  }

  /** Declares a non-durable, non-auto-delete exchange (the flags every client re-declares with). */
  async exchange(name: string, type: string): Promise<void> {
    this.declared.exchanges.add(name);
    await this.withChannel((ch) => ch.assertExchange(name, type, { durable: false, autoDelete: false }));
  }

  /**
   * Makes sure the shared `targeted` direct exchange exists, declared as Kazoo and the module do
   * (non-durable, not auto-delete). It is shared by every Kazoo node, so it is never deleted.
   */
  async targetedExchange(): Promise<void> {
    try {
      await this.withChannel((ch) => ch.assertExchange('targeted', 'direct', { durable: false, autoDelete: false }));
    } catch {
      // Declared elsewhere with other flags: it exists, which is all the replies need.
      await this.withChannel((ch) => ch.checkExchange('targeted'));
    }
  }

  /** Declares a non-durable, non-exclusive, non-auto-delete queue bound with the given keys. */
  async queue(name: string, exchange: string, keys: string[]): Promise<void> {
    this.declared.queues.add(name);
    await this.withChannel(async (ch) => {
      await ch.assertQueue(name, { durable: false, autoDelete: false, exclusive: false });
      for (const k of keys) await ch.bindQueue(name, exchange, k);
    });
  }

  /** Ready messages in a queue (passive queue.declare). */
  async depth(queue: string): Promise<number> {
    return this.withChannel(async (ch) => (await ch.checkQueue(queue)).messageCount);
  }

  async purge(queue: string): Promise<void> {
    await this.withChannel((ch) => ch.purgeQueue(queue));
  }

  /** Publishes `n` copies of `body` with publisher confirms and waits until all are confirmed. */
  async preload(exchange: string, routingKey: string, body: string, n: number): Promise<void> {
    await this.withChannel(async (ch) => {
      const content = Buffer.from(body);
      for (let i = 0; i < n; i++) {
        if (!ch.publish(exchange, routingKey, content, { contentType: 'application/json' })) {
          await new Promise<void>((resolve) => ch.once('drain', resolve));
        }
        if (i % 5000 === 4999) await ch.waitForConfirms();
      }
      await ch.waitForConfirms();
    });
  }

  /** Deletes everything declared through this admin (best effort), then closes. */
  async cleanupAndClose(): Promise<void> {
    for (const q of this.declared.queues) {
      await this.withChannel((ch) => ch.deleteQueue(q)).catch(() => {});
    }
    for (const x of this.declared.exchanges) {
      await this.withChannel((ch) => ch.deleteExchange(x)).catch(() => {});
    }
    this.declared.queues.clear();
    this.declared.exchanges.clear();
    if (!this.connClosed) await this.conn.close().catch(() => {});
  }

  /** Deletes one queue now (scenario teardown). */
  async deleteQueue(name: string): Promise<void> {
    this.declared.queues.delete(name);
    await this.withChannel((ch) => ch.deleteQueue(name)).catch(() => {});
  }

  /** Deletes one exchange now (scenario teardown). */
  async deleteExchange(name: string): Promise<void> {
    this.declared.exchanges.delete(name);
    await this.withChannel((ch) => ch.deleteExchange(name)).catch(() => {});
  }
}
