/**
 * Fault injection through a loopback TCP proxy (test/support/tcp-proxy.ts) in front of the real
 * broker (issue 8): a stalled broker never stops query deadlines or close(), publishes survive
 * connections cut under them, a refusing first URL fails over to the second, and the bounds of
 * the reconnect buffer and the publish timeout hold.
 */
import type * as amqplib from 'amqplib';
import { Kazoo, KazooError, type KazooConfig } from '../../lib';
import { AMQP_URL, drainQueue, openObserver, uniqueName, waitFor } from '../support/broker';
import { TcpProxy } from '../support/tcp-proxy';

jest.setTimeout(60_000);

let proxy: TcpProxy;
let observer: { connection: amqplib.ChannelModel; channel: amqplib.Channel };
let exchange: string;
let queue: string;
const clients: Kazoo[] = [];

function client(config: Partial<KazooConfig> & Pick<KazooConfig, 'amqp_connection'>): Kazoo {
  const kazoo = new Kazoo({ node_hostname: `${uniqueName('faults')}.test`, ...config });
  kazoo.on('error', () => undefined);
  clients.push(kazoo);
  return kazoo;
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'resolved';
  } catch (error) {
    return error instanceof KazooError ? error.code : String(error);
  }
}

beforeEach(async () => {
  proxy = await TcpProxy.start();
  observer = await openObserver();
  exchange = uniqueName('faults-x');
  queue = uniqueName('faults-q');
  await observer.channel.assertExchange(exchange, 'topic', { durable: false, autoDelete: false });
  await observer.channel.assertQueue(queue, { durable: false, autoDelete: false });
  await observer.channel.bindQueue(queue, exchange, '#');
});

afterEach(async () => {
  proxy.resume();
  await Promise.all(clients.splice(0).map((k) => k.close().catch(() => undefined)));
  await proxy.close();
  await observer.channel.deleteQueue(queue).catch(() => undefined);
  await observer.channel.deleteExchange(exchange).catch(() => undefined);
  await observer.connection.close().catch(() => undefined);
});

describe('a stalled broker (sockets open, nothing forwarded, heartbeats off)', () => {
  it('still times a query out on time and lets close() return', async () => {
    const kazoo = client({ amqp_connection: proxy.url() });
    await kazoo.connect();
    proxy.stall();
    const started = Date.now();
    const code = await codeOf(kazoo.query(exchange, 'rpc.stalled', { Q: 1 }, { timeoutMs: 500 }));
    const queryMs = Date.now() - started;
    expect(code).toBe('QUERY_TIMEOUT');
    expect(queryMs).toBeLessThan(1200);

    // A publish to a new exchange waits for its exchange check: it too settles (CLOSED) on close().
    const pending = codeOf(kazoo.publish(uniqueName('never-checked'), 'k', { P: 1 }));
    const closing = Date.now();
    await kazoo.close();
    expect(Date.now() - closing).toBeLessThan(3500);
    expect(await pending).toBe('CLOSED');
  });

  it('rejects an unconfirmed publish with PUBLISH_TIMEOUT when no confirm comes', async () => {
    const kazoo = client({ amqp_connection: proxy.url(), amqp_publish_timeout_ms: 300 });
    await kazoo.connect();
    await kazoo.publish(exchange, 'warm', { W: 1 }); // the exchange is checked before the stall
    proxy.stall();
    const started = Date.now();
    expect(await codeOf(kazoo.publish(exchange, 'k', { P: 1 }))).toBe('PUBLISH_TIMEOUT');
    expect(Date.now() - started).toBeLessThan(1500);
  });
});

describe('connections cut under publishes (confirms on)', () => {
  it('resolves all 3,000 publishes and delivers all of them, with the connection cut twice', async () => {
    const kazoo = client({ amqp_connection: proxy.url() });
    let opens = 0;
    kazoo.on('connection', (event: { event: string }) => {
      if (event.event === 'open') opens += 1;
    });
    await kazoo.connect();
    const total = 3000;
    const promises: Array<Promise<void>> = [];
    for (let i = 0; i < total; i += 1) {
      promises.push(kazoo.publish(exchange, 'cut.test', { Seq: i }));
      if (i === 1000) proxy.cut();
      if (i === 2000) {
        // The second cut hits the reconnected connection, with publishes in flight again.
        await waitFor(() => opens >= 2, 10_000, 'the reconnect after the first cut');
        proxy.cut();
      }
      if (i % 100 === 99) await new Promise((r) => setImmediate(r));
    }
    const outcomes = await Promise.allSettled(promises);
    const rejected = outcomes.filter((o) => o.status === 'rejected') as PromiseRejectedResult[];
    expect(rejected.map((r) => (r.reason as KazooError).code)).toEqual([]);
    expect(opens).toBeGreaterThanOrEqual(3);

    // Duplicates are allowed (a publish whose confirm was lost is sent again): count distinct ones.
    const seen = new Set<number>();
    await waitFor(async () => {
      const messages = await drainQueue(observer.channel, queue, 0, 200).catch(() => []);
      for (const m of messages) seen.add(JSON.parse(m.content.toString()).Seq as number);
      return seen.size >= total;
    }, 20_000, 'all 3,000 messages in the queue');
    expect(seen.size).toBe(total);
  });

  it('keeps publishes made while reconnecting and sends them once the broker is back', async () => {
    const kazoo = client({ amqp_connection: proxy.url(), amqp_reconnect_min_ms: 200 });
    await kazoo.connect();
    await kazoo.publish(exchange, 'warm', { Seq: -1 });
    proxy.refuse(true);
    proxy.cut();
    await waitFor(() => proxy.accepted >= 2, 5000, 'a refused reconnect');
    const held = Array.from({ length: 20 }, (_, i) => kazoo.publish(exchange, 'held', { Seq: i }));
    proxy.refuse(false);
    await Promise.all(held);
    const messages = await drainQueue(observer.channel, queue, 21);
    expect(messages.length).toBeGreaterThanOrEqual(21);
  });

  it('rejects at once with PUBLISH_BUFFER_FULL when the reconnect buffer is full', async () => {
    const kazoo = client({ amqp_connection: proxy.url(), amqp_publish_buffer_count: 5 });
    await kazoo.connect();
    proxy.refuse(true);
    proxy.cut();
    await waitFor(() => proxy.accepted >= 2, 5000, 'a refused reconnect');
    const kept = Array.from({ length: 5 }, (_, i) => kazoo.publish(exchange, 'held', { Seq: i }));
    expect(await codeOf(kazoo.publish(exchange, 'held', { Seq: 5 }))).toBe('PUBLISH_BUFFER_FULL');
    proxy.refuse(false);
    await Promise.all(kept);
  });
});

describe('failover', () => {
  it('connects through the second URL when the first refuses, and publishes there', async () => {
    proxy.refuse(true);
    const kazoo = client({ amqp_connection: [proxy.url(), AMQP_URL] });
    await kazoo.connect();
    await kazoo.publish(exchange, 'failover', { F: 1 });
    expect(await drainQueue(observer.channel, queue, 1)).toHaveLength(1);
  });
});

describe('the exclusive reply queue', () => {
  it('refuses a second live node with the same node_hostname with a clear reason', async () => {
    const node = `${uniqueName('dup')}.test`;
    const first = client({ node_hostname: node, amqp_connection: AMQP_URL });
    await first.connect();
    const second = client({ node_hostname: node, amqp_connection: AMQP_URL });
    const messages: string[] = [];
    second.on('error', (e: Error) => messages.push(e.message));
    expect(await codeOf(second.connect())).toBe('CONNECT_FAILED');
    expect(messages.join('\n')).toMatch(/node_hostname must be unique/);
  });
});

describe('liveness and bounds', () => {
  it('keeps the connection through 10 s of blocked event loop with amqp_heartbeats: 1', async () => {
    // Straight to the broker: the proxy runs on this (blocked) JS thread.
    const kazoo = client({ amqp_connection: AMQP_URL, amqp_heartbeats: 1 });
    const events: string[] = [];
    kazoo.on('connection', (event: { role: string; event: string }) => events.push(`${event.role}:${event.event}`));
    await kazoo.connect();
    const until = Date.now() + 10_000;
    while (Date.now() < until) {
      // The JS thread is busy; the I/O thread keeps sending and receiving heartbeats.
    }
    await new Promise((r) => setTimeout(r, 100));
    expect(events).not.toContain('producer:closed');
    await kazoo.publish(exchange, 'after.block', { B: 1 });
    expect(await drainQueue(observer.channel, queue, 1)).toHaveLength(1);
    expect(events).toEqual(['producer:open']);
  }, 30_000);

  it('refuses headers that do not fit in one frame with INVALID_ARGUMENT, sending nothing', async () => {
    const kazoo = client({ amqp_connection: AMQP_URL });
    await kazoo.connect();
    const error = await kazoo.publish(exchange, 'big', { B: 1 }, { headers: { 'X-Big': 'x'.repeat(140_000) } }).catch((e: KazooError) => e);
    expect(error).toBeInstanceOf(KazooError);
    expect((error as KazooError).code).toBe('INVALID_ARGUMENT');
    expect((error as KazooError).message).toMatch(/frame_max/);
    await kazoo.publish(exchange, 'marker', { M: 1 });
    const messages = await drainQueue(observer.channel, queue, 1);
    await new Promise((r) => setTimeout(r, 100));
    expect(await observer.channel.get(queue, { noAck: true })).toBe(false);
    expect(messages.map((m) => m.fields.routingKey)).toEqual(['marker']);
  });

  it('refuses a Msg-ID with a NUL character with INVALID_ARGUMENT', async () => {
    const kazoo = client({ amqp_connection: AMQP_URL });
    await kazoo.connect();
    expect(await codeOf(kazoo.publish(exchange, 'nul', '{"Msg-ID": "a\\u0000b"}'))).toBe('INVALID_ARGUMENT');
  });
});
