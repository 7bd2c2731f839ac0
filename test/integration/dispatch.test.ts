/**
 * Consumption and dispatch on a real RabbitMQ: event-route name resolution (docs/module-behaviour.md#event-routes),
 * the $kzE rewrite (docs/module-behaviour.md#delivery-rewrite), connection events and kazoo:mod-init (docs/module-behaviour.md#start-up-route, #connection-events),
 * acknowledgement and dead-lettering, and the worker lanes (docs/module-behaviour.md#worker-selection).
 */
import type * as amqplib from 'amqplib';
import { consistentWorker, Kazoo, KazooError, type ConnectionEvent, type KazooEvent } from '../../lib';
import type { KazooConfig } from '../../lib/config';
import type { SubscriptionDescription } from '../../lib/subscription';
import { AMQP_URL, connectedKazoo, drainQueue, openObserver, uniqueName, waitFor, deleteEntities } from '../support/broker';
import { queueCounts } from '../support/rabbitmqctl';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let observer: { connection: amqplib.ChannelModel; channel: amqplib.Channel };
const clients: Kazoo[] = [];
const queues = new Set<string>();
const exchanges = new Set<string>();

beforeAll(async () => {
  observer = await openObserver();
});

afterAll(async () => {
  await observer.connection.close();
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await deleteEntities(observer.connection, queues, exchanges);
});

interface Client {
  kz: Kazoo;
  errors: KazooError[];
}

async function client(overrides: Partial<KazooConfig> = {}): Promise<Client> {
  const kz = await connectedKazoo(overrides);
  clients.push(kz);
  const errors: KazooError[] = [];
  kz.on('error', (e: KazooError) => errors.push(e));
  return { kz, errors };
}

/** A not-yet-connected client (to register routes that must exist before connect()). */
function unconnected(overrides: Partial<KazooConfig> = {}): { kz: Kazoo; errors: KazooError[] } {
  const kz = new Kazoo({ node_hostname: `${uniqueName('node')}.test`, amqp_connection: AMQP_URL, ...overrides });
  clients.push(kz);
  const errors: KazooError[] = [];
  kz.on('error', (e: KazooError) => errors.push(e));
  return { kz, errors };
}

/** Subscribes a fresh topic exchange + queue (routing '#'); returns the names. */
async function subscribeFresh(kz: Kazoo, extra: SubscriptionDescription = {}): Promise<{ x: string; q: string }> {
  const x = uniqueName('x');
  const q = uniqueName('q');
  exchanges.add(x);
  queues.add(q);
  await kz.subscribe({ exchange: x, type: 'topic', queue: q, routing: '#', ...extra });
  return { x, q };
}

function publish(exchange: string, key: string, body: object | string, options?: amqplib.Options.Publish): void {
  observer.channel.publish(exchange, key, Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)), options);
}

/** A dead-letter exchange (fanout) and its queue, owned by the observer. */
async function deadLetter(): Promise<{ dlx: string; dlq: string }> {
  const dlx = uniqueName('dlx');
  const dlq = uniqueName('dlq');
  exchanges.add(dlx);
  queues.add(dlq);
  await observer.channel.assertExchange(dlx, 'fanout', { durable: false, autoDelete: false });
  await observer.channel.assertQueue(dlq, { durable: false, autoDelete: false });
  await observer.channel.bindQueue(dlq, dlx, '');
  return { dlx, dlq };
}

/** Connection events (open/closed) also reach catch-all routes; they carry no routing key. */
function isConnectionEvent(ev: KazooEvent): boolean {
  return ev.routingKey === '' && ev.exchange === '';
}

/** Registers `handler` for consumed messages only (connection events pass through untouched). */
function onMessages(kz: Kazoo, route: string, handler: (ev: KazooEvent) => void | Promise<void>): void {
  kz.eventRoute(route, (ev) => (isConnectionEvent(ev) ? undefined : handler(ev)));
}

// ---------------------------------------------------------------------------------------------
// Route names

/**
 * Registers `routes` on a fresh client, subscribes with `binding`, publishes `payload` and
 * returns the route names that ran (with their events).
 */
async function routesHit(
  routes: string[],
  payload: object | string,
  binding: SubscriptionDescription = {},
  overrides: Partial<KazooConfig> = {},
): Promise<{ hits: string[]; events: KazooEvent[]; errors: KazooError[] }> {
  const { kz, errors } = await client(overrides);
  const hits: string[] = [];
  const events: KazooEvent[] = [];
  for (const route of routes) {
    onMessages(kz, route, (ev) => {
      hits.push(route);
      events.push(ev);
    });
  }
  const { x } = await subscribeFresh(kz, binding);
  publish(x, 'route.test', payload);
  await waitFor(() => hits.length > 0 || errors.length > 0, 10_000, 'a route or an error');
  await sleep(100);
  return { hits, events, errors };
}

/** For candidates c[0..4]: registering c[i..4] runs c[i] (the first defined one wins). */
async function expectFallbackOrder(
  candidates: string[],
  payload: object,
  binding: SubscriptionDescription = {},
  overrides: Partial<KazooConfig> = {},
): Promise<void> {
  const results = await Promise.all(
    candidates.map((_, i) => routesHit([...new Set(candidates.slice(i))], payload, binding, overrides)),
  );
  results.forEach(({ hits, events, errors }, i) => {
    expect({ level: i, hits }).toEqual({ level: i, hits: [candidates[i]] });
    expect(events[0].name).toBe(candidates[i]);
    expect(errors).toEqual([]);
  });
}

describe('event routes: fallback order (docs/module-behaviour.md#event-routes)', () => {
  it('tries <cat>-<name>, <cat>, <key>-<subkey>, <key>, then kazoo:consumer-event', async () => {
    await expectFallbackOrder(
      [
        'kazoo:consumer-event-presence-update',
        'kazoo:consumer-event-presence',
        'kazoo:consumer-event-event-category-event-name',
        'kazoo:consumer-event-event-category',
        'kazoo:consumer-event',
      ],
      { 'Event-Category': 'presence', 'Event-Name': 'update' },
    );
  });

  it('keeps an empty category: kazoo:consumer-event--<name>, then kazoo:consumer-event-', async () => {
    await expectFallbackOrder(
      [
        'kazoo:consumer-event--ping',
        'kazoo:consumer-event-',
        'kazoo:consumer-event-event-category-event-name',
        'kazoo:consumer-event-event-category',
        'kazoo:consumer-event',
      ],
      { 'Event-Name': 'ping' },
    );
  });

  it('treats a null or empty category like a missing one', async () => {
    for (const category of [null, '']) {
      const { hits } = await routesHit(['kazoo:consumer-event--ping', 'kazoo:consumer-event'], {
        'Event-Category': category,
        'Event-Name': 'ping',
      });
      expect(hits).toEqual(['kazoo:consumer-event--ping']);
    }
  });

  it('keeps an empty name: kazoo:consumer-event-<cat>-', async () => {
    const { hits } = await routesHit(['kazoo:consumer-event-cat-', 'kazoo:consumer-event-cat'], { 'Event-Category': 'cat' });
    expect(hits).toEqual(['kazoo:consumer-event-cat-']);
  });

  it("uses the binding's event_key text as the category when the payload lacks that field (docs/module-behaviour.md#event-routes)", async () => {
    await expectFallbackOrder(
      [
        'kazoo:consumer-event-acl-flush',
        'kazoo:consumer-event-acl',
        'kazoo:consumer-event-acl-event-name',
        'kazoo:consumer-event',
      ],
      { 'Event-Name': 'flush' },
      { event_key: 'acl' },
    );
  });

  it("reads the category from the binding's event_key field when the payload has it", async () => {
    await expectFallbackOrder(
      [
        'kazoo:consumer-event-flush-all-now',
        'kazoo:consumer-event-flush-all',
        'kazoo:consumer-event-action-event-name',
        'kazoo:consumer-event-action',
        'kazoo:consumer-event',
      ],
      { Action: 'Flush_All', 'Event-Name': 'now', 'Event-Category': 'ignored' },
      { event_key: 'Action' },
    );
  });

  it("uses the binding's event_subkey text as the name when the payload lacks that field", async () => {
    await expectFallbackOrder(
      [
        'kazoo:consumer-event-acl-action',
        'kazoo:consumer-event-acl',
        'kazoo:consumer-event-event-category-action',
        'kazoo:consumer-event-event-category',
        'kazoo:consumer-event',
      ],
      { 'Event-Category': 'acl', 'Event-Name': 'ignored' },
      { event_subkey: 'Action' },
    );
  });

  it('uses both literal fallbacks at once', async () => {
    const { hits } = await routesHit(
      ['kazoo:consumer-event-k1-s1', 'kazoo:consumer-event'],
      { 'Event-Category': 'c', 'Event-Name': 'n' },
      { event_key: 'K1', event_subkey: 'S1' },
    );
    expect(hits).toEqual(['kazoo:consumer-event-k1-s1']);
  });

  it('has no literal fallback for the amqp_consumer_event_key/_subkey parameters (only for a binding key)', async () => {
    await expectFallbackOrder(
      [
        'kazoo:consumer-event--x',
        'kazoo:consumer-event-',
        'kazoo:consumer-event-category-name',
        'kazoo:consumer-event-category',
        'kazoo:consumer-event',
      ],
      { Name: 'x', 'Event-Category': 'not-the-key' },
      {},
      { amqp_consumer_event_key: 'Category', amqp_consumer_event_subkey: 'Name' },
    );
  });

  it('lower-cases and turns _ into -, and nothing else', async () => {
    const a = await routesHit(['kazoo:consumer-event-call-event-channel-create'], {
      'Event-Category': 'Call_Event',
      'Event-Name': 'CHANNEL_CREATE',
    });
    expect(a.hits).toEqual(['kazoo:consumer-event-call-event-channel-create']);
    // A handler registered under the un-normalised name is the same route.
    const b = await routesHit(['kazoo:consumer-event-Call_Event-CHANNEL_CREATE'], {
      'Event-Category': 'call_event',
      'Event-Name': 'channel_create',
    });
    expect(b.events[0].name).toBe('kazoo:consumer-event-call-event-channel-create');
    // Dots, spaces and slashes are kept.
    const c = await routesHit(['kazoo:consumer-event-a.b c-x/y', 'kazoo:consumer-event'], {
      'Event-Category': 'A.b C',
      'Event-Name': 'X/Y',
    });
    expect(c.hits).toEqual(['kazoo:consumer-event-a.b c-x/y']);
  });

  it('stringifies non-string category and name values like json-c', async () => {
    const { hits } = await routesHit(['kazoo:consumer-event-5-true', 'kazoo:consumer-event'], {
      'Event-Category': 5,
      'Event-Name': true,
    });
    expect(hits).toEqual(['kazoo:consumer-event-5-true']);
  });

  it('reports NO_ROUTE naming the candidates when none of the five exists', async () => {
    const { hits, errors } = await routesHit(['kazoo:consumer-event-other'], { 'Event-Category': 'nobody', 'Event-Name': 'home' });
    expect(hits).toEqual([]);
    expect(errors).toHaveLength(1);
    expect(errors[0].code).toBe('NO_ROUTE');
    expect(errors[0].details.routingKey).toBe('route.test');
    expect(errors[0].message).toContain('kazoo:consumer-event-nobody-home');
  });
});

// ---------------------------------------------------------------------------------------------
// $kzE

describe('$kzE: the payload handed to the route (docs/module-behaviour.md#delivery-rewrite)', () => {
  async function kzE(body: string | object, key = 'kz.e', overrides: Partial<KazooConfig> = {}): Promise<{ ev: KazooEvent; before: number; after: number }> {
    const { kz } = await client(overrides);
    const got: KazooEvent[] = [];
    onMessages(kz, 'kazoo:consumer-event', (ev) => {
      got.push(ev);
    });
    const { x } = await subscribeFresh(kz);
    const before = Math.floor(Date.now() / 1000);
    publish(x, key, body);
    await waitFor(() => got.length === 1, 10_000, 'the delivery');
    const after = Math.ceil(Date.now() / 1000);
    return { ev: got[0], before, after };
  }

  function received(payload: string): number {
    const m = /"AMQP-Received": (\d+)/.exec(payload);
    if (!m) throw new Error(`no AMQP-Received in ${payload}`);
    return Number(m[1]);
  }

  it("matches the module's bytes for the observed example", async () => {
    const { ev, before, after } = await kzE('{"Event-Category":"bench","Event-Name":"echo","Seq":1}');
    const n = received(ev.payload);
    expect(ev.payload).toBe(
      `{ "Event-Category": "bench", "Event-Name": "echo", "Seq": 1, "AMQP-Broker-Zone": "local", "AMQP-Received": ${n} }`,
    );
    expect(n).toBeGreaterThanOrEqual(before - 1);
    expect(n).toBeLessThanOrEqual(after + 1);
    expect(ev.name).toBe('kazoo:consumer-event');
  });

  it('rewrites a Server-ID to consumer://<server-id>/<original> and moves it to the end', async () => {
    const { ev } = await kzE({
      'Event-Category': 'directory',
      'Server-ID': 'kazoo_apps@kz1.example.com-<0.123.0>',
      'Event-Name': 'reg_success',
      Realm: 'example.com',
    });
    const n = received(ev.payload);
    expect(ev.payload).toBe(
      `{ "Event-Category": "directory", "Event-Name": "reg_success", "Realm": "example.com", "AMQP-Broker-Zone": "local", ` +
        `"AMQP-Received": ${n}, "Server-ID": "consumer:\\/\\/1\\/kazoo_apps@kz1.example.com-<0.123.0>" }`,
    );
    expect(ev.json('Server-ID')).toBe('consumer://1/kazoo_apps@kz1.example.com-<0.123.0>');
  });

  it('removes an empty Server-ID', async () => {
    const { ev } = await kzE('{"Server-ID":"","Event-Category":"a","Event-Name":"b"}');
    expect(ev.payload).toBe(`{ "Event-Category": "a", "Event-Name": "b", "AMQP-Broker-Zone": "local", "AMQP-Received": ${received(ev.payload)} }`);
  });

  it('rewrites a Server-ID far longer than the module buffer (100 bytes) in full', async () => {
    const long = `kamailio@${'h'.repeat(300)}.example.com-<1>-targeted-7`;
    const { ev } = await kzE({ 'Event-Category': 'a', 'Event-Name': 'b', 'Server-ID': long });
    expect(ev.json('Server-ID')).toBe(`consumer://1/${long}`);
    expect(ev.payload.endsWith(`"Server-ID": "consumer:\\/\\/1\\/${long}" }`)).toBe(true);
  });

  it('replaces AMQP-Broker-Zone and AMQP-Received in place when the payload already has them', async () => {
    const { ev } = await kzE('{"AMQP-Received":1,"Event-Category":"a","AMQP-Broker-Zone":"elsewhere","Event-Name":"b"}');
    expect(ev.payload).toBe(
      `{ "AMQP-Received": ${received(ev.payload)}, "Event-Category": "a", "AMQP-Broker-Zone": "local", "Event-Name": "b" }`,
    );
    expect(received(ev.payload)).toBeGreaterThan(1_600_000_000);
  });

  it('re-serializes lenient JSON with json-c rules (quotes, comments, trailing commas, \\/ and \\u00XX escapes)', async () => {
    const { ev } = await kzE(`{'Event-Category':'a', /* c */ "Event-Name":"b", "Url":"http://x/y", "C":"x\\u0001y", "L":[1,2,], "O":{},}`);
    expect(ev.payload).toBe(
      `{ "Event-Category": "a", "Event-Name": "b", "Url": "http:\\/\\/x\\/y", "C": "x\\u0001y", "L": [ 1, 2 ], "O": { }, ` +
        `"AMQP-Broker-Zone": "local", "AMQP-Received": ${received(ev.payload)} }`,
    );
    expect(ev.data.Url).toBe('http://x/y');
  });

  it('hands the delivery routing key as $kzRK and the exchange', async () => {
    const { ev } = await kzE({ 'Event-Category': 'a', 'Event-Name': 'b' }, 'sip:1000@example.com.x');
    expect(ev.routingKey).toBe('sip:1000@example.com.x');
    expect(ev.exchange).toMatch(/^kz-test-x-/);
    expect(ev.redelivered).toBe(false);
  });

  it('passes a 1 MB body (many frames) through intact', async () => {
    const big = 'x'.repeat(1024 * 1024);
    const { ev } = await kzE({ 'Event-Category': 'big', 'Event-Name': 'body', Big: big, Tail: 'end' });
    expect(ev.payload).toBe(
      `{ "Event-Category": "big", "Event-Name": "body", "Big": "${big}", "Tail": "end", "AMQP-Broker-Zone": "local", "AMQP-Received": ${received(ev.payload)} }`,
    );
  });

  it('uses the amqp_primary_zone name for AMQP-Broker-Zone', async () => {
    const { ev } = await kzE({ 'Event-Category': 'a', 'Event-Name': 'b' }, 'k', { amqp_primary_zone: 'east' });
    expect(ev.payload).toContain('"AMQP-Broker-Zone": "east"');
  });
});

// ---------------------------------------------------------------------------------------------
// Connection events and mod-init

describe('connection events (docs/module-behaviour.md#connection-events)', () => {
  const OPEN = '{ "Event-Category" : "connection", "Event-Name" : "open", "host" : "127.0.0.1", "zone" : "local" }';
  const CLOSED = '{ "Event-Category" : "connection", "Event-Name" : "closed", "host" : "127.0.0.1", "zone" : "local" }';

  // One event per broker connection that opens or closes: the module reports its publisher and
  // each consumer process; kazoo-amqp may likewise have more than one connection per server.

  it("reach kazoo:consumer-event-connection-open with the module's exact text", async () => {
    const { kz, errors } = unconnected();
    const events: KazooEvent[] = [];
    const emitted: ConnectionEvent[] = [];
    kz.on('connection', (e: ConnectionEvent) => emitted.push(e));
    kz.eventRoute('kazoo:consumer-event-connection-open', (ev) => {
      events.push(ev);
    });
    kz.eventRoute('kazoo:consumer-event', (ev) => {
      events.push(ev);
    });
    await kz.connect();
    await waitFor(() => events.length >= 1, 5_000, 'the open event');
    await sleep(100);
    for (const ev of events) {
      expect(ev.name).toBe('kazoo:consumer-event-connection-open');
      expect(ev.payload).toBe(OPEN);
      expect(ev.routingKey).toBe('');
      expect(ev.json('Event-Name')).toBe('open');
    }
    expect(emitted).toHaveLength(events.length);
    for (const e of emitted) expect(e).toMatchObject({ event: 'open', host: '127.0.0.1', zone: 'local' });
    expect(errors).toEqual([]);
  });

  it('fall back like consumer events: kazoo:consumer-event-connection, then kazoo:consumer-event', async () => {
    const a = unconnected();
    const hitsA: string[] = [];
    a.kz.eventRoute('kazoo:consumer-event-connection', (ev) => void hitsA.push(ev.name));
    a.kz.eventRoute('kazoo:consumer-event', (ev) => void hitsA.push(ev.name));
    const b = unconnected();
    const hitsB: KazooEvent[] = [];
    b.kz.eventRoute('kazoo:consumer-event', (ev) => void hitsB.push(ev));
    await Promise.all([a.kz.connect(), b.kz.connect()]);
    await waitFor(() => hitsA.length >= 1 && hitsB.length >= 1, 5_000, 'both open events');
    await sleep(100);
    expect([...new Set(hitsA)]).toEqual(['kazoo:consumer-event-connection']);
    for (const ev of hitsB) {
      expect(ev.name).toBe('kazoo:consumer-event');
      expect(ev.payload).toBe(OPEN);
    }
  });

  it('use the event key parameters and the zone name in the payload', async () => {
    const { kz } = unconnected({ amqp_consumer_event_key: 'Category', amqp_consumer_event_subkey: 'Name', amqp_primary_zone: 'east' });
    const events: KazooEvent[] = [];
    kz.eventRoute('kazoo:consumer-event-connection-open', (ev) => void events.push(ev));
    await kz.connect();
    await waitFor(() => events.length >= 1, 5_000, 'the open event');
    for (const ev of events) {
      expect(ev.payload).toBe('{ "Category" : "connection", "Name" : "open", "host" : "127.0.0.1", "zone" : "east" }');
    }
  });

  it('run kazoo:consumer-event-connection-closed for every connection the client closes', async () => {
    const { kz } = unconnected();
    const opened: KazooEvent[] = [];
    const closed: KazooEvent[] = [];
    kz.eventRoute('kazoo:consumer-event-connection-open', (ev) => void opened.push(ev));
    kz.eventRoute('kazoo:consumer-event-connection-closed', (ev) => void closed.push(ev));
    await kz.connect();
    // A subscription too, so that every kind of connection the client has is open.
    await subscribeFresh(kz);
    await sleep(100);
    await kz.close();
    expect(opened.length).toBeGreaterThanOrEqual(1);
    expect(closed.map((e) => e.payload)).toEqual(opened.map(() => CLOSED));
  });
});

describe('kazoo:mod-init (docs/module-behaviour.md#start-up-route)', () => {
  it('runs once, before connect() resolves; what it subscribes is consuming when connect() resolves', async () => {
    const { kz, errors } = unconnected();
    const order: string[] = [];
    let runs = 0;
    const x = uniqueName('x');
    const q = uniqueName('q');
    exchanges.add(x);
    queues.add(q);
    kz.eventRoute('kazoo:mod-init', async (ev) => {
      runs++;
      expect(ev.name).toBe('kazoo:mod-init');
      expect(kz.connected).toBe(true);
      order.push('mod-init:start');
      await kz.subscribe({ exchange: x, type: 'direct', queue: q, routing: 'k' });
      order.push('mod-init:end');
    });
    onMessages(kz, 'kazoo:consumer-event-init-check', () => void order.push('delivery'));
    await kz.connect();
    order.push('connect');
    expect(runs).toBe(1);
    expect(order).toEqual(['mod-init:start', 'mod-init:end', 'connect']);
    // The binding is there: a message published right now is consumed.
    publish(x, 'k', { 'Event-Category': 'init', 'Event-Name': 'check' });
    await waitFor(() => order.includes('delivery'), 10_000, 'the delivery');
    expect(runs).toBe(1);
    expect(errors).toEqual([]);
  });

  it('dispatches no delivery before mod-init has finished declaring all its subscriptions', async () => {
    // Messages are already waiting in the first queue when mod-init subscribes to it.
    const qa = uniqueName('qa');
    const qb = uniqueName('qb');
    const xb = uniqueName('xb');
    queues.add(qa);
    queues.add(qb);
    exchanges.add(xb);
    await observer.channel.assertQueue(qa, { durable: false, autoDelete: false });
    for (let i = 0; i < 5; i++) observer.channel.sendToQueue(qa, Buffer.from(JSON.stringify({ 'Event-Category': 'early', 'Event-Name': 'bird', Seq: i })));
    await waitFor(async () => (await observer.channel.checkQueue(qa)).messageCount === 5, 5_000, 'queued messages');

    const { kz } = unconnected();
    const order: string[] = [];
    kz.eventRoute('kazoo:mod-init', async () => {
      await kz.subscribe({ queue: qa, auto_delete: 0 });
      order.push('subscribed:a');
      await kz.subscribe({ exchange: xb, type: 'topic', queue: qb, routing: '#' });
      order.push('subscribed:b');
      await sleep(200); // e.g. loading state the handlers need
      order.push('mod-init:end');
    });
    onMessages(kz, 'kazoo:consumer-event-early-bird', () => void order.push('delivery'));
    await kz.connect();
    await waitFor(() => order.filter((o) => o === 'delivery').length === 5, 10_000, 'five deliveries');
    expect(order.slice(0, 3)).toEqual(['subscribed:a', 'subscribed:b', 'mod-init:end']);
  });
});

// ---------------------------------------------------------------------------------------------
// Acknowledgements

describe('acknowledgement with no_ack 0 (nothing lost)', () => {
  async function deadLettered(extra: SubscriptionDescription = {}, overrides: Partial<KazooConfig> = {}) {
    const c = await client(overrides);
    const dl = await deadLetter();
    const names = await subscribeFresh(c.kz, {
      no_ack: 0,
      'queue-def': { auto_delete: 0, arguments: { 'x-dead-letter-exchange': dl.dlx } },
      ...extra,
    });
    return { ...c, ...dl, ...names };
  }

  it('dead-letters the message of a handler that throws, and reports HANDLER_FAILED', async () => {
    const { kz, errors, x, q, dlq } = await deadLettered();
    onMessages(kz, 'kazoo:consumer-event', () => {
      throw new Error('boom');
    });
    const body = '{"Event-Category":"fail","Event-Name":"sync"}';
    publish(x, 'f.sync', body);
    const [dead] = await drainQueue(observer.channel, dlq, 1);
    expect(dead.content.toString()).toBe(body);
    const death = (dead.properties.headers?.['x-death'] as unknown as Array<Record<string, unknown>>)[0];
    expect(death.reason).toBe('rejected');
    expect(death.queue).toBe(q);
    await waitFor(() => errors.length === 1, 5_000, 'the error event');
    expect(errors[0].code).toBe('HANDLER_FAILED');
    expect(errors[0].details.routingKey).toBe('f.sync');
    expect(errors[0].message).toContain('boom');
    expect(await queueCounts(q)).toMatchObject({ messages: 0 });
  });

  it('dead-letters the message of a handler whose promise rejects', async () => {
    const { kz, errors, x, dlq } = await deadLettered();
    onMessages(kz, 'kazoo:consumer-event', async () => {
      await sleep(10);
      throw new Error('later');
    });
    publish(x, 'f.async', { 'Event-Category': 'fail', 'Event-Name': 'async' });
    const [dead] = await drainQueue(observer.channel, dlq, 1);
    expect(JSON.parse(dead.content.toString())['Event-Name']).toBe('async');
    await waitFor(() => errors.length === 1, 5_000, 'the error event');
    expect(errors[0].code).toBe('HANDLER_FAILED');
  });

  it('requeues with requeue_on_error 1: the message comes back redelivered', async () => {
    const { kz, errors, x, q, dlq } = await deadLettered({ requeue_on_error: 1 });
    const seen: boolean[] = [];
    onMessages(kz, 'kazoo:consumer-event', (ev) => {
      seen.push(ev.redelivered);
      if (seen.length === 1) throw new Error('first try fails');
    });
    publish(x, 'r', { 'Event-Category': 'requeue', 'Event-Name': 'me' });
    await waitFor(() => seen.length === 2, 10_000, 'the redelivery');
    expect(seen).toEqual([false, true]);
    expect(errors.map((e) => e.code)).toEqual(['HANDLER_FAILED']);
    await waitFor(async () => (await queueCounts(q))?.messages === 0, 10_000, 'the queue to be empty');
    expect((await observer.channel.checkQueue(dlq)).messageCount).toBe(0);
  });

  it('requeues once with requeue_on_error 1 (config level), then dead-letters a message that fails again', async () => {
    const { kz, x, q, dlq } = await deadLettered({}, { requeue_on_error: 1 });
    const seen: boolean[] = [];
    onMessages(kz, 'kazoo:consumer-event', async (ev) => {
      seen.push(ev.redelivered);
      await sleep(20);
      throw new Error('always');
    });
    publish(x, 'r', { 'Event-Category': 'requeue', 'Event-Name': 'forever' });
    // No tight requeue loop: the redelivered copy failing again goes to the dead-letter queue.
    const dead = await drainQueue(observer.channel, dlq, 1);
    expect(JSON.parse(dead[0].content.toString())['Event-Name']).toBe('forever');
    expect(seen).toEqual([false, true]);
    await kz.close();
    expect((await queueCounts(q))?.messages).toBe(0);
  });

  it('dead-letters a body that is not JSON, or not a JSON object, with INVALID_MESSAGE; no handler runs', async () => {
    const { kz, errors, x, dlq } = await deadLettered();
    let handled = 0;
    onMessages(kz, 'kazoo:consumer-event', () => void handled++);
    const bodies = ['this is not json', '[1, 2, 3]', '', '"just a string"'];
    bodies.forEach((b, i) => publish(x, `bad.${i}`, b));
    const dead = await drainQueue(observer.channel, dlq, bodies.length);
    expect(dead.map((m) => m.content.toString()).sort()).toEqual([...bodies].sort());
    await waitFor(() => errors.length === bodies.length, 5_000, 'the error events');
    expect(errors.map((e) => e.code)).toEqual(bodies.map(() => 'INVALID_MESSAGE'));
    expect(errors.map((e) => e.details.routingKey).sort()).toEqual(bodies.map((_, i) => `bad.${i}`).sort());
    expect(handled).toBe(0);
  });

  it('dead-letters a message no route handles with NO_ROUTE, and acks the handled ones', async () => {
    const { kz, errors, x, q, dlq } = await deadLettered();
    let handled = 0;
    onMessages(kz, 'kazoo:consumer-event-known', () => void handled++);
    publish(x, 'u', { 'Event-Category': 'unknown', 'Event-Name': 'thing' });
    publish(x, 'k', { 'Event-Category': 'known', 'Event-Name': 'thing' });
    const [dead] = await drainQueue(observer.channel, dlq, 1);
    expect(JSON.parse(dead.content.toString())['Event-Category']).toBe('unknown');
    await waitFor(() => handled === 1 && errors.length === 1, 5_000, 'the handled message and the error');
    expect(errors[0].code).toBe('NO_ROUTE');
    await waitFor(async () => (await queueCounts(q))?.messages === 0, 10_000, 'the queue to be empty');
  });

  it('loses nothing: every message is either handled (acked) or dead-lettered', async () => {
    const { kz, x, q, dlq } = await deadLettered({ prefetch: 10 });
    const handled = new Set<number>();
    onMessages(kz, 'kazoo:consumer-event', async (ev) => {
      const seq = ev.data.Seq as number;
      await sleep(seq % 3);
      if (seq % 2 === 1) throw new Error('odd');
      handled.add(seq);
    });
    const N = 200;
    for (let i = 0; i < N; i++) publish(x, 'n', { 'Event-Category': 'n', 'Event-Name': 'n', Seq: i });
    const dead = await drainQueue(observer.channel, dlq, N / 2, 20_000);
    const deadSeqs = new Set(dead.map((m) => JSON.parse(m.content.toString()).Seq as number));
    await waitFor(() => handled.size === N / 2, 10_000, 'the even messages');
    expect(deadSeqs.size).toBe(N / 2);
    for (let i = 0; i < N; i++) expect(i % 2 === 1 ? deadSeqs.has(i) : handled.has(i)).toBe(true);
    await waitFor(async () => (await queueCounts(q))?.messages === 0, 10_000, 'the queue to be empty');
  });

  it('wait_for_consumer_ack 1 (default) acks only after the handler resolved', async () => {
    const { kz, x, q } = await deadLettered();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let started = 0;
    onMessages(kz, 'kazoo:consumer-event', async () => {
      started++;
      await gate;
    });
    publish(x, 'w', { 'Event-Category': 'wait', 'Event-Name': 'ack' });
    await waitFor(() => started === 1, 10_000, 'the handler to start');
    await waitFor(async () => (await queueCounts(q))?.messages_unacknowledged === 1, 10_000, 'one unacked message');
    release();
    await waitFor(async () => (await queueCounts(q))?.messages === 0, 10_000, 'the ack');
  });

  it('acks of later messages never cover an earlier one whose handler still runs; its nack still dead-letters it', async () => {
    // One lane per message, so only message 5 waits; acks of a turn may leave as one
    // `multiple` ack, which must stop below message 5's tag.
    const { kz, x, q, dlq } = await deadLettered({ prefetch: 100 }, { amqp_consumer_workers: 64 });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const handled: number[] = [];
    onMessages(kz, 'kazoo:consumer-event', async (ev) => {
      const seq = ev.data.Seq as number;
      if (seq === 5) {
        await gate;
        throw new Error('held, then failed');
      }
      handled.push(seq);
    });
    const N = 40;
    for (let i = 0; i < N; i++) publish(x, 'm', { 'Event-Category': 'm', 'Event-Name': 'm', Seq: i });
    await waitFor(() => handled.length === N - 1, 10_000, 'every other handler');
    await waitFor(async () => (await queueCounts(q))?.messages_unacknowledged === 1, 10_000, 'only message 5 unacked');
    expect((await queueCounts(q))?.messages).toBe(1);
    release();
    const [dead] = await drainQueue(observer.channel, dlq, 1);
    expect(JSON.parse(dead.content.toString()).Seq).toBe(5);
    await waitFor(async () => (await queueCounts(q))?.messages === 0, 10_000, 'the queue to be empty');
    await sleep(200);
    expect((await observer.channel.checkQueue(dlq)).messageCount).toBe(0);
  });

  it('wait_for_consumer_ack 0 acks on receipt: a pending handler holds nothing, a failing one dead-letters nothing', async () => {
    const { kz, errors, x, q, dlq } = await deadLettered({ wait_for_consumer_ack: 0 });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let started = 0;
    onMessages(kz, 'kazoo:consumer-event', async () => {
      started++;
      await gate;
      throw new Error('too late to nack');
    });
    publish(x, 'w', { 'Event-Category': 'wait', 'Event-Name': 'no' });
    await waitFor(() => started === 1, 10_000, 'the handler to start');
    await waitFor(async () => (await queueCounts(q))?.messages === 0, 10_000, 'the ack on receipt');
    release();
    await waitFor(() => errors.length === 1, 5_000, 'the error event');
    expect(errors[0].code).toBe('HANDLER_FAILED');
    await sleep(300);
    expect((await observer.channel.checkQueue(dlq)).messageCount).toBe(0);
  });

  it('prefetch bounds the deliveries in flight', async () => {
    const { kz, x, q } = await deadLettered({ prefetch: 3 });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let started = 0;
    onMessages(kz, 'kazoo:consumer-event', async () => {
      started++;
      await gate;
    });
    for (let i = 0; i < 20; i++) publish(x, 'p', { 'Event-Category': 'pre', 'Event-Name': 'fetch', Seq: i });
    await waitFor(() => started === 3, 10_000, 'three handlers');
    await sleep(300);
    expect(started).toBe(3);
    release();
    await waitFor(() => started === 20, 10_000, 'everything');
    await waitFor(async () => (await queueCounts(q))?.messages === 0, 10_000, 'every message acked');
  });

  it('close() lets a running handler finish AND acks it, so a handled message is not delivered again', async () => {
    const { kz, x, q } = await deadLettered();
    let started = 0;
    let finished = 0;
    onMessages(kz, 'kazoo:consumer-event-close-while-handling', async () => {
      started++;
      await sleep(300);
      finished++;
    });
    publish(x, 'c', { 'Event-Category': 'close', 'Event-Name': 'while-handling' });
    await waitFor(() => started === 1, 10_000, 'the handler to start');
    await kz.close();
    expect(finished).toBe(1);
    // The handler succeeded: its message must not be waiting for a second delivery.
    await sleep(300);
    expect(await queueCounts(q)).toMatchObject({ messages: 0 });
  });

  it('no_ack 1: a failing handler is reported; the broker already dropped the message', async () => {
    const c = await client();
    const dl = await deadLetter();
    const { x, q } = await subscribeFresh(c.kz, { 'queue-def': { auto_delete: 0, arguments: { 'x-dead-letter-exchange': dl.dlx } } });
    onMessages(c.kz, 'kazoo:consumer-event', () => {
      throw new Error('auto-acked');
    });
    publish(x, 'a', { 'Event-Category': 'auto', 'Event-Name': 'ack' });
    publish(x, 'a', 'not json');
    await waitFor(() => c.errors.length === 2, 5_000, 'two error events');
    expect(c.errors.map((e) => e.code).sort()).toEqual(['HANDLER_FAILED', 'INVALID_MESSAGE']);
    expect(await queueCounts(q)).toMatchObject({ messages: 0 });
    expect((await observer.channel.checkQueue(dl.dlq)).messageCount).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------
// Worker lanes

/** Keys k such that consistentWorker(k, 8) is / is not `lane`. */
function keysFor(lane: number, prefix: string, want: 'same' | 'other', count: number): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < count; i++) {
    const key = `${prefix}-${i}`;
    if ((consistentWorker(key, 8) === lane) === (want === 'same')) out.push(key);
  }
  return out;
}

describe('worker lanes (docs/module-behaviour.md#worker-selection)', () => {
  it('consistent-worker: a blocked key holds only the keys of its own core_hash lane', async () => {
    const { kz } = await client({ amqp_consumer_workers: 8 });
    const { x } = await subscribeFresh(kz, { 'consistent-worker': 1, 'consistent-worker-key': 'Call-ID', no_ack: 0, prefetch: 100 });
    const blocker = 'call-blocker';
    const lane = consistentWorker(blocker, 8);
    const same = keysFor(lane, 'same', 'same', 3);
    const other = keysFor(lane, 'other', 'other', 3);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const handled: string[] = [];
    onMessages(kz, 'kazoo:consumer-event', async (ev) => {
      const id = ev.json('Call-ID') as string;
      if (id === blocker) await gate;
      handled.push(id);
    });
    for (const id of [blocker, ...same, ...other]) publish(x, 'one.routing.key', { 'Event-Category': 'c', 'Event-Name': 'n', 'Call-ID': id });
    await waitFor(() => other.every((k) => handled.includes(k)), 10_000, 'the other lanes');
    await sleep(300);
    expect(handled.filter((k) => same.includes(k) || k === blocker)).toEqual([]);
    release();
    await waitFor(() => handled.length === 7, 10_000, 'everything');
    expect(handled.slice(-4)).toEqual([blocker, ...same]);
  });

  it('consistent-worker: hashes the routing key when the key field is absent or null', async () => {
    const { kz } = await client({ amqp_consumer_workers: 8 });
    const { x } = await subscribeFresh(kz, { 'consistent-worker': 1, 'consistent-worker-key': 'Call-ID' });
    const blocker = 'rk.blocker';
    const lane = consistentWorker(blocker, 8);
    const same = keysFor(lane, 'rk.same', 'same', 2);
    const other = keysFor(lane, 'rk.other', 'other', 2);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const handled: string[] = [];
    onMessages(kz, 'kazoo:consumer-event', async (ev) => {
      if (ev.routingKey === blocker) await gate;
      handled.push(ev.routingKey);
    });
    publish(x, blocker, { 'Event-Category': 'c', 'Event-Name': 'n' });
    publish(x, same[0], { 'Event-Category': 'c', 'Event-Name': 'n', 'Call-ID': null });
    publish(x, same[1], { 'Event-Category': 'c', 'Event-Name': 'n' });
    publish(x, other[0], { 'Event-Category': 'c', 'Event-Name': 'n', 'Call-ID': null });
    publish(x, other[1], { 'Event-Category': 'c', 'Event-Name': 'n' });
    await waitFor(() => other.every((k) => handled.includes(k)), 10_000, 'the other lanes');
    await sleep(300);
    expect(handled.filter((k) => k === blocker || same.includes(k))).toEqual([]);
    release();
    await waitFor(() => handled.length === 5, 10_000, 'everything');
    expect(handled.slice(-3)).toEqual([blocker, ...same]);
  });

  it('round-robin: without consistent-worker, consecutive messages use all the lanes', async () => {
    const { kz } = await client({ amqp_consumer_workers: 8 });
    const { x } = await subscribeFresh(kz, { no_ack: 0, prefetch: 100 });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const started: number[] = [];
    const finished: number[] = [];
    const log: string[] = [];
    onMessages(kz, 'kazoo:consumer-event', async (ev) => {
      const seq = ev.data.Seq as number;
      started.push(seq);
      log.push(`start ${seq}`);
      await gate;
      finished.push(seq);
      log.push(`end ${seq}`);
    });
    for (let i = 0; i < 16; i++) publish(x, 'rr', { 'Event-Category': 'c', 'Event-Name': 'n', Seq: i });
    await waitFor(() => started.length === 8, 10_000, 'eight handlers');
    await sleep(300);
    // One per lane: the first eight messages run, the next eight wait behind them.
    expect([...started].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    release();
    await waitFor(() => finished.length === 16, 10_000, 'everything');
    // Message i + 8 shares message i's lane: it starts only after i ended.
    for (let i = 0; i < 8; i++) expect(log.indexOf(`start ${i + 8}`)).toBeGreaterThan(log.indexOf(`end ${i}`));
  });

  it('amqp_consumer_workers 1 runs every handler one after another, in order', async () => {
    const { kz } = await client({ amqp_consumer_workers: 1 });
    const { x } = await subscribeFresh(kz);
    let inFlight = 0;
    let maxInFlight = 0;
    const order: number[] = [];
    onMessages(kz, 'kazoo:consumer-event', async (ev) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await sleep(1);
      order.push(ev.data.Seq as number);
      inFlight--;
    });
    for (let i = 0; i < 50; i++) publish(x, 's', { 'Event-Category': 'c', 'Event-Name': 'n', Seq: i });
    await waitFor(() => order.length === 50, 10_000, 'everything');
    expect(maxInFlight).toBe(1);
    expect(order).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it('100,000 messages through 8 lanes: each handled exactly once, in order per consistent-worker key', async () => {
    const KEYS = 1000;
    const SEQS = 100;
    const TOTAL = KEYS * SEQS;
    const { kz, errors } = await client({ amqp_consumer_workers: 8 });
    const { x, q } = await subscribeFresh(kz, {
      no_ack: 0,
      prefetch: 2000,
      'consistent-worker': 1,
      'consistent-worker-key': 'Call-ID',
    });
    const seen = new Uint8Array(TOTAL);
    const last = new Int32Array(KEYS).fill(-1);
    const busy = new Uint8Array(KEYS);
    let handled = 0;
    let duplicates = 0;
    let outOfOrder = 0;
    let overlapping = 0;
    let inFlight = 0;
    let maxInFlight = 0;
    onMessages(kz, 'kazoo:consumer-event-load-seq', async (ev) => {
      const d = ev.data as { K: number; Seq: number };
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      if (busy[d.K]) overlapping++;
      busy[d.K] = 1;
      const index = d.K * SEQS + d.Seq;
      if (seen[index]) duplicates++;
      seen[index] = 1;
      if (d.Seq !== last[d.K] + 1) outOfOrder++;
      last[d.K] = d.Seq;
      if (d.Seq % 16 === 0) await new Promise((r) => setImmediate(r)); // let other lanes interleave
      busy[d.K] = 0;
      inFlight--;
      handled++;
    });

    // Publish from a separate connection, interleaving keys: seq-major order.
    const pub = await (await import('amqplib')).connect(AMQP_URL);
    try {
      const ch = await pub.createConfirmChannel();
      for (let seq = 0; seq < SEQS; seq++) {
        for (let k = 0; k < KEYS; k++) {
          const body = Buffer.from(`{"Event-Category":"load","Event-Name":"seq","Call-ID":"call-${k}@example.com","K":${k},"Seq":${seq}}`);
          if (!ch.publish(x, 'load', body)) await new Promise((r) => ch.once('drain', r));
        }
      }
      await ch.waitForConfirms();
    } finally {
      await pub.close();
    }
    await waitFor(() => handled >= TOTAL, 90_000, `${TOTAL} handled (got ${handled})`);
    await sleep(200);
    expect({ handled, duplicates, outOfOrder, overlapping }).toEqual({ handled: TOTAL, duplicates: 0, outOfOrder: 0, overlapping: 0 });
    expect(seen.every((v) => v === 1)).toBe(true);
    expect(maxInFlight).toBeLessThanOrEqual(8);
    expect(errors).toEqual([]);
    await waitFor(async () => (await queueCounts(q))?.messages === 0, 20_000, 'every message acked');
  }, 150_000);
});
