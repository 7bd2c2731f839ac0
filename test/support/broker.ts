/**
 * Shared helpers for integration tests: they talk to the real RabbitMQ at AMQP_URL
 * (default amqp://guest:guest@127.0.0.1:5672) and fail, never skip, when it is unreachable.
 */
import * as amqplib from 'amqplib';
import { randomUUID } from 'node:crypto';
import { Kazoo, type KazooConfig } from '../../lib';

/** The broker every integration test uses. */
export const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/** A name no other test (or earlier run) uses: `kz-test-<what>-<random>`. */
export function uniqueName(what: string): string {
  return `kz-test-${what}-${randomUUID().slice(0, 8)}`;
}

/** An amqplib connection and channel for observing the broker independently of kazoo-amqp. */
export async function openObserver(): Promise<{ connection: amqplib.ChannelModel; channel: amqplib.Channel }> {
  const connection = await amqplib.connect(AMQP_URL);
  const channel = await connection.createChannel();
  return { connection, channel };
}

/** A Kazoo client with test defaults, connected. Close it in afterEach/afterAll. */
export async function connectedKazoo(overrides: Partial<KazooConfig> = {}): Promise<Kazoo> {
  const kazoo = new Kazoo({
    node_hostname: overrides.node_hostname ?? `${uniqueName('node')}.test`,
    amqp_connection: AMQP_URL,
    ...overrides,
  });
  await kazoo.connect();
  return kazoo;
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes (then throws). */
export async function waitFor<T>(check: () => T | Promise<T>, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Reads up to `max` messages from `queue` with basic.get until it has `count` (or times out). */
export async function drainQueue(
  channel: amqplib.Channel,
  queue: string,
  count: number,
  timeoutMs = 10_000,
): Promise<amqplib.GetMessage[]> {
  const got: amqplib.GetMessage[] = [];
  await waitFor(
    async () => {
      for (;;) {
        const m = await channel.get(queue, { noAck: true });
        if (!m) break;
        got.push(m);
      }
      return got.length >= count;
    },
    timeoutMs,
    `${count} messages in ${queue}`,
  );
  return got;
}

/**
 * Deletes test queues and exchanges, each on its own channel (a refusal closes only that
 * channel), ignoring ones already gone; then empties both sets.
 */
export async function deleteEntities(
  connection: amqplib.ChannelModel,
  queues: Set<string>,
  exchanges: Set<string>,
): Promise<void> {
  for (const [names, remove] of [
    [queues, (ch: amqplib.Channel, name: string) => ch.deleteQueue(name)],
    [exchanges, (ch: amqplib.Channel, name: string) => ch.deleteExchange(name)],
  ] as const) {
    for (const name of names) {
      const ch = await connection.createChannel();
      ch.on('error', () => undefined);
      await remove(ch, name).catch(() => undefined);
      await ch.close().catch(() => undefined);
    }
    names.clear();
  }
}
