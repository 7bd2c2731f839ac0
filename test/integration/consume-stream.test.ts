/**
 * Consuming a stream of deliveries on a real RabbitMQ (docs/configuration.md,
 * amqp_consumer_read_window_ms): inside a stream the consumer connection reads its socket in
 * windows and holds the acks of finished handlers for a few ms, so these tests check that no
 * held ack is ever lost: not when the stream stops, not at close(), not at unsubscribe(), and
 * that a small prefetch (the broker short of credit) never stalls.
 */
import type * as amqplib from 'amqplib';
import { Kazoo, type KazooError } from '../../lib';
import type { KazooConfig } from '../../lib/config';
import type { SubscriptionDescription } from '../../lib/subscription';
import { AMQP_URL, deleteEntities, uniqueName, waitFor } from '../support/broker';
import * as amqp from 'amqplib';
import { queueCounts } from '../support/rabbitmqctl';

const ROUTE = 'kazoo:consumer-event-stream-tick';
const BODY = Buffer.from(JSON.stringify({ 'Event-Category': 'stream', 'Event-Name': 'tick', Seq: 0 }));

let connection: amqplib.ChannelModel;
let channel: amqplib.ConfirmChannel;
const clients: Kazoo[] = [];
const queues = new Set<string>();
const exchanges = new Set<string>();

beforeAll(async () => {
  connection = await amqp.connect(AMQP_URL);
  channel = await connection.createConfirmChannel();
});

afterAll(async () => {
  await connection.close();
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await deleteEntities(connection, queues, exchanges);
});

/** A fresh exchange and queue holding `n` messages, all confirmed before the test subscribes. */
async function preloaded(n: number): Promise<{ x: string; q: string }> {
  const x = uniqueName('x');
  const q = uniqueName('q');
  exchanges.add(x);
  queues.add(q);
  await channel.assertExchange(x, 'topic', { durable: false, autoDelete: false });
  await channel.assertQueue(q, { durable: false, autoDelete: false });
  await channel.bindQueue(q, x, 'stream.#');
  for (let i = 0; i < n; i++) channel.publish(x, 'stream.tick', BODY, { contentType: 'application/json' });
  await channel.waitForConfirms();
  return { x, q };
}

/** A connected client counting the stream's deliveries; `onLast` runs in the N-th handler. */
async function consumer(
  n: number,
  overrides: Partial<KazooConfig>,
  onLast: (kz: Kazoo) => void = () => {},
): Promise<{ kz: Kazoo; handled: () => number; errors: KazooError[] }> {
  const kz = new Kazoo({ node_hostname: `${uniqueName('node')}.test`, amqp_connection: AMQP_URL, ...overrides });
  clients.push(kz);
  const errors: KazooError[] = [];
  kz.on('error', (e: KazooError) => errors.push(e));
  let count = 0;
  kz.eventRoute(ROUTE, () => {
    if (++count === n) onLast(kz);
  });
  await kz.connect();
  return { kz, handled: () => count, errors };
}

const counts = async (q: string): Promise<{ ready: number; unacked: number; consumers: number }> => {
  const c = await queueCounts(q);
  if (c === undefined) throw new Error(`queue ${q} is gone`);
  return { ready: c.messages_ready, unacked: c.messages_unacknowledged, consumers: c.consumers };
};

/** Subscribes `q` as every test here does: manual acks after the handler. */
function subscribeStream(kz: Kazoo, x: string, q: string, extra: SubscriptionDescription = {}): Promise<unknown> {
  return kz.subscribe({ exchange: x, type: 'topic', queue: q, routing: 'stream.#', no_ack: 0, wait_for_consumer_ack: 1, durable: 0, auto_delete: 0, ...extra });
}

/**
 * Preloads 6,000 messages and calls `leave` from the handler of the 3,000th (after that turn's
 * settles were handed over, as an application shutting down would) while the stream still
 * flows; resolves once `leave` has and the broker holds no unacked message of the queue.
 */
async function leaveMidStream(leave: (kz: Kazoo, queue: string) => Promise<unknown>): Promise<{
  total: number;
  handled: number;
  counts: { ready: number; unacked: number; consumers: number };
  left: unknown;
  errors: KazooError[];
}> {
  const total = 6000;
  const { x, q } = await preloaded(total);
  let leaving: Promise<unknown> | undefined;
  const { kz, handled, errors } = await consumer(total / 2, { amqp_consumer_prefetch: 1000 }, (k) => {
    setImmediate(() => (leaving = leave(k, q)));
  });
  await subscribeStream(kz, x, q);
  await waitFor(() => leaving !== undefined, 20_000, 'the handler leaving the stream');
  const left = await leaving;
  await waitFor(async () => {
    const c = await counts(q);
    return c.unacked === 0 && c.consumers === 0;
  }, 10_000, 'the channel closed');
  return { total, handled: handled(), counts: await counts(q), left, errors };
}

describe('consuming a stream of deliveries', () => {
  it('acks every message once the stream stops, held acks included, while still subscribed', async () => {
    const n = 3000;
    const { x, q } = await preloaded(n);
    const { kz, handled, errors } = await consumer(n, { amqp_consumer_prefetch: 1000 });
    await subscribeStream(kz, x, q);
    await waitFor(() => handled() === n, 20_000, `${n} handled messages`);
    // Nothing else arrives: the held acks must leave on their own (the hold is a few ms).
    const after = await waitFor(async () => {
      const c = await counts(q);
      return c.unacked === 0 ? c : undefined;
    }, 10_000, 'no unacked message left on the broker');
    expect(after).toEqual({ ready: 0, unacked: 0, consumers: 1 });
    expect(handled()).toBe(n);
    expect(errors).toEqual([]);
  });

  // The stream is still flowing when the client leaves (half the queue is left), so acks are
  // being held at that moment: every message handled before must be acked.
  it('close() in the middle of a stream sends the held acks first: only unhandled messages are requeued', async () => {
    const { total, handled, counts: after, left, errors } = await leaveMidStream((kz) => kz.close());
    expect(left).toBeUndefined();
    expect(handled).toBeGreaterThanOrEqual(total / 2);
    // Acks lost at close would come back as ready messages once the channel closed.
    expect(after).toEqual({ ready: total - handled, unacked: 0, consumers: 0 });
    expect(errors).toEqual([]);
  });

  it('unsubscribe() in the middle of a stream sends the held acks first: only unhandled messages are requeued', async () => {
    const { total, handled, counts: after, left, errors } = await leaveMidStream((kz, q) => kz.unsubscribe(q));
    expect(left).toBe(true);
    // Deliveries already handed to JS may still be handled after it; their acks go nowhere (the
    // channel is closed) and the broker requeued them with it. The first half was handled
    // before unsubscribe() was called: none of it may come back.
    expect(after.ready).toBeLessThanOrEqual(total / 2);
    expect(after.ready).toBeGreaterThanOrEqual(total - handled);
    expect(errors).toEqual([]);
  });

  it.each([
    ['a prefetch of 4 (the broker is short of credit all the time)', { amqp_consumer_prefetch: 4 }, {}],
    ['amqp_consumer_read_window_ms 0 (reads at once)', { amqp_consumer_read_window_ms: 0, amqp_consumer_prefetch: 1000 }, {}],
    ['amqp_consumer_read_window_ms 100 (the longest window)', { amqp_consumer_read_window_ms: 100, amqp_consumer_prefetch: 1000 }, {}],
    ['no_ack: 1 (acked when each handler starts, never held)', { amqp_consumer_prefetch: 1000 }, { no_ack: 1 }],
  ] as Array<[string, Partial<KazooConfig>, SubscriptionDescription]>)('consumes and acks a whole stream with %s', async (_what, overrides, extra) => {
    const n = 1500;
    const { x, q } = await preloaded(n);
    const { kz, handled, errors } = await consumer(n, overrides);
    await subscribeStream(kz, x, q, extra);
    await waitFor(() => handled() === n, 30_000, `${n} handled messages`);
    await waitFor(async () => (await counts(q)).unacked === 0, 10_000, 'no unacked message left on the broker');
    expect(await counts(q)).toEqual({ ready: 0, unacked: 0, consumers: 1 });
    expect(errors).toEqual([]);
  });
});
