/**
 * The two client methods the KEMI shim stands on: `querySync()` (blocks the JS thread on the
 * native pending query) and `eventCallback()` (KEMI mode's catch-all, docs/module-behaviour.md#kemi-mode).
 */
import { Kazoo, KazooError, type KazooEvent } from '../../lib';
import { AMQP_URL, connectedKazoo, openObserver, uniqueName, waitFor } from '../support/broker';
import { Worker } from 'node:worker_threads';

let clients: Kazoo[] = [];
let responders: ThreadResponder[] = [];

afterEach(async () => {
  await Promise.allSettled([...clients.map((c) => c.close()), ...responders.map((r) => r.stop())]);
  clients = [];
  responders = [];
});

// querySync() blocks this thread, so the responder must answer from another one: a worker with
// amqplib that replies as Kazoo does (targeted exchange, the request's Server-ID and Msg-ID).
const RESPONDER = `
const { parentPort, workerData } = require('node:worker_threads');
const amqplib = require('amqplib');
(async () => {
  const connection = await amqplib.connect(workerData.url);
  const ch = await connection.createChannel();
  await ch.assertExchange(workerData.exchange, 'topic', { durable: false, autoDelete: true });
  await ch.assertExchange('targeted', 'direct', { durable: false });
  const q = (await ch.assertQueue('', { exclusive: true })).queue;
  await ch.bindQueue(q, workerData.exchange, '#');
  await ch.consume(q, (m) => {
    const b = JSON.parse(m.content.toString());
    setTimeout(() => {
      const reply = { 'Event-Category': 'x', 'Event-Name': 'y_resp', 'Msg-ID': b['Msg-ID'], Token: b.Token, 'Server-ID': 'app@test' };
      ch.publish('targeted', b['Server-ID'], Buffer.from(JSON.stringify(reply)), { contentType: 'application/json' });
      parentPort.postMessage({ replied: b.Token });
    }, b['Delay-Ms'] || 0);
  }, { noAck: true });
  parentPort.postMessage('ready');
  parentPort.on('message', async () => {
    await connection.close();
    parentPort.postMessage('closed');
  });
})().catch((e) => parentPort.postMessage({ error: String(e) }));
`;

class ThreadResponder {
  readonly exchange = uniqueName('sync-x');
  readonly replied: unknown[] = [];
  private readonly worker: Worker;
  private constructor() {
    this.worker = new Worker(RESPONDER, { eval: true, workerData: { url: AMQP_URL, exchange: this.exchange } });
    this.worker.on('message', (m: { replied?: unknown }) => {
      if (m && typeof m === 'object' && 'replied' in m) this.replied.push(m.replied);
    });
  }
  static async start(): Promise<ThreadResponder> {
    const r = new ThreadResponder();
    await new Promise<void>((resolve, reject) =>
      r.worker.on('message', (m: unknown) => (m === 'ready' ? resolve() : m && typeof m === 'object' && 'error' in m ? reject(new Error(String((m as { error: unknown }).error))) : undefined)),
    );
    return r;
  }
  async stop(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.worker.on('message', (m: unknown) => m === 'closed' && resolve()));
    this.worker.postMessage('stop');
    await Promise.race([closed, new Promise((r) => setTimeout(r, 2000).unref())]);
    await this.worker.terminate();
  }
}

function thrown(f: () => unknown): KazooError {
  try {
    f();
  } catch (error) {
    expect(error).toBeInstanceOf(KazooError);
    return error as KazooError;
  }
  throw new Error('expected a KazooError');
}

describe('querySync()', () => {
  it('returns the correlated reply ($kzR) and blocks timers meanwhile', async () => {
    const responder = await ThreadResponder.start();
    responders.push(responder);
    const kz = await connectedKazoo();
    clients.push(kz);
    let timerRan = false;
    setTimeout(() => (timerRan = true), 0);
    const reply = kz.querySync(responder.exchange, 'q', { 'Event-Category': 'x', 'Event-Name': 'y', Token: 'sync-1', 'Delay-Ms': 150 });
    // The JS thread was blocked for the whole round trip: a due timer could not run.
    expect(timerRan).toBe(false);
    expect(reply.json('Token')).toBe('sync-1');
    expect(reply.json('AMQP-Broker-Zone')).toBe('local');
    expect(reply.elapsedMs).toBeGreaterThanOrEqual(140);
  });

  it('throws QUERY_TIMEOUT after the timeout, then later replies do not disturb the client', async () => {
    const responder = await ThreadResponder.start();
    responders.push(responder);
    const kz = await connectedKazoo({ query_late_replies: 'drop' });
    clients.push(kz);
    const started = Date.now();
    const error = thrown(() => kz.querySync(responder.exchange, 'q', { Token: 'late', 'Delay-Ms': 600 }, { timeoutMs: 300 }));
    expect(error.code).toBe('QUERY_TIMEOUT');
    expect(error.details).toMatchObject({ exchange: responder.exchange, routingKey: 'q' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    await waitFor(() => responder.replied.includes('late'), 5000, 'the late reply');
    // The client still works afterwards, asynchronously and synchronously.
    const reply = await kz.query(responder.exchange, 'q', { Token: 'after' });
    expect(reply.json('Token')).toBe('after');
    expect(kz.querySync(responder.exchange, 'q', { Token: 'after-sync' }).json('Token')).toBe('after-sync');
  });

  it('throws validation errors and NOT_CONNECTED synchronously, sending nothing', async () => {
    const kz = new Kazoo({ node_hostname: `${uniqueName('n')}.test`, amqp_connection: AMQP_URL });
    clients.push(kz);
    expect(thrown(() => kz.querySync('x', 'q', '{}')).code).toBe('NOT_CONNECTED');
    await kz.connect();
    expect(thrown(() => kz.querySync('x', 'k'.repeat(256), '{}')).code).toBe('ROUTING_KEY_TOO_LONG');
    expect(thrown(() => kz.querySync('x', 'q', '{}', { timeoutMs: 0 })).code).toBe('INVALID_ARGUMENT');
    expect(thrown(() => kz.querySync('x', 'q', '{nope')).code).toBe('INVALID_JSON');
  });
});

describe('eventCallback()', () => {
  it('receives kazoo:mod-init, connection events and every delivery instead of the routes', async () => {
    const kz = new Kazoo({ node_hostname: `${uniqueName('n')}.test`, amqp_connection: AMQP_URL });
    clients.push(kz);
    const seen: Array<{ name: string; payload: string; routingKey: string }> = [];
    const routed: string[] = [];
    const exchange = uniqueName('cb-x');
    kz.eventRoute('kazoo:consumer-event', (e) => void routed.push(e.payload));
    kz.eventRoute('kazoo:mod-init', () => void routed.push('mod-init'));
    kz.eventCallback(async (e: KazooEvent) => {
      seen.push({ name: e.name, payload: e.payload, routingKey: e.routingKey });
      if (e.name === 'kazoo:mod-init') await kz.subscribe({ exchange, type: 'topic', queue: uniqueName('cb-q'), routing: 'cb.#', auto_delete: 1 });
    });
    await kz.connect();
    expect(seen[0]).toEqual({ name: 'kazoo:mod-init', payload: '', routingKey: '' });
    const { connection, channel } = await openObserver();
    try {
      channel.publish(exchange, 'cb.1', Buffer.from('{"Event-Category":"presence","Event-Name":"update"}'));
      await waitFor(() => seen.find((s) => s.routingKey === 'cb.1'), 10_000, 'the delivery');
      expect(seen.find((s) => s.routingKey === 'cb.1')).toMatchObject({ name: 'kazoo:consumer-event' });
      expect(seen.some((s) => s.name === 'kazoo:consumer-event' && /"Event-Category" : "connection"/.test(s.payload))).toBe(true);
      expect(routed).toEqual([]);
      // undefined restores the route lookup.
      kz.eventCallback(undefined);
      channel.publish(exchange, 'cb.2', Buffer.from('{"Event-Category":"presence","Event-Name":"update"}'));
      await waitFor(() => routed.length === 1, 10_000, 'the routed delivery');
      await channel.deleteExchange(exchange);
    } finally {
      await connection.close();
    }
    expect(() => kz.eventCallback('nope' as never)).toThrow(/handler must be a function or undefined/);
  });
});
