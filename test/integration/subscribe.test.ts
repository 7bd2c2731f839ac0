/**
 * kazoo_subscribe on a real RabbitMQ: what each field of the JSON description declares
 * (docs/module-behaviour.md#subscribe), checked on the broker with rabbitmqctl, plus broker refusals.
 */
import type * as amqplib from 'amqplib';
import { Kazoo, KazooError, type KazooEvent } from '../../lib';
import type { KazooConfig } from '../../lib/config';
import { AMQP_URL, connectedKazoo, openObserver, uniqueName, waitFor, deleteEntities } from '../support/broker';
import { listJson } from '../support/rabbitmqctl';

interface ExchangeRow {
  name: string;
  type: string;
  durable: boolean;
  auto_delete: boolean;
  internal: boolean;
}
interface QueueRow {
  name: string;
  durable: boolean;
  auto_delete: boolean;
  exclusive: boolean;
  arguments: Array<[string, string, unknown]>;
}
interface BindingRow {
  source_name: string;
  destination_name: string;
  destination_kind: 'queue' | 'exchange';
  routing_key: string;
}
interface ConsumerRow {
  queue_name: string;
  channel_pid: string;
  ack_required: boolean;
  prefetch_count: number;
}
interface ChannelRow {
  pid: string;
  prefetch_count: number;
}

async function exchangeRow(name: string): Promise<ExchangeRow | undefined> {
  const rows = await listJson<ExchangeRow>('list_exchanges', 'name', 'type', 'durable', 'auto_delete', 'internal');
  return rows.find((r) => r.name === name);
}
async function queueRow(name: string): Promise<QueueRow | undefined> {
  const rows = await listJson<QueueRow>('list_queues', 'name', 'durable', 'auto_delete', 'exclusive', 'arguments');
  return rows.find((r) => r.name === name);
}
/** Bindings whose destination is `destination` (the default-exchange binding of a queue excluded). */
async function bindingsTo(destination: string): Promise<BindingRow[]> {
  const rows = await listJson<BindingRow>('list_bindings', 'source_name', 'destination_name', 'destination_kind', 'routing_key');
  return rows.filter((r) => r.destination_name === destination && r.source_name !== '');
}
async function consumersOf(queue: string): Promise<ConsumerRow[]> {
  const rows = await listJson<ConsumerRow>('list_consumers', 'queue_name', 'channel_pid', 'ack_required', 'prefetch_count');
  return rows.filter((r) => r.queue_name === queue);
}
async function channelOf(pid: string): Promise<ChannelRow | undefined> {
  const rows = await listJson<ChannelRow>('list_channels', 'pid', 'prefetch_count');
  return rows.find((r) => r.pid === pid);
}
const keysOf = (rows: BindingRow[]) => rows.map((r) => `${r.source_name}|${r.routing_key}|${r.destination_kind}`).sort();

// ---------------------------------------------------------------------------------------------

let observer: { connection: amqplib.ChannelModel; channel: amqplib.Channel };
const clients: Kazoo[] = [];
const queues = new Set<string>();
const exchanges = new Set<string>();
let errors: KazooError[] = [];

beforeAll(async () => {
  observer = await openObserver();
});

afterAll(async () => {
  await observer.connection.close();
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await deleteEntities(observer.connection, queues, exchanges);
  errors = [];
});

async function kazoo(overrides: Partial<KazooConfig> = {}): Promise<Kazoo> {
  const kz = await connectedKazoo(overrides);
  clients.push(kz);
  kz.on('error', (e: KazooError) => errors.push(e));
  return kz;
}

/** Names for one test, deleted afterwards. */
function names(): { x: string; q: string } {
  const x = uniqueName('x');
  const q = uniqueName('q');
  exchanges.add(x);
  queues.add(q);
  return { x, q };
}

/** Records every consumed event under the catch-all route. */
function collect(kz: Kazoo): KazooEvent[] {
  const got: KazooEvent[] = [];
  kz.eventRoute('kazoo:consumer-event', (ev) => {
    // Connection events (no routing key, no exchange) reach this route too.
    if (ev.routingKey !== '' || ev.exchange !== '') got.push(ev);
  });
  return got;
}

function publish(exchange: string, key: string, body: object | string): void {
  observer.channel.publish(exchange, key, Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)));
}

async function rejectionOf(p: Promise<unknown>): Promise<KazooError> {
  try {
    await p;
  } catch (e) {
    return e as KazooError;
  }
  throw new Error('expected the promise to reject');
}

// ---------------------------------------------------------------------------------------------

describe('subscribe(): exchange and queue flags (docs/module-behaviour.md#subscribe)', () => {
  it('declares the module defaults: exchange non-durable, not auto-delete; queue auto-delete', async () => {
    const kz = await kazoo();
    const { x, q } = names();
    const info = await kz.subscribe({ exchange: x, type: 'topic', queue: q, routing: 'a.*' });
    expect(info.queue).toBe(q);
    expect(await exchangeRow(x)).toEqual({ name: x, type: 'topic', durable: false, auto_delete: false, internal: false });
    expect(await queueRow(q)).toMatchObject({ durable: false, auto_delete: true, exclusive: false, arguments: [] });
    const consumers = await consumersOf(q);
    expect(consumers).toHaveLength(1);
    // no_ack defaults to 1; kazoo-amqp still consumes with acks and a prefetch (acked when the
    // handler starts), so nothing piles up without bound.
    expect(consumers[0]).toMatchObject({ ack_required: true, prefetch_count: 64 });
  });

  it('shares top-level durable between the exchange and the queue without exchange-def/queue-def', async () => {
    const kz = await kazoo();
    const { x, q } = names();
    await kz.subscribe({ exchange: x, type: 'direct', queue: q, routing: 'k', durable: 1, auto_delete: 0 });
    expect(await exchangeRow(x)).toEqual({ name: x, type: 'direct', durable: true, auto_delete: false, internal: false });
    expect(await queueRow(q)).toMatchObject({ durable: true, auto_delete: false, exclusive: false });
  });

  it('shares top-level auto_delete: "auto_delete":1 also makes the exchange auto-delete', async () => {
    const kz = await kazoo();
    const { x, q } = names();
    await kz.subscribe({ exchange: x, type: 'fanout', queue: q, auto_delete: true });
    expect(await exchangeRow(x)).toMatchObject({ type: 'fanout', durable: false, auto_delete: true });
    expect(await queueRow(q)).toMatchObject({ durable: false, auto_delete: true });
  });

  it('applies top-level internal to the exchange only and exclusive to the queue only', async () => {
    const kz = await kazoo();
    const { x, q } = names();
    await kz.subscribe({ exchange: x, type: 'topic', queue: q, routing: '#', internal: 1, exclusive: 1, auto_delete: 0 });
    expect(await exchangeRow(x)).toEqual({ name: x, type: 'topic', durable: false, auto_delete: false, internal: true });
    expect(await queueRow(q)).toMatchObject({ durable: false, auto_delete: false, exclusive: true });
  });

  it('takes the exchange from exchange-def and the queue from queue-def, ignoring the top-level values', async () => {
    const kz = await kazoo();
    const { x, q } = names();
    await kz.subscribe({
      exchange: x,
      type: 'topic',
      queue: q,
      routing: 'k',
      durable: 1,
      auto_delete: 1,
      internal: 1,
      exclusive: 1,
      'exchange-def': { type: 'direct', durable: 0, auto_delete: 0 },
      'queue-def': { durable: 1, auto_delete: 0 },
    });
    expect(await exchangeRow(x)).toEqual({ name: x, type: 'direct', durable: false, auto_delete: false, internal: false });
    expect(await queueRow(q)).toMatchObject({ durable: true, auto_delete: false, exclusive: false });
  });

  it('exchange-def alone leaves the top-level flags to the queue; queue-def alone leaves them to the exchange', async () => {
    const kz = await kazoo();
    const a = names();
    await kz.subscribe({
      exchange: a.x,
      type: 'topic',
      queue: a.q,
      routing: 'k',
      durable: 1,
      auto_delete: 0,
      'exchange-def': { type: 'fanout' },
    });
    expect(await exchangeRow(a.x)).toMatchObject({ type: 'fanout', durable: false, auto_delete: false });
    expect(await queueRow(a.q)).toMatchObject({ durable: true, auto_delete: false });

    const b = names();
    await kz.subscribe({ exchange: b.x, type: 'topic', queue: b.q, routing: 'k', durable: 1, 'queue-def': { exclusive: 1 } });
    expect(await exchangeRow(b.x)).toMatchObject({ type: 'topic', durable: true, auto_delete: false });
    // queue-def without auto_delete: the queue default (1), not the top-level value
    expect(await queueRow(b.q)).toMatchObject({ durable: false, auto_delete: true, exclusive: true });
  });

  it('passes queue-def.arguments to queue.declare (string and integer values)', async () => {
    const kz = await kazoo();
    const { x, q } = names();
    const dlx = uniqueName('dlx');
    await kz.subscribe({
      exchange: x,
      type: 'topic',
      queue: q,
      routing: '#',
      'queue-def': { auto_delete: 0, arguments: { 'x-dead-letter-exchange': dlx, 'x-message-ttl': 600000 } },
    });
    const row = await queueRow(q);
    const args = Object.fromEntries((row?.arguments ?? []).map(([k, , v]) => [k, v]));
    expect(args).toEqual({ 'x-dead-letter-exchange': dlx, 'x-message-ttl': 600000 });
  });

  it('reads the module-style JSON text (single quotes, comments, "1"/false flags)', async () => {
    const kz = await kazoo();
    const { x, q } = names();
    const info = await kz.subscribe(`{
      'exchange' : '${x}', 'type' : 'fanout', 'queue' : '${q}', // consumed by kamailio
      'durable' : '1', 'auto_delete' : false, /* both objects */
      'routing' : [ 'k1', 'k2', ],
    }`);
    expect(info.queue).toBe(q);
    expect(await exchangeRow(x)).toMatchObject({ type: 'fanout', durable: true, auto_delete: false });
    expect(await queueRow(q)).toMatchObject({ durable: true, auto_delete: false });
    expect(keysOf(await bindingsTo(q))).toEqual([`${x}|k1|queue`, `${x}|k2|queue`]);
  });
});

describe('subscribe(): routing keys', () => {
  it('binds a string routing as one key', async () => {
    const kz = await kazoo();
    const { x, q } = names();
    await kz.subscribe({ exchange: x, type: 'topic', queue: q, routing: 'presence.dialog.*' });
    expect(keysOf(await bindingsTo(q))).toEqual([`${x}|presence.dialog.*|queue`]);
  });

  it('binds every key of an array (one queue.bind per key) and consumes through each', async () => {
    const kz = await kazoo();
    const got = collect(kz);
    const { x, q } = names();
    await kz.subscribe({ exchange: x, type: 'direct', queue: q, routing: ['k1', 'k2', 'k3'] });
    expect(keysOf(await bindingsTo(q))).toEqual([`${x}|k1|queue`, `${x}|k2|queue`, `${x}|k3|queue`]);
    for (const key of ['k1', 'k2', 'k3', 'unbound']) publish(x, key, { 'Event-Category': 'c', 'Event-Name': 'n', Key: key });
    await waitFor(() => got.length >= 3, 10_000, 'three deliveries');
    await new Promise((r) => setTimeout(r, 200));
    expect(got.map((e) => e.routingKey).sort()).toEqual(['k1', 'k2', 'k3']);
  });

  it('binds the empty key when routing is absent', async () => {
    const kz = await kazoo();
    const { x, q } = names();
    await kz.subscribe({ exchange: x, type: 'direct', queue: q });
    expect(keysOf(await bindingsTo(q))).toEqual([`${x}||queue`]);
  });

  it('uses routing keys as-is, without encoding', async () => {
    const kz = await kazoo();
    const { x, q } = names();
    await kz.subscribe({ exchange: x, type: 'direct', queue: q, routing: ['a b', 'sip:1000@example.com', 'x%2Ey'] });
    expect(keysOf(await bindingsTo(q))).toEqual([`${x}|a b|queue`, `${x}|sip:1000@example.com|queue`, `${x}|x%2Ey|queue`].sort());
  });
});

describe('subscribe(): exchange-bindings', () => {
  it('declares and binds EVERY entry with routing (the module binds only the first), and skips entries without it', async () => {
    const kz = await kazoo();
    const got = collect(kz);
    const { x, q } = names();
    const src1 = uniqueName('src1');
    const src2 = uniqueName('src2');
    const src3 = uniqueName('src3');
    const src4 = uniqueName('src4');
    for (const s of [src1, src2, src3, src4]) exchanges.add(s);
    await kz.subscribe({
      exchange: x,
      type: 'topic',
      queue: q,
      routing: '#',
      'exchange-bindings': {
        [src1]: { type: 'topic', routing: ['call.*', 'dialog.#'], durable: 1 },
        [src2]: { type: 'fanout', routing: '' },
        [src3]: { type: 'direct' }, // no routing: skipped, not even declared
        [src4]: { type: 'direct', routing: 'k4', auto_delete: 1 },
      },
    });
    expect(await exchangeRow(src1)).toMatchObject({ type: 'topic', durable: true, auto_delete: false });
    expect(await exchangeRow(src2)).toMatchObject({ type: 'fanout', durable: false, auto_delete: false });
    expect(await exchangeRow(src3)).toBeUndefined();
    expect(await exchangeRow(src4)).toMatchObject({ type: 'direct', auto_delete: true });
    expect(keysOf(await bindingsTo(x))).toEqual(
      [`${src1}|call.*|exchange`, `${src1}|dialog.#|exchange`, `${src2}||exchange`, `${src4}|k4|exchange`].sort(),
    );

    // Messages published to each source reach the queue through the destination exchange.
    publish(src1, 'call.create', { 'Event-Category': 'call', 'Event-Name': 'create' });
    publish(src1, 'dialog.a.b', { 'Event-Category': 'dialog', 'Event-Name': 'x' });
    publish(src2, 'whatever', { 'Event-Category': 'fan', 'Event-Name': 'out' });
    publish(src4, 'k4', { 'Event-Category': 'direct', 'Event-Name': 'k4' });
    publish(src4, 'not-k4', { 'Event-Category': 'direct', 'Event-Name': 'other' });
    await waitFor(() => got.length >= 4, 10_000, 'four deliveries');
    await new Promise((r) => setTimeout(r, 200));
    expect(got.map((e) => `${e.exchange}|${e.routingKey}`).sort()).toEqual(
      [`${src1}|call.create`, `${src1}|dialog.a.b`, `${src2}|whatever`, `${src4}|k4`].sort(),
    );
  });
});

describe('subscribe(): queues', () => {
  it("consumes a server-named queue (queue: '') and reports the broker's name", async () => {
    const kz = await kazoo();
    const got = collect(kz);
    const x = uniqueName('x');
    exchanges.add(x);
    const info = await kz.subscribe({ exchange: x, type: 'topic', queue: '', routing: 'sn.#' });
    expect(info.queue).toMatch(/^amq\.gen-/);
    queues.add(info.queue);
    expect(await queueRow(info.queue)).toMatchObject({ durable: false, auto_delete: true, exclusive: false });
    expect(keysOf(await bindingsTo(info.queue))).toEqual([`${x}|sn.#|queue`]);
    expect(await consumersOf(info.queue)).toHaveLength(1);
    publish(x, 'sn.one', { 'Event-Category': 'server', 'Event-Name': 'named' });
    await waitFor(() => got.length === 1, 10_000, 'the delivery');
    expect(got[0].routingKey).toBe('sn.one');
  });

  it('gives two server-named subscriptions their own queues, each consuming its own bindings', async () => {
    const kz = await kazoo();
    const got = collect(kz);
    const x = uniqueName('x');
    exchanges.add(x);
    const a = await kz.subscribe({ exchange: x, type: 'direct', routing: 'a' });
    const b = await kz.subscribe({ exchange: x, type: 'direct', routing: 'b' });
    queues.add(a.queue);
    queues.add(b.queue);
    expect(a.queue).not.toBe(b.queue);
    expect(keysOf(await bindingsTo(a.queue))).toEqual([`${x}|a|queue`]);
    expect(keysOf(await bindingsTo(b.queue))).toEqual([`${x}|b|queue`]);
    publish(x, 'a', { 'Event-Category': 'q', 'Event-Name': 'a' });
    publish(x, 'b', { 'Event-Category': 'q', 'Event-Name': 'b' });
    await waitFor(() => got.length >= 2, 10_000, 'two deliveries');
    await new Promise((r) => setTimeout(r, 200));
    expect(got.map((e) => e.routingKey).sort()).toEqual(['a', 'b']);
  });

  it("consumes an existing queue without declaring an exchange (exchange '')", async () => {
    const kz = await kazoo();
    const got = collect(kz);
    const q = uniqueName('q');
    queues.add(q);
    await observer.channel.assertQueue(q, { durable: false, autoDelete: false });
    await kz.subscribe({ queue: q, auto_delete: 0 });
    expect(await bindingsTo(q)).toEqual([]);
    observer.channel.sendToQueue(q, Buffer.from('{"Event-Category":"direct","Event-Name":"queue"}'));
    await waitFor(() => got.length === 1, 10_000, 'the delivery');
    expect(got[0].routingKey).toBe(q);
  });
});

describe('subscribe(): prefetch', () => {
  it('sets basic.qos to the subscription prefetch for no_ack 0 (visible on the consumer and its channel)', async () => {
    const kz = await kazoo();
    const { x, q } = names();
    await kz.subscribe({ exchange: x, type: 'topic', queue: q, routing: '#', no_ack: 0, prefetch: 16 });
    const consumers = await consumersOf(q);
    expect(consumers).toHaveLength(1);
    expect(consumers[0]).toMatchObject({ ack_required: true, prefetch_count: 16 });
    expect(await channelOf(consumers[0].channel_pid)).toMatchObject({ prefetch_count: 16 });
  });

  it('defaults the prefetch to amqp_consumer_prefetch', async () => {
    const kz = await kazoo({ amqp_consumer_prefetch: 37 });
    const { x, q } = names();
    await kz.subscribe({ exchange: x, type: 'topic', queue: q, routing: '#', no_ack: 0 });
    const consumers = await consumersOf(q);
    expect(consumers).toHaveLength(1);
    expect(consumers[0]).toMatchObject({ ack_required: true, prefetch_count: 37 });
    expect(await channelOf(consumers[0].channel_pid)).toMatchObject({ prefetch_count: 37 });
  });

  it('bounds no_ack 1 too: manual acks with the prefetch, so a slow handler leaves the rest on the broker', async () => {
    const kz = await kazoo();
    const { x, q } = names();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let started = 0;
    kz.eventRoute('kazoo:consumer-event-slow-one', async () => {
      started++;
      await gate;
    });
    await kz.subscribe({ exchange: x, type: 'topic', queue: q, routing: '#', prefetch: 16, 'consistent-worker': 1 });
    const consumers = await consumersOf(q);
    expect(consumers).toHaveLength(1);
    expect(consumers[0]).toMatchObject({ ack_required: true, prefetch_count: 16 });
    for (let i = 0; i < 200; i++) publish(x, 'same.key', { 'Event-Category': 'slow', 'Event-Name': 'one', Seq: i });
    // One lane (same key) blocked on its first handler: the broker holds what exceeds the prefetch.
    await waitFor(async () => (await observer.channel.checkQueue(q)).messageCount >= 200 - 16 - 1, 10_000, 'messages held back');
    expect(started).toBe(1);
    release();
    await waitFor(() => started === 200, 15_000, 'every message handled');
  });

  it('close() returns after its grace period even when a handler never settles, and the message goes back', async () => {
    const kz = await kazoo();
    const { x, q } = names();
    let started = false;
    kz.eventRoute('kazoo:consumer-event-stuck-forever', () => {
      started = true;
      return new Promise<void>(() => undefined);
    });
    await kz.subscribe({ exchange: x, type: 'topic', queue: q, routing: '#', no_ack: 0, auto_delete: 0 });
    publish(x, 'k', { 'Event-Category': 'stuck', 'Event-Name': 'forever' });
    await waitFor(() => started, 10_000, 'the handler to start');
    await kz.close(); // hanging here would fail the test by its timeout
    await waitFor(async () => (await observer.channel.checkQueue(q)).messageCount === 1, 10_000, 'the message requeued');
  });

  it('gives each subscription its own channel and prefetch', async () => {
    const kz = await kazoo();
    const a = names();
    const b = names();
    await kz.subscribe({ exchange: a.x, type: 'topic', queue: a.q, routing: '#', no_ack: 0, prefetch: 3 });
    await kz.subscribe({ exchange: b.x, type: 'topic', queue: b.q, routing: '#', no_ack: 0, prefetch: 300 });
    const [ca] = await consumersOf(a.q);
    const [cb] = await consumersOf(b.q);
    expect(ca.channel_pid).not.toBe(cb.channel_pid);
    expect(ca.prefetch_count).toBe(3);
    expect(cb.prefetch_count).toBe(300);
  });
});

describe('subscribe(): the 4-argument form', () => {
  it('declares exchange flags 0, an auto-delete queue, exactly one binding, broker auto-ack', async () => {
    const kz = await kazoo();
    const got = collect(kz);
    const { x, q } = names();
    const info = await kz.subscribe(x, 'direct', q, 'route.key');
    expect(info.queue).toBe(q);
    expect(await exchangeRow(x)).toEqual({ name: x, type: 'direct', durable: false, auto_delete: false, internal: false });
    expect(await queueRow(q)).toMatchObject({ durable: false, auto_delete: true, exclusive: false, arguments: [] });
    expect(keysOf(await bindingsTo(q))).toEqual([`${x}|route.key|queue`]);
    const consumers = await consumersOf(q);
    expect(consumers).toHaveLength(1);
    expect(consumers[0]).toMatchObject({ ack_required: true, prefetch_count: 64 });
    publish(x, 'route.key', { 'Event-Category': 'four', 'Event-Name': 'args' });
    await waitFor(() => got.length === 1, 10_000, 'the delivery');
    expect(got[0].name).toBe('kazoo:consumer-event');
  });

  it('rejects non-string arguments with INVALID_ARGUMENT and declares nothing', async () => {
    const kz = await kazoo();
    const { x, q } = names();
    const e = await rejectionOf(kz.subscribe(x, 'direct', q, 5 as unknown as string));
    expect(e).toBeInstanceOf(KazooError);
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.details.param).toBe('routing');
    expect(await exchangeRow(x)).toBeUndefined();
    expect(await queueRow(q)).toBeUndefined();
  });
});

describe('subscribe(): federate (docs/module-behaviour.md#subscribe, #zones)', () => {
  const twoZones = (): Partial<KazooConfig> => ({ amqp_connection: [AMQP_URL, `zone=west;${AMQP_URL}`] });

  it('consumes a binding on primary-zone servers only without federate', async () => {
    const kz = await kazoo(twoZones());
    const { x, q } = names();
    await kz.subscribe({ exchange: x, type: 'topic', queue: q, routing: '#', auto_delete: 0 });
    expect(await consumersOf(q)).toHaveLength(1);
  });

  it('also consumes it on the non-primary zone with federate 1 (AMQP-Broker-Zone and Server-ID of that server)', async () => {
    const kz = await kazoo(twoZones());
    const got = collect(kz);
    const { x, q } = names();
    await kz.subscribe({ exchange: x, type: 'topic', queue: q, routing: '#', auto_delete: 0, federate: 1 });
    expect(await consumersOf(q)).toHaveLength(2);
    for (let i = 0; i < 10; i++) publish(x, 'f', { 'Event-Category': 'fed', 'Event-Name': 'erate', 'Server-ID': 'origin', Seq: i });
    await waitFor(() => got.length === 10, 10_000, 'ten deliveries');
    const zones = new Set(got.map((e) => `${e.json('AMQP-Broker-Zone')} ${e.json('Server-ID')}`));
    expect([...zones].sort()).toEqual(['local consumer://1/origin', 'west consumer://2/origin']);
  });
});

describe('subscribe(): broker refusals', () => {
  it('rejects BROKER_REFUSED 406 for a queue redeclared with another durability, and nothing consumes or binds', async () => {
    const kz = await kazoo();
    const got = collect(kz);
    const { x, q } = names();
    await observer.channel.assertQueue(q, { durable: true, autoDelete: false });
    const e = await rejectionOf(kz.subscribe({ exchange: x, type: 'direct', queue: q, routing: 'k' }));
    expect(e).toBeInstanceOf(KazooError);
    expect(e.code).toBe('BROKER_REFUSED');
    expect(e.details.replyCode).toBe(406);
    expect(e.details.classId).toBe(50); // queue
    expect(e.details.methodId).toBe(10); // declare
    expect(String(e.details.replyText)).toMatch(/PRECONDITION_FAILED/);
    expect(await queueRow(q)).toMatchObject({ durable: true, auto_delete: false }); // untouched
    expect(await consumersOf(q)).toEqual([]);
    expect(await bindingsTo(q)).toEqual([]);
    expect(await kz.unsubscribe(q)).toBe(false);

    // Messages sent to the queue are not consumed by a half-made subscription.
    observer.channel.sendToQueue(q, Buffer.from('{"Event-Category":"c","Event-Name":"n"}'));
    await new Promise((r) => setTimeout(r, 300));
    expect(got).toEqual([]);
    expect((await observer.channel.checkQueue(q)).messageCount).toBe(1);

    // The client is still fine: the same description with matching queue flags now works and consumes.
    await kz.subscribe({ exchange: x, type: 'direct', queue: q, routing: 'k', 'queue-def': { durable: 1, auto_delete: 0 } });
    await waitFor(() => got.length === 1, 10_000, 'the queued message');
    expect(await consumersOf(q)).toHaveLength(1);
  });

  it('removes again an exchange it declared itself when the queue declaration is refused (nothing half-declared)', async () => {
    const kz = await kazoo();
    const { x, q } = names();
    await observer.channel.assertQueue(q, { durable: true, autoDelete: false });
    expect(await exchangeRow(x)).toBeUndefined();
    const e = await rejectionOf(kz.subscribe({ exchange: x, type: 'direct', queue: q, routing: 'k' }));
    expect(e.details.replyCode).toBe(406);
    // x did not exist before this subscribe: the refused subscription must not leave it behind.
    expect(await exchangeRow(x)).toBeUndefined();
  });

  it('removes again the bindings it made when basic.consume is refused (nothing half-declared)', async () => {
    const kz = await kazoo();
    const { x, q } = names();
    await observer.channel.assertExchange(x, 'direct', { durable: false, autoDelete: false });
    await observer.channel.assertQueue(q, { durable: false, autoDelete: false });
    const other = await observer.connection.createChannel();
    await other.consume(q, () => undefined, { exclusive: true, noAck: true });
    try {
      const e = await rejectionOf(kz.subscribe({ exchange: x, type: 'direct', queue: q, routing: ['k1', 'k2'], auto_delete: 0 }));
      expect(e.details.replyCode).toBe(403);
      // Otherwise messages for k1/k2 pile up in q for a subscription that does not exist.
      expect(await bindingsTo(q)).toEqual([]);
    } finally {
      await other.close();
    }
  });

  it('rejects BROKER_REFUSED 406 for an exchange redeclared with another type, before declaring the queue', async () => {
    const kz = await kazoo();
    const { x, q } = names();
    await observer.channel.assertExchange(x, 'fanout', { durable: false, autoDelete: false });
    const e = await rejectionOf(kz.subscribe({ exchange: x, type: 'topic', queue: q, routing: 'k' }));
    expect(e.code).toBe('BROKER_REFUSED');
    expect(e.details.replyCode).toBe(406);
    expect(e.details.classId).toBe(40); // exchange
    expect(await exchangeRow(x)).toMatchObject({ type: 'fanout' });
    expect(await queueRow(q)).toBeUndefined();
  });

  it('rejects BROKER_REFUSED 404 for a passive exchange that does not exist', async () => {
    const kz = await kazoo();
    const { x, q } = names();
    const e = await rejectionOf(kz.subscribe({ exchange: x, queue: q, routing: 'k', passive: 1 }));
    expect(e.code).toBe('BROKER_REFUSED');
    expect(e.details.replyCode).toBe(404);
    expect(await exchangeRow(x)).toBeUndefined();
    expect(await queueRow(q)).toBeUndefined();
  });

  it('rejects a refused exchange-binding source (406) without declaring the queue', async () => {
    const kz = await kazoo();
    const { x, q } = names();
    const src = uniqueName('src');
    exchanges.add(src);
    await observer.channel.assertExchange(src, 'direct', { durable: false, autoDelete: false });
    const e = await rejectionOf(
      kz.subscribe({ exchange: x, type: 'topic', queue: q, routing: '#', 'exchange-bindings': { [src]: { type: 'topic', routing: 'a' } } }),
    );
    expect(e.code).toBe('BROKER_REFUSED');
    expect(e.details.replyCode).toBe(406);
    expect(await queueRow(q)).toBeUndefined();
    expect(await bindingsTo(x)).toEqual([]);
  });

  it('rejects a refused basic.consume (403, exclusive consumer elsewhere) and leaves no consumer of its own', async () => {
    const kz = await kazoo();
    const got = collect(kz);
    const { x, q } = names();
    await observer.channel.assertQueue(q, { durable: false, autoDelete: false });
    const other = await observer.connection.createChannel();
    const { consumerTag } = await other.consume(q, () => undefined, { exclusive: true, noAck: true });
    const e = await rejectionOf(kz.subscribe({ exchange: x, type: 'direct', queue: q, routing: 'k', auto_delete: 0 }));
    expect(e.code).toBe('BROKER_REFUSED');
    expect(e.details.replyCode).toBe(403);
    expect(e.details.classId).toBe(60); // basic
    expect(await consumersOf(q)).toHaveLength(1); // only the observer's
    await other.cancel(consumerTag);
    await other.close();
    // Later messages stay in the queue: no zombie consumer from the refused subscription.
    observer.channel.sendToQueue(q, Buffer.from('{"Event-Category":"c","Event-Name":"n"}'));
    await new Promise((r) => setTimeout(r, 300));
    expect(got).toEqual([]);
    expect(await consumersOf(q)).toEqual([]);
    expect((await observer.channel.checkQueue(q)).messageCount).toBe(1);
  });

  it('keeps the connection usable after refusals (publish and other subscriptions work)', async () => {
    const kz = await kazoo();
    const got = collect(kz);
    const bad = names();
    await observer.channel.assertQueue(bad.q, { durable: true, autoDelete: false });
    for (let i = 0; i < 5; i++) {
      const e = await rejectionOf(kz.subscribe({ exchange: bad.x, type: 'direct', queue: bad.q, routing: 'k' }));
      expect(e.details.replyCode).toBe(406);
    }
    const good = names();
    await kz.subscribe({ exchange: good.x, type: 'direct', queue: good.q, routing: 'k' });
    await kz.publish(good.x, 'k', { 'Event-Category': 'still', 'Event-Name': 'works' });
    await waitFor(() => got.length === 1, 10_000, 'the delivery');
    expect(got[0].json('Event-Name')).toBe('works');
    expect(kz.connected).toBe(true);
  });
});

describe('subscribe(): timing', () => {
  it('accepts a subscribe() made before connect() and declares it once connected', async () => {
    const kz = new Kazoo({ node_hostname: `${uniqueName('node')}.test`, amqp_connection: AMQP_URL });
    clients.push(kz);
    const got = collect(kz);
    const { x, q } = names();
    const subscribed = kz.subscribe({ exchange: x, type: 'direct', queue: q, routing: 'early' });
    await kz.connect();
    expect(await subscribed).toEqual({ queue: q });
    expect(await consumersOf(q)).toHaveLength(1);
    publish(x, 'early', { 'Event-Category': 'early', 'Event-Name': 'bird' });
    await waitFor(() => got.length === 1, 10_000, 'the delivery');
  });

  it('reports an error event when the broker cancels the consumer (queue deleted by someone else)', async () => {
    const kz = await kazoo();
    const { x, q } = names();
    await kz.subscribe({ exchange: x, type: 'direct', queue: q, routing: 'k', auto_delete: 0 });
    await observer.channel.deleteQueue(q);
    await waitFor(() => errors.length > 0, 3_000, 'an error event');
    expect(errors[0]).toBeInstanceOf(KazooError);
    expect(errors[0].message).toContain(q);
    expect(kz.connected).toBe(true);
  });
});

describe('unsubscribe()', () => {
  it('cancels the consumer; the queue keeps later messages; a second call resolves false', async () => {
    const kz = await kazoo();
    const got = collect(kz);
    const { x, q } = names();
    await kz.subscribe({ exchange: x, type: 'direct', queue: q, routing: 'k', auto_delete: 0 });
    expect(await consumersOf(q)).toHaveLength(1);
    expect(await kz.unsubscribe(q)).toBe(true);
    expect(await consumersOf(q)).toEqual([]);
    publish(x, 'k', { 'Event-Category': 'after', 'Event-Name': 'unsubscribe' });
    await waitFor(async () => (await observer.channel.checkQueue(q)).messageCount === 1, 5_000, 'the message to stay queued');
    expect(got).toEqual([]);
    expect(await kz.unsubscribe(q)).toBe(false);
    expect(await kz.unsubscribe(uniqueName('never'))).toBe(false);
  });

  it('hands an unsettled no_ack 0 delivery back to the broker; its late handler result is ignored', async () => {
    const kz = await kazoo();
    const { x, q } = names();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let started = 0;
    kz.eventRoute('kazoo:consumer-event-in-flight', async () => {
      started++;
      await gate;
    });
    await kz.subscribe({ exchange: x, type: 'direct', queue: q, routing: 'k', auto_delete: 0, no_ack: 0 });
    publish(x, 'k', { 'Event-Category': 'in', 'Event-Name': 'flight' });
    await waitFor(() => started === 1, 10_000, 'the handler to start');
    expect(await kz.unsubscribe(q)).toBe(true);
    release();
    await waitFor(async () => (await observer.channel.checkQueue(q)).messageCount === 1, 10_000, 'the message back in the queue');
    await new Promise((r) => setTimeout(r, 200));
    expect(errors).toEqual([]);
    expect(kz.connected).toBe(true);
  });
});
