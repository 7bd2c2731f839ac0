/**
 * publish() against the real broker: what goes on the wire is compared byte for byte with the
 * module's format (docs/module-behaviour.md#publish, as observed on Kamailio 5.6.3), bad input sends nothing, and broker
 * refusals neither lose later messages nor go unnoticed.
 */
import type * as amqplib from 'amqplib';
import { DEFAULTS, Kazoo, KazooError } from '../../lib';
import { AMQP_URL, connectedKazoo, drainQueue, openObserver, uniqueName, waitFor } from '../support/broker';
import { rabbitmqctlSync } from '../support/rabbitmqctl';
import { TcpProxy } from '../support/tcp-proxy';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
// Unique per run: the reply queue is exclusive, so two live clients (or two test runs on one
// broker) must not share a node_hostname.
const NODE = `${uniqueName('sip')}.example.com`;

let observer: { connection: amqplib.ChannelModel; channel: amqplib.Channel };
let exchange: string;
let queue: string;
let kazoo: Kazoo;

beforeAll(async () => {
  observer = await openObserver();
  exchange = uniqueName('pub-x');
  queue = uniqueName('pub-q');
  await observer.channel.assertExchange(exchange, 'topic', { durable: false, autoDelete: false });
  await observer.channel.assertQueue(queue, { durable: false, autoDelete: false });
  await observer.channel.bindQueue(queue, exchange, '#');
  kazoo = await connectedKazoo({ node_hostname: NODE, amqp_max_channels: 4 });
});

afterAll(async () => {
  await kazoo?.close();
  await observer.channel.deleteQueue(queue);
  await observer.channel.deleteExchange(exchange);
  await observer.connection.close();
});

afterEach(async () => {
  await observer.channel.purgeQueue(queue);
});

/** Publishes and returns the one message the broker routed to the test queue. */
async function publishAndGet(payload: string | object, options?: Parameters<Kazoo['publish']>[3], routingKey = 'a.b') {
  await kazoo.publish(exchange, routingKey, payload, options);
  const [message] = await drainQueue(observer.channel, queue, 1);
  return message;
}

/** The module's injected tail for a body, taking the generated Msg-ID and channel from it. */
function injectedTail(body: string): string {
  const msgId = /"Msg-ID": "([^"]*)"/.exec(body)?.[1] ?? '';
  const serverId = /"Server-ID": "([^"]*)"/.exec(body)?.[1] ?? '';
  expect(msgId).toMatch(UUID_V4);
  expect(serverId).toMatch(new RegExp(`^kamailio@${NODE.replace(/\./g, '\\.')}-<1>-targeted-[0-3]$`));
  return (
    `"App-Name": "kamailio", "App-Version": "${DEFAULTS.app_version}", "Node": "kamailio@${NODE}", ` +
    `"Msg-ID": "${msgId}", "Server-ID": "${serverId}" }`
  );
}

describe('publish()', () => {
  it('puts the module\'s body for the example payload on the wire, byte for byte (docs/module-behaviour.md#publish)', async () => {
    const payload =
      "{'Event-Category' : 'call_event' , 'Event-Name' : 'query_user_channels_req', 'Realm' : 'example.com', 'Username' : '1000', 'Active-Only' : false }";
    const message = await publishAndGet(payload);
    const body = message.content.toString('utf8');
    expect(body).toBe(
      '{ "Event-Category": "call_event", "Event-Name": "query_user_channels_req", "Realm": "example.com", ' +
        `"Username": "1000", "Active-Only": false, ${injectedTail(body)}`,
    );
  });

  it('sets only content_type application/json, no delivery mode or ids', async () => {
    const message = await publishAndGet({ 'Event-Category': 'directory', 'Event-Name': 'reg_success' });
    const p = message.properties;
    expect(p.contentType).toBe('application/json');
    expect(p.headers ?? {}).toEqual({});
    for (const absent of ['deliveryMode', 'messageId', 'correlationId', 'replyTo', 'appId', 'timestamp', 'type', 'userId', 'expiration', 'contentEncoding', 'priority'] as const) {
      expect(p[absent]).toBeUndefined();
    }
    expect(message.fields.exchange).toBe(exchange);
    expect(message.fields.routingKey).toBe('a.b');
  });

  const lenient: Array<[string, string, string]> = [
    ['single quotes', "{'a' : 'b'}", '{ "a": "b", '],
    ['comments', '{"a":1 /* block */, // line\n "b":2}', '{ "a": 1, "b": 2, '],
    ['trailing commas', '{"a":[1,2,],"o":{"x":1,},}', '{ "a": [ 1, 2 ], "o": { "x": 1 }, '],
    ['duplicate keys (last value, first position)', '{"a":1,"b":2,"a":3}', '{ "a": 3, "b": 2, '],
    ['doubles keep their text', '{"p":12.50,"e":1e3,"n":-0.0}', '{ "p": 12.50, "e": 1e3, "n": -0.0, '],
    ['slash escaping', '{"u":"http://x/y"}', '{ "u": "http:\\/\\/x\\/y", '],
    ['control characters as lowercase \\u00XX', '{"c":"x\\u0001y\\u001f\\n\\t"}', '{ "c": "x\\u0001y\\u001f\\n\\t", '],
    ['non-ASCII written raw', '{"n":"é€","m":"\\u00e9"}', '{ "n": "é€", "m": "é", '],
    ['literals in any case', '{"t":TRUE,"f":False,"z":NULL}', '{ "t": true, "f": false, "z": null, '],
    ['leading zeros', '{"z":007}', '{ "z": 7, '],
    ['trailing garbage after the object', '{"a":1} xyz', '{ "a": 1, '],
    ['empty object', '{}', '{ '],
    ['nested empties', '{"o":{},"l":[]}', '{ "o": { }, "l": [ ], '],
  ];
  it.each(lenient)('re-serializes lenient input like json-c: %s', async (_name, input, expectedHead) => {
    const message = await publishAndGet(input);
    const body = message.content.toString('utf8');
    expect(body).toBe(expectedHead + injectedTail(body));
  });

  it('keeps App-Name, App-Version, Node, Msg-ID and Server-ID the payload already has', async () => {
    const given = {
      'Event-Category': 'x',
      'Server-ID': 'ecallmgr@fs1-<0.1.0>',
      'Msg-ID': 'mine',
      Node: 'n@h',
      'App-Name': 'app',
      'App-Version': '9',
    };
    const body = (await publishAndGet(given)).content.toString('utf8');
    expect(body).toBe(
      '{ "Event-Category": "x", "Server-ID": "ecallmgr@fs1-<0.1.0>", "Msg-ID": "mine", "Node": "n@h", "App-Name": "app", "App-Version": "9" }',
    );
  });

  it('adds only the missing fields, in the module order', async () => {
    const body = (await publishAndGet({ Node: 'given', 'Event-Category': 'x' })).content.toString('utf8');
    expect(body).toMatch(/^\{ "Node": "given", "Event-Category": "x", "App-Name": "kamailio", "App-Version": "[^"]+", "Msg-ID": "[^"]+", "Server-ID": "[^"]+" \}$/);
  });

  it('generates a fresh lowercase UUID v4 Msg-ID for every publish', async () => {
    const ids = new Set<string>();
    await Promise.all(Array.from({ length: 200 }, () => kazoo.publish(exchange, 'a.b', '{}')));
    const messages = await drainQueue(observer.channel, queue, 200);
    for (const m of messages) ids.add(JSON.parse(m.content.toString())['Msg-ID']);
    expect(ids.size).toBe(200);
    for (const id of ids) expect(id).toMatch(UUID_V4);
  });

  it('spreads publishes over the preallocated channels round-robin (Server-ID names the channel)', async () => {
    await Promise.all(Array.from({ length: 8 }, () => kazoo.publish(exchange, 'a.b', '{}')));
    const messages = await drainQueue(observer.channel, queue, 8);
    const channels = new Set(messages.map((m) => /targeted-(\d+)"/.exec(m.content.toString())?.[1]));
    expect([...channels].sort()).toEqual(['0', '1', '2', '3']);
  });

  it('sends the module header string as long-string headers, in order', async () => {
    const message = await publishAndGet('{}', { headers: 'X-Peer=10.0.0.1;X-Other=a b ;k=v=w' });
    expect(message.properties.headers).toEqual({ 'X-Peer': '10.0.0.1', 'X-Other': 'a b ', k: 'v' });
    expect(Object.keys(message.properties.headers ?? {})).toEqual(['X-Peer', 'X-Other', 'k']);
  });

  it('sends record headers', async () => {
    const message = await publishAndGet('{}', { headers: { 'X-Peer': '10.0.0.2' } });
    expect(message.properties.headers).toEqual({ 'X-Peer': '10.0.0.2' });
  });

  it('routes consumer://<server-id>/<key> through that server with the real key', async () => {
    const message = await publishAndGet('{}', undefined, 'consumer://1/reply.key');
    expect(message.fields.routingKey).toBe('reply.key');
  });

  it('resolves once written when amqp_publisher_confirms is 0, and the message arrives', async () => {
    const fast = await connectedKazoo({ amqp_publisher_confirms: 0 });
    try {
      await Promise.all(Array.from({ length: 500 }, (_, i) => fast.publish(exchange, 'a.b', { Seq: i })));
      const messages = await drainQueue(observer.channel, queue, 500);
      expect(messages).toHaveLength(500);
    } finally {
      await fast.close();
    }
  });
});

describe('publish() with bad input', () => {
  async function expectNothingSent(): Promise<void> {
    // A marker published after the bad one must be the only message that arrived.
    await kazoo.publish(exchange, 'marker', '{"marker":1}');
    const messages = await drainQueue(observer.channel, queue, 1);
    await new Promise((r) => setTimeout(r, 50));
    const late = await observer.channel.get(queue, { noAck: true });
    expect(late).toBe(false);
    expect(messages.map((m) => m.fields.routingKey)).toEqual(['marker']);
  }

  async function rejection(promise: Promise<unknown>): Promise<KazooError> {
    try {
      await promise;
    } catch (error) {
      expect((error as Error).name).toBe('KazooError');
      return error as KazooError;
    }
    throw new Error('expected a rejection');
  }

  it('rejects INVALID_JSON with the position and sends nothing', async () => {
    const error = await rejection(kazoo.publish(exchange, 'a.b', '{"a":1,,}'));
    expect(error.code).toBe('INVALID_JSON');
    expect(error.details.position).toBe(7);
    expect(error.details.exchange).toBe(exchange);
    await expectNothingSent();
  });

  it.each([['[1,2]'], ['"text"'], ['42'], ['null'], ['']])('rejects the non-object payload %p with INVALID_JSON', async (payload) => {
    const error = await rejection(kazoo.publish(exchange, 'a.b', payload));
    expect(error.code).toBe('INVALID_JSON');
    await expectNothingSent();
  });

  it('rejects a routing key over 255 bytes with ROUTING_KEY_TOO_LONG, counting UTF-8 bytes', async () => {
    expect((await rejection(kazoo.publish(exchange, 'k'.repeat(256), '{}'))).code).toBe('ROUTING_KEY_TOO_LONG');
    expect((await rejection(kazoo.publish(exchange, 'é'.repeat(128), '{}'))).code).toBe('ROUTING_KEY_TOO_LONG');
    await kazoo.publish(exchange, 'k'.repeat(255), '{}');
    const [m] = await drainQueue(observer.channel, queue, 1);
    expect(m.fields.routingKey).toHaveLength(255);
  });

  it('rejects an exchange name over 255 bytes with EXCHANGE_NAME_TOO_LONG', async () => {
    expect((await rejection(kazoo.publish('x'.repeat(256), 'a', '{}'))).code).toBe('EXCHANGE_NAME_TOO_LONG');
    await expectNothingSent();
  });

  it.each([['consumer://9/key'], ['consumer://x/key'], ['consumer://1'], ['consumer:///key']])(
    'rejects the malformed or unknown consumer routing key %p with INVALID_ROUTING_KEY',
    async (key) => {
      expect((await rejection(kazoo.publish(exchange, key, '{}'))).code).toBe('INVALID_ROUTING_KEY');
      await expectNothingSent();
    },
  );

  it.each([
    ['exchange', () => kazoo.publish(42 as unknown as string, 'a', '{}')],
    ['routingKey', () => kazoo.publish(exchange, null as unknown as string, '{}')],
    ['payload', () => kazoo.publish(exchange, 'a', [1] as unknown as object)],
    ['headers', () => kazoo.publish(exchange, 'a', '{}', { headers: 'novalue' })],
  ])('rejects a bad %s with INVALID_ARGUMENT naming it', async (param, call) => {
    const error = await rejection(call());
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toContain(param);
    await expectNothingSent();
  });
});

describe('publish() and broker refusals', () => {
  it('rejects BROKER_REFUSED 404 for a missing exchange, and later publishes on every channel still arrive', async () => {
    let error: KazooError | undefined;
    try {
      await kazoo.publish(uniqueName('missing'), 'a', '{}');
    } catch (e) {
      error = e as KazooError;
    }
    expect(error?.code).toBe('BROKER_REFUSED');
    expect(error?.details.replyCode).toBe(404);
    // 4 channels: 12 publishes visit each channel three times.
    await Promise.all(Array.from({ length: 12 }, (_, i) => kazoo.publish(exchange, 'a.b', { Seq: i })));
    const messages = await drainQueue(observer.channel, queue, 12);
    expect(messages.map((m) => JSON.parse(m.content.toString()).Seq).sort((a, b) => a - b)).toEqual([...Array(12).keys()]);
  });

  it('reports publishes to an exchange deleted under it, reopens the channel and keeps publishing', async () => {
    const doomed = uniqueName('doomed');
    await observer.channel.assertExchange(doomed, 'fanout', { durable: false });
    await kazoo.publish(doomed, 'a', '{}'); // now a known exchange
    await observer.channel.deleteExchange(doomed);
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => kazoo.publish(doomed, 'a', '{}')));
    const codes = results.map((r) => (r.status === 'rejected' ? (r.reason as KazooError).code : 'ok'));
    // The first publish after the deletion is checked again or refused; none resolves as delivered.
    expect(codes.every((c) => c === 'BROKER_REFUSED')).toBe(true);
    await Promise.all(Array.from({ length: 8 }, (_, i) => kazoo.publish(exchange, 'a.b', { Seq: i })));
    expect(await drainQueue(observer.channel, queue, 8)).toHaveLength(8);
  });
});

describe('publish() and the connection state', () => {
  it('rejects NOT_CONNECTED before connect() and after close()', async () => {
    const client = new Kazoo({ node_hostname: `${uniqueName('sip')}.test`, amqp_connection: AMQP_URL });
    await expect(client.publish(exchange, 'a', '{}')).rejects.toMatchObject({ code: 'NOT_CONNECTED' });
    await client.connect();
    await client.publish(exchange, 'a', '{}');
    await client.close();
    await expect(client.publish(exchange, 'a', '{}')).rejects.toMatchObject({ code: 'NOT_CONNECTED' });
    await drainQueue(observer.channel, queue, 1);
  });

  it('keeps the connection through a JS thread blocked for 3x the heartbeat interval', async () => {
    const client = await connectedKazoo({ node_hostname: `${uniqueName('sip')}.test`, amqp_heartbeats: 1 });
    const events: string[] = [];
    client.on('connection', (e) => events.push(e.event));
    try {
      const until = Date.now() + 3500;
      while (Date.now() < until) {
        // Busy-wait: no timers, no I/O callbacks run on this thread meanwhile.
      }
      await new Promise((r) => setTimeout(r, 200));
      await client.publish(exchange, 'a.b', '{"after":"block"}');
      const [m] = await drainQueue(observer.channel, queue, 1);
      expect(JSON.parse(m.content.toString()).after).toBe('block');
      expect(events).toEqual([]);
    } finally {
      await client.close();
    }
  });

  it('fails connect() with CONNECT_FAILED when no broker listens, without leaking the password', async () => {
    const client = new Kazoo({
      node_hostname: NODE,
      amqp_connection: 'amqp://guest:s3cret-pass@127.0.0.1:1',
      amqp_reconnect_min_ms: 50,
    });
    const warnings: string[] = [];
    client.on('error', (e) => warnings.push(e.message));
    let error: KazooError | undefined;
    try {
      await client.connect();
    } catch (e) {
      error = e as KazooError;
    }
    expect(error?.code).toBe('CONNECT_FAILED');
    expect(error?.message).not.toContain('s3cret-pass');
    for (const w of warnings) expect(w).not.toContain('s3cret-pass');
  });

  it('fails connect() with CONNECT_FAILED on bad credentials, without leaking them', async () => {
    const client = new Kazoo({ node_hostname: `${uniqueName('sip')}.test`, amqp_connection: 'amqp://guest:wrong-pass@127.0.0.1:5672' });
    const messages: string[] = [];
    client.on('error', (e) => messages.push(e.message));
    await expect(client.connect()).rejects.toMatchObject({ code: 'CONNECT_FAILED' });
    expect(messages.join('\n')).toMatch(/ACCESS_REFUSED|login/);
    expect(messages.join('\n')).not.toContain('wrong-pass');
  });

  it('emits connection open and closed events with host and zone', async () => {
    const client = new Kazoo({ node_hostname: `${uniqueName('sip')}.test`, amqp_connection: `zone=local;${AMQP_URL}` });
    const events: unknown[] = [];
    client.on('connection', (e) => events.push(e));
    await client.connect();
    await client.close();
    await waitFor(() => events.length === 2);
    expect(events[0]).toEqual({ event: 'open', role: 'producer', host: '127.0.0.1', zone: 'local' });
    expect(events[1]).toMatchObject({ event: 'closed', role: 'producer', host: '127.0.0.1', zone: 'local' });
  });

  it('reports broker flow control (connection.blocked) and delivers the held publish once it lifts', async () => {
    const client = await connectedKazoo({});
    const events: string[] = [];
    client.on('connection', (e) => events.push(`${e.role}:${e.event}`));
    // A memory alarm: RabbitMQ blocks every publishing connection until the watermark is back.
    rabbitmqctlSync('set_vm_memory_high_watermark', '0');
    try {
      const held = client.publish(exchange, 'a.b', '{"held":1}');
      await waitFor(() => events.includes('producer:blocked'), 20_000, 'connection.blocked');
      rabbitmqctlSync('set_vm_memory_high_watermark', '0.4');
      await waitFor(() => events.includes('producer:unblocked'), 20_000, 'connection.unblocked');
      await held;
      const [m] = await drainQueue(observer.channel, queue, 1);
      expect(JSON.parse(m.content.toString()).held).toBe(1);
    } finally {
      rabbitmqctlSync('set_vm_memory_high_watermark', '0.4');
      await client.close();
    }
  });

  it('keeps the connection through a long block with the socket full, and delivers everything after', async () => {
    // Heartbeats off (the module's default): the I/O thread then keeps reading while the rest waits.
    const client = await connectedKazoo({});
    const events: string[] = [];
    client.on('connection', (e) => events.push(`${e.role}:${e.event}`));
    const big = 'x'.repeat(8000);
    rabbitmqctlSync('set_vm_memory_high_watermark', '0');
    let pending: Promise<void>[] = [];
    try {
      // ~24 MB: far more than the socket buffers hold while the broker is not reading.
      pending = Array.from({ length: 3000 }, (_, i) => client.publish(exchange, 'a.b', { Seq: i, Fill: big }));
      await waitFor(() => events.includes('producer:blocked'), 20_000, 'connection.blocked');
      // Longer than any send timeout: the loop must keep reading frames and heartbeats meanwhile.
      await new Promise((r) => setTimeout(r, 12_000));
      expect(events).not.toContain('producer:closed');
    } finally {
      rabbitmqctlSync('set_vm_memory_high_watermark', '0.4');
    }
    try {
      await Promise.all(pending);
      const messages = await drainQueue(observer.channel, queue, 3000, 30_000);
      expect(messages).toHaveLength(3000);
      expect(events).not.toContain('producer:closed');
    } finally {
      await client.close();
    }
  }, 90_000);

  it('close() is idempotent and waits for confirms of publishes in flight', async () => {
    const client = await connectedKazoo({});
    const pending = Array.from({ length: 300 }, (_, i) => client.publish(exchange, 'a.b', { Seq: i }));
    const closing = [client.close(), client.close()];
    const results = await Promise.allSettled(pending);
    await Promise.all(closing);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(300);
    expect(await drainQueue(observer.channel, queue, 300)).toHaveLength(300);
  });

  it('close() right after the first publishes to an exchange waits for its check, then for their confirms', async () => {
    // The proxy holds the broker's answer to the exchange check, so the Close command is
    // certainly taken while the publishes are parked on it (as happens by chance on a busy host).
    const proxy = await TcpProxy.start();
    try {
      const client = await connectedKazoo({ amqp_connection: proxy.url() });
      proxy.stall();
      const pending = Array.from({ length: 50 }, (_, i) => client.publish(exchange, 'a.b', { Seq: i }));
      const closing = client.close();
      setTimeout(() => proxy.resume(), 100);
      const results = await Promise.allSettled(pending);
      await closing;
      expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
      expect(await drainQueue(observer.channel, queue, 50)).toHaveLength(50);
    } finally {
      await proxy.close();
    }
  });
});
