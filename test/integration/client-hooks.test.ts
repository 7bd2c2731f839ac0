/**
 * The client's public hooks on a real RabbitMQ: the catch-all handler `eventCallback()` (the
 * module's KEMI `event_callback`, docs/module-behaviour.md#kemi-mode) and the containment of
 * exceptions thrown by `'connection'` and `'error'` listeners (docs/errors.md#listener-exceptions).
 */
import type * as amqplib from 'amqplib';
import { Kazoo, KazooError, type ConnectionEvent, type KazooEvent } from '../../lib';
import { AMQP_URL, deleteEntities, openObserver, uniqueName, waitFor } from '../support/broker';

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

function newClient(): { kz: Kazoo; errors: KazooError[] } {
  const kz = new Kazoo({ node_hostname: `${uniqueName('node')}.test`, amqp_connection: AMQP_URL });
  clients.push(kz);
  const errors: KazooError[] = [];
  kz.on('error', (e: KazooError) => errors.push(e));
  return { kz, errors };
}

async function subscribeFresh(kz: Kazoo, extra: object = {}): Promise<string> {
  const x = uniqueName('x');
  const q = uniqueName('q');
  exchanges.add(x);
  queues.add(q);
  await kz.subscribe({ exchange: x, type: 'topic', queue: q, routing: '#', ...extra });
  return x;
}

function publish(exchange: string, key: string, body: object): void {
  observer.channel.publish(exchange, key, Buffer.from(JSON.stringify(body)));
}

/** Collects the `process.emitWarning` reports of type KazooWarning made while `run` runs. */
async function warningsDuring(run: () => Promise<void>): Promise<Array<{ code?: string; message: string }>> {
  const seen: Array<{ code?: string; message: string }> = [];
  const spy = jest.spyOn(process, 'emitWarning').mockImplementation((warning, options?) => {
    const o = (typeof options === 'object' ? options : {}) as { type?: string; code?: string };
    if (o.type === 'KazooWarning') seen.push({ code: o.code, message: String(warning) });
  });
  try {
    await run();
  } finally {
    spy.mockRestore();
  }
  return seen;
}

describe('eventCallback() (KEMI event_callback)', () => {
  it('takes kazoo:mod-init, connection events and deliveries instead of the routes, until unset', async () => {
    const { kz, errors } = newClient();
    const caught: KazooEvent[] = [];
    const routed: string[] = [];
    for (const name of ['kazoo:mod-init', 'kazoo:consumer-event-connection-open', 'kazoo:consumer-event-presence-update', 'kazoo:consumer-event']) {
      kz.eventRoute(name, (ev) => {
        routed.push(`${name}:${ev.routingKey}`);
      });
    }
    expect(kz.eventCallback((ev) => void caught.push(ev))).toBe(kz);
    await kz.connect();
    await waitFor(() => caught.length >= 2, 10_000, 'mod-init and the open event');
    expect(caught[0].name).toBe('kazoo:mod-init');
    expect(caught[0].payload).toBe('');
    expect(caught[1].name).toBe('kazoo:consumer-event');
    expect(caught[1].data).toMatchObject({ 'Event-Category': 'connection', 'Event-Name': 'open', host: '127.0.0.1' });

    const x = await subscribeFresh(kz);
    publish(x, 'hooks.one', { 'Event-Category': 'presence', 'Event-Name': 'update', n: 1 });
    await waitFor(() => caught.some((ev) => ev.routingKey === 'hooks.one'), 10_000, 'the delivery');
    const delivery = caught.find((ev) => ev.routingKey === 'hooks.one')!;
    expect(delivery.name).toBe('kazoo:consumer-event');
    expect(delivery.exchange).toBe(x);
    expect(delivery.json('n')).toBe('1');
    expect(routed).toEqual([]);

    // undefined restores the route lookup.
    kz.eventCallback(undefined);
    publish(x, 'hooks.two', { 'Event-Category': 'presence', 'Event-Name': 'update' });
    await waitFor(() => routed.length > 0, 10_000, 'the routed delivery');
    expect(routed).toEqual(['kazoo:consumer-event-presence-update:hooks.two']);
    expect(caught.some((ev) => ev.routingKey === 'hooks.two')).toBe(false);
    expect(errors).toEqual([]);
  });

  it('follows the route rules on failure: HANDLER_FAILED reported, a no_ack 0 message nacked', async () => {
    const { kz, errors } = newClient();
    await kz.connect();
    const x = await subscribeFresh(kz, { no_ack: 0 });
    const q = [...queues].pop()!;
    kz.eventCallback((ev) => {
      if (ev.routingKey === 'hooks.fail') throw new Error('catch-all refused it');
    });
    publish(x, 'hooks.fail', { 'Event-Category': 'c', 'Event-Name': 'n' });
    await waitFor(() => errors.length > 0, 10_000, 'HANDLER_FAILED');
    expect(errors[0]).toBeInstanceOf(KazooError);
    expect(errors[0]).toMatchObject({ code: 'HANDLER_FAILED' });
    expect(errors[0].message).toContain('kazoo:consumer-event failed: catch-all refused it');
    // Nacked without requeue (requeue_on_error 0): the queue is empty, nothing unacked.
    await waitFor(async () => (await observer.channel.checkQueue(q)).messageCount === 0, 5_000, 'the nack');
  });

  it('fails connect() with HANDLER_FAILED when it throws on kazoo:mod-init', async () => {
    const { kz } = newClient();
    kz.eventCallback((ev) => {
      if (ev.name === 'kazoo:mod-init') throw new Error('no start');
    });
    await expect(kz.connect()).rejects.toMatchObject({ code: 'HANDLER_FAILED' });
    expect(kz.connected).toBe(false);
  });

  it('rejects a handler that is neither a function nor undefined with INVALID_ARGUMENT', () => {
    const { kz } = newClient();
    expect(() => kz.eventCallback('kazoo:consumer-event' as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', message: 'kazoo: handler must be a function or undefined, got "kazoo:consumer-event"' }),
    );
  });
});

describe("listener exceptions (contained per listener)", () => {
  it("a throwing 'connection' listener costs no publish, no other listener and no connection route", async () => {
    const { kz, errors } = newClient();
    const seen: ConnectionEvent[] = [];
    let routeRan = 0;
    kz.on('connection', () => {
      throw new Error('listener bug');
    });
    kz.on('connection', (e: ConnectionEvent) => seen.push(e));
    kz.eventRoute('kazoo:consumer-event-connection-open', () => {
      routeRan++;
    });
    await kz.connect();
    const x = await subscribeFresh(kz);
    const got: string[] = [];
    kz.eventRoute('kazoo:consumer-event-hooks-msg', (ev) => void got.push(ev.routingKey));
    await Promise.all(Array.from({ length: 200 }, (_, i) => kz.publish(x, `k.${i}`, { 'Event-Category': 'hooks', 'Event-Name': 'msg' })));
    await waitFor(() => got.length === 200, 10_000, '200 deliveries');
    await waitFor(() => routeRan >= 2, 5_000, 'the connection-open route of both links');
    expect(seen.map((e) => `${e.role}:${e.event}`)).toEqual(['producer:open', 'consumer:open']);
    const failed = errors.filter((e) => e.code === 'LISTENER_FAILED');
    expect(failed).toHaveLength(2);
    expect(failed[0].message).toBe("kazoo: a 'connection' listener threw: listener bug");
    expect(failed[0].details).toMatchObject({ listener: 'connection', host: '127.0.0.1' });
    expect(errors.filter((e) => e.code !== 'LISTENER_FAILED')).toEqual([]);
  });

  it("reports a throwing 'connection' listener as a warning when there is no 'error' listener", async () => {
    const kz = new Kazoo({ node_hostname: `${uniqueName('node')}.test`, amqp_connection: AMQP_URL });
    clients.push(kz);
    kz.once('connection', () => {
      throw new Error('once and broken');
    });
    const warnings = await warningsDuring(async () => {
      await kz.connect();
      await kz.publish('', uniqueName('nowhere'), {});
    });
    expect(warnings.map((w) => [w.code, w.message])).toEqual([['KAZOO_LISTENER_FAILED', "kazoo: a 'connection' listener threw: once and broken"]]);
    expect(kz.listenerCount('connection')).toBe(0);
  });

  it("a throwing 'error' listener becomes a warning and the other deliveries still run", async () => {
    const kz = new Kazoo({ node_hostname: `${uniqueName('node')}.test`, amqp_connection: AMQP_URL });
    clients.push(kz);
    const errors: KazooError[] = [];
    kz.on('error', () => {
      throw new Error('error listener bug');
    });
    kz.on('error', (e: KazooError) => errors.push(e));
    const got: string[] = [];
    kz.eventRoute('kazoo:consumer-event-hooks-ok', (ev) => void got.push(ev.routingKey));
    const warnings = await warningsDuring(async () => {
      await kz.connect();
      const x = await subscribeFresh(kz);
      for (let i = 0; i < 20; i++) {
        // Every other message has no route: each NO_ROUTE report meets the throwing listener.
        publish(x, `m.${i}`, { 'Event-Category': 'hooks', 'Event-Name': i % 2 === 0 ? 'ok' : 'unrouted' });
      }
      await waitFor(() => got.length === 10 && errors.length === 10, 10_000, '10 deliveries and 10 NO_ROUTE reports');
    });
    expect(errors.every((e) => e.code === 'NO_ROUTE')).toBe(true);
    expect(warnings).toHaveLength(10);
    expect(warnings[0].code).toBe('KAZOO_LISTENER_FAILED');
    expect(warnings[0].message).toMatch(/^kazoo: an 'error' listener threw: error listener bug \(while reporting: kazoo: no event route for /);
  });
});
