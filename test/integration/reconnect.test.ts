/**
 * Reconnects (docs/module-behaviour.md#consumption, #reconnect-and-failover): a connection the broker closes (rabbitmqctl close_connection,
 * which disturbs nobody else) and a broker restart while consuming. The subscriptions come back
 * by themselves, consumption resumes, and no message is lost.
 *
 * WARNING: the restart test stops the RabbitMQ application (`rabbitmqctl stop_app` / `start_app`)
 * for several seconds, disrupting every other test using the broker. Run this file rarely. */
import * as amqplib from 'amqplib';
import { Kazoo, KazooError, type ConnectionEvent, type KazooEvent } from '../../lib';
import { AMQP_URL, uniqueName, waitFor } from '../support/broker';
import { listRows, queueCounts, rabbitmqctl } from '../support/rabbitmqctl';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Connects with amqplib once the broker accepts connections again. */
async function connectWhenUp(timeoutMs = 90_000): Promise<amqplib.ChannelModel> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const c = await amqplib.connect(AMQP_URL);
      c.on('error', () => undefined);
      return c;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(250);
    }
  }
}

/** Publishes persistent messages Seq from..to-1 and waits for the broker's confirms. */
async function publishPersistent(connection: amqplib.ChannelModel, exchange: string, from: number, to: number): Promise<void> {
  const ch = await connection.createConfirmChannel();
  for (let seq = from; seq < to; seq++) {
    const body = Buffer.from(JSON.stringify({ 'Event-Category': 'restart', 'Event-Name': 'msg', Seq: seq }));
    if (!ch.publish(exchange, `restart.${seq % 10}`, body, { persistent: true })) await new Promise((r) => ch.once('drain', r));
  }
  await ch.waitForConfirms();
  await ch.close();
}

/** Has the broker close the connection that consumes `queue`; returns its pid. */
async function closeConnectionConsuming(queue: string): Promise<string> {
  const consumer = (await listRows('list_consumers', 'queue_name', 'channel_pid')).find(([name]) => name === queue);
  if (!consumer) throw new Error(`no consumer on ${queue}`);
  const channel = (await listRows('list_channels', 'pid', 'connection')).find(([pid]) => pid === consumer[1]);
  if (!channel) throw new Error(`no channel ${consumer[1]}`);
  await rabbitmqctl('close_connection', channel[1], 'kazoo-amqp test: forced close');
  return channel[1];
}

/** Queues bound to `exchange`. */
async function queuesBoundTo(exchange: string): Promise<string[]> {
  return (await listRows('list_bindings', 'source_name', 'destination_name', 'destination_kind'))
    .filter(([source, , kind]) => source === exchange && kind === 'queue')
    .map(([, destination]) => destination);
}

describe('connection closed by the broker (close_connection)', () => {
  const made: Array<{ x: string; q?: string }> = [];
  const clients: Kazoo[] = [];

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    const c = await connectWhenUp();
    for (const m of made.splice(0)) {
      const ch = await c.createChannel();
      ch.on('error', () => undefined);
      if (m.q) await ch.deleteQueue(m.q).catch(() => undefined);
      await ch.deleteExchange(m.x).catch(() => undefined);
      await ch.close().catch(() => undefined);
    }
    await c.close();
  });

  function client(): { kz: Kazoo; errors: KazooError[]; connection: ConnectionEvent[] } {
    const kz = new Kazoo({
      node_hostname: `${uniqueName('node')}.test`,
      amqp_connection: AMQP_URL,
      amqp_reconnect_min_ms: 100,
      amqp_reconnect_max_ms: 1000,
    });
    clients.push(kz);
    const errors: KazooError[] = [];
    const connection: ConnectionEvent[] = [];
    kz.on('error', (e: KazooError) => errors.push(e));
    kz.on('connection', (e: ConnectionEvent) => connection.push(e));
    return { kz, errors, connection };
  }

  it('re-declares a durable no_ack 0 subscription and loses no message', async () => {
    const cx = uniqueName('cc-x');
    const cq = uniqueName('cc-q');
    made.push({ x: cx, q: cq });
    const { kz, errors, connection } = client();
    const handled = new Set<number>();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    kz.eventRoute('kazoo:consumer-event-restart-msg', async (ev) => {
      const seq = ev.data.Seq as number;
      if (seq >= 100) await gate; // deliveries in flight when the connection goes
      await sleep(1);
      handled.add(seq);
    });
    await kz.connect();
    await kz.subscribe({
      exchange: cx,
      type: 'topic',
      queue: cq,
      routing: '#',
      durable: 1,
      auto_delete: 0,
      no_ack: 0,
      prefetch: 20,
    });
    const pub = await connectWhenUp();
    try {
      await publishPersistent(pub, cx, 0, 600);
      await waitFor(() => handled.size === 100, 20_000, 'consumption under way');
      await closeConnectionConsuming(cq);
      await waitFor(() => connection.some((e) => e.event === 'closed'), 10_000, 'the closed event');
      expect(handled.size).toBe(100);
      release();
      await waitFor(async () => (await queueCounts(cq))?.consumers === 1, 20_000, 'the consumer to come back');
      await publishPersistent(pub, cx, 600, 800);
      await waitFor(() => handled.size === 800, 30_000, `800 handled (got ${handled.size})`);
      await waitFor(async () => (await queueCounts(cq))?.messages === 0, 20_000, 'every message acked');
      expect(errors).toEqual([]);
    } finally {
      await pub.close().catch(() => undefined);
    }
  });

  it('re-declares a server-named queue, and unsubscribe() with the name subscribe() gave still cancels it', async () => {
    const cx = uniqueName('cc-x');
    made.push({ x: cx });
    const { kz, errors, connection } = client();
    const got: number[] = [];
    kz.eventRoute('kazoo:consumer-event-restart-msg', (ev) => void got.push(ev.data.Seq as number));
    await kz.connect();
    const info = await kz.subscribe({ exchange: cx, type: 'topic', queue: '', routing: '#' });
    expect(info.queue).toMatch(/^amq\.gen-/);
    await closeConnectionConsuming(info.queue);
    await waitFor(() => connection.some((e) => e.event === 'closed'), 10_000, 'the closed event');
    // The old auto-delete queue went with its connection; a new server-named one replaces it.
    const bound = await waitFor(
      async () => {
        const qs = await queuesBoundTo(cx);
        return qs.length === 1 && qs[0] !== info.queue ? qs : undefined;
      },
      20_000,
      'a new server-named queue bound to the exchange',
    );
    expect(bound?.[0]).toMatch(/^amq\.gen-/);
    const pub = await connectWhenUp();
    try {
      await publishPersistent(pub, cx, 1, 2);
      await waitFor(() => got.includes(1), 10_000, 'the delivery after the reconnect');
    } finally {
      await pub.close().catch(() => undefined);
    }
    // The caller only knows the name subscribe() resolved with.
    expect(await kz.unsubscribe(info.queue)).toBe(true);
    await waitFor(async () => (await queuesBoundTo(cx)).length === 0, 10_000, 'the auto-delete queue to go');
    expect(errors).toEqual([]);
  });
});

const x = uniqueName('restart-x');
const q = uniqueName('restart-q');
let stopped = false;

afterAll(async () => {
  if (stopped) await rabbitmqctl('start_app').catch(() => undefined);
  const c = await connectWhenUp().catch(() => undefined);
  if (!c) return;
  const ch = await c.createChannel();
  ch.on('error', () => undefined);
  await ch.deleteQueue(q).catch(() => undefined);
  await ch.deleteExchange(x).catch(() => undefined);
  await c.close().catch(() => undefined);
}, 120_000);

describe('broker restart while consuming', () => {
  it('re-declares the mod-init subscription by itself, resumes consumption and loses no message', async () => {
    const BEFORE = 3000;
    const AFTER = 1000;
    const kz = new Kazoo({
      node_hostname: `${uniqueName('node')}.test`,
      amqp_connection: AMQP_URL,
      amqp_reconnect_min_ms: 100,
      amqp_reconnect_max_ms: 1000,
      amqp_consumer_workers: 8,
    });
    const errors: KazooError[] = [];
    const connection: ConnectionEvent[] = [];
    const connectionRoutes: KazooEvent[] = [];
    const handled = new Set<number>();
    let deliveries = 0;
    let redelivered = 0;
    let modInits = 0;
    kz.on('error', (e: KazooError) => errors.push(e));
    kz.on('connection', (e: ConnectionEvent) => connection.push(e));
    kz.eventRoute('kazoo:mod-init', async () => {
      modInits++;
      await kz.subscribe({
        exchange: x,
        type: 'topic',
        queue: q,
        routing: 'restart.*',
        'exchange-def': { type: 'topic', durable: 1 },
        'queue-def': { durable: 1, auto_delete: 0 },
        no_ack: 0,
        prefetch: 50,
      });
    });
    kz.eventRoute('kazoo:consumer-event-connection', (ev) => void connectionRoutes.push(ev));
    kz.eventRoute('kazoo:consumer-event-restart-msg', async (ev) => {
      deliveries++;
      if (ev.redelivered) redelivered++;
      await sleep(8); // slow enough that the restart happens mid-stream, with deliveries in flight
      handled.add(ev.data.Seq as number);
    });

    let publisher: amqplib.ChannelModel | undefined = await connectWhenUp();
    try {
      await kz.connect();
      expect(modInits).toBe(1);
      expect((await queueCounts(q))?.consumers).toBe(1);

      await publishPersistent(publisher, x, 0, BEFORE);
      await waitFor(() => handled.size >= 200, 30_000, 'consumption to be under way');
      await publisher.close().catch(() => undefined);
      publisher = undefined;

      // Restart the broker while messages are being consumed.
      stopped = true;
      await rabbitmqctl('stop_app');
      await waitFor(() => connection.some((e) => e.event === 'closed'), 30_000, 'the closed event');
      expect(kz.connected).toBe(false);
      const handledWhileDown = handled.size;
      expect(handledWhileDown).toBeLessThan(BEFORE); // the restart really happened mid-stream
      await sleep(1000);
      await rabbitmqctl('start_app');
      await rabbitmqctl('await_startup');
      stopped = false;

      // The client reconnects and re-declares its subscription without any call from us.
      await waitFor(() => kz.connected, 60_000, 'the client to reconnect');
      await waitFor(async () => (await queueCounts(q))?.consumers === 1, 30_000, 'the consumer to come back');
      const consumers = JSON.parse(
        (await rabbitmqctl('list_consumers', 'queue_name', 'ack_required', 'prefetch_count', '--formatter', 'json', '-q')).trim() || '[]',
      ) as Array<{ queue_name: string; ack_required: boolean; prefetch_count: number }>;
      expect(consumers.filter((c) => c.queue_name === q)).toEqual([{ queue_name: q, ack_required: true, prefetch_count: 50 }]);
      // Every connection of the client (the module has a publisher and consumers; so may we)
      // reported open, closed, open.
      const byConnection = new Map<string, string[]>();
      for (const e of connection) {
        const role = (e as ConnectionEvent & { role?: string }).role ?? 'connection';
        byConnection.set(role, [...(byConnection.get(role) ?? []), e.event]);
      }
      expect(byConnection.size).toBeGreaterThanOrEqual(1);
      for (const [role, events] of byConnection) expect({ role, events }).toEqual({ role, events: ['open', 'closed', 'open'] });

      // Messages published after the restart are consumed too; the publisher works again.
      publisher = await connectWhenUp();
      await publishPersistent(publisher, x, BEFORE, BEFORE + AFTER - 100);
      for (let seq = BEFORE + AFTER - 100; seq < BEFORE + AFTER; seq++) {
        await kz.publish(x, `restart.${seq % 10}`, { 'Event-Category': 'restart', 'Event-Name': 'msg', Seq: seq });
      }

      await waitFor(() => handled.size === BEFORE + AFTER, 90_000, `all ${BEFORE + AFTER} messages handled (got ${handled.size})`);
      for (let seq = 0; seq < BEFORE + AFTER; seq++) expect(handled.has(seq)).toBe(true);
      await waitFor(async () => (await queueCounts(q))?.messages === 0, 30_000, 'every message acked');
      // Only deliveries in flight at the restart may come twice.
      expect(deliveries - handled.size).toBeLessThanOrEqual(redelivered);

      // kazoo:mod-init runs once per process, not per connection.
      expect(modInits).toBe(1);
      // Connection events reached their routes with the module's texts, one per connection change.
      const OPEN = '{ "Event-Category" : "connection", "Event-Name" : "open", "host" : "127.0.0.1", "zone" : "local" }';
      const CLOSED = '{ "Event-Category" : "connection", "Event-Name" : "closed", "host" : "127.0.0.1", "zone" : "local" }';
      for (const ev of connectionRoutes) expect(ev.name).toBe('kazoo:consumer-event-connection');
      expect(connectionRoutes.map((e) => e.payload).sort()).toEqual(
        connection.map((e) => (e.event === 'open' ? OPEN : CLOSED)).sort(),
      );
      // Only reconnect attempts may have failed meanwhile; nothing else went wrong.
      expect(errors.filter((e) => e.code !== 'CONNECT_FAILED')).toEqual([]);
    } finally {
      if (stopped) {
        await rabbitmqctl('start_app').catch(() => undefined);
        stopped = false;
      }
      await kz.close();
      await publisher?.close().catch(() => undefined);
    }
  }, 240_000);
});
