/**
 * The operator's view against the real broker: kazoo.stats() and kazoo.metrics() move as things
 * happen (publishes, confirms, queries answered and timed out, deliveries, handler failures,
 * acks/nacks, a reconnect forced with `rabbitmqctl close_connection`), the exposition parses
 * strictly and through a real prom-client registry, /metrics and /health answer over real HTTP
 * while the producer connection is cut and restored, and the logger never sees a credential.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import * as amqplib from 'amqplib';
import { Counter, Registry, type OpenMetricsContentType } from 'prom-client';
import { Kazoo, KazooError, registerKazooMetrics, serveMetrics, type KazooEvent, type KazooLogger, type KazooStats } from '../../lib';
import { AMQP_URL, deleteEntities, openObserver, uniqueName, waitFor } from '../support/broker';
import { KazooResponder } from '../support/kazoo-responder';
import { parseExposition, sampleValue } from '../support/prom-parse';
import { listRows, rabbitmqctl } from '../support/rabbitmqctl';
import { TcpProxy } from '../support/tcp-proxy';

const SERVER = '127.0.0.1:5672';

/** Has the broker close this client's `role` connection (found by its connection_name). */
async function closeConnection(kz: Kazoo, role: 'producer' | 'consumer'): Promise<void> {
  const name = `kazoo-amqp kamailio@${kz.config.node_hostname} ${role}`;
  const rows = (await listRows('list_connections', 'pid', 'client_properties')).filter((r) => r[1]?.includes(`"${name}"`));
  if (rows.length !== 1) throw new Error(`expected one ${role} connection named ${name}, found ${rows.length}`);
  await rabbitmqctl('close_connection', rows[0][0], 'kazoo-amqp observability test: forced close');
}

interface Line {
  level: keyof KazooLogger;
  message: string;
  args: unknown[];
}

function recordingLogger(): { logger: KazooLogger; lines: Line[] } {
  const lines: Line[] = [];
  const at = (level: keyof KazooLogger) => (message: string, ...args: unknown[]) => lines.push({ level, message, args });
  return { logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }, lines };
}

const clients: Kazoo[] = [];
const servers: Server[] = [];
const proxies: TcpProxy[] = [];
const responders: KazooResponder[] = [];
const queues = new Set<string>();
const exchanges = new Set<string>();
let observer: { connection: amqplib.ChannelModel; channel: amqplib.Channel };

beforeAll(async () => {
  observer = await openObserver();
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  await Promise.all(responders.splice(0).map((r) => r.stop()));
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(proxies.splice(0).map((p) => p.close()));
  await deleteEntities(observer.connection, queues, exchanges);
});

afterAll(async () => {
  await observer.connection.close();
});

async function client(overrides: Record<string, unknown> = {}): Promise<Kazoo> {
  const kz = new Kazoo({ node_hostname: `${uniqueName('node')}.test`, amqp_connection: AMQP_URL, ...overrides });
  clients.push(kz);
  await kz.connect();
  return kz;
}

async function exchange(): Promise<string> {
  const x = uniqueName('obs-x');
  exchanges.add(x);
  await observer.channel.assertExchange(x, 'topic', { durable: false, autoDelete: false });
  return x;
}

function server(stats: KazooStats) {
  const s = stats.servers.find((e) => e.server === SERVER);
  if (!s) throw new Error(`no server ${SERVER} in ${JSON.stringify(stats.servers.map((e) => e.server))}`);
  return s;
}

describe('kazoo.stats() and kazoo.metrics()', () => {
  it('show 100 publishes, a query that timed out and a consumed message, as a new user would see them', async () => {
    const kz = await client();
    const x = await exchange();
    const q = uniqueName('obs-new-user');
    queues.add(q);
    let consumed = 0;
    kz.eventRoute('kazoo:consumer-event-newuser-hello', () => {
      consumed++;
    });
    await kz.subscribe({ exchange: x, type: 'topic', queue: q, routing: 'hello', no_ack: 0, durable: false, auto_delete: false });
    await Promise.all(Array.from({ length: 99 }, (_, i) => kz.publish(x, `nobody.${i}`, { 'Event-Category': 'newuser', 'Event-Name': 'noise' })));
    await kz.publish(x, 'hello', { 'Event-Category': 'newuser', 'Event-Name': 'hello' });
    await expect(kz.query(x, 'nobody.answers', { 'Event-Category': 'newuser', 'Event-Name': 'q' }, { timeoutMs: 200 })).rejects.toMatchObject({ code: 'QUERY_TIMEOUT' });
    await waitFor(() => kz.stats().queues.find((e) => e.queue === q)?.acks === 1, 10_000, 'the consumed message acked');
    expect(consumed).toBe(1);

    const s = server(kz.stats());
    expect(s.publishes).toMatchObject({ sent: 100, confirmed: 100, inFlight: 0 });
    expect(s.queries).toMatchObject({ sent: 1, timedOut: 1, pending: 0 });
    expect(kz.stats().queues.find((e) => e.queue === q)).toMatchObject({ deliveries: 1, acks: 1 });
    const m = parseExposition(kz.metrics());
    expect(sampleValue(m, 'kazoo_publishes_confirmed_total', { server: SERVER })).toBe(100);
    expect(sampleValue(m, 'kazoo_queries_timed_out_total', { server: SERVER })).toBe(1);
    expect(sampleValue(m, 'kazoo_deliveries_total', { server: SERVER, queue: q })).toBe(1);
    expect(sampleValue(m, 'kazoo_route_handled_total', { route: 'kazoo:consumer-event-newuser-hello' })).toBe(1);
  });

  it('count 100 publishes, their confirms and the publish→confirm histogram', async () => {
    const kz = await client();
    const x = await exchange();
    const before = server(kz.stats());
    expect(before.publishes).toEqual({ sent: 0, confirmed: 0, nacked: 0, failed: 0, inFlight: 0 });
    expect(before.producer.state).toBe('open');
    expect(before.producer.opens).toBe(1);

    const pending = Array.from({ length: 100 }, (_, i) => kz.publish(x, `obs.${i}`, { 'Event-Category': 'obs', 'Event-Name': 'pub', N: i }));
    const during = server(kz.stats()).publishes;
    expect(during.sent).toBe(100);
    expect(during.inFlight).toBe(100 - during.confirmed);
    await Promise.all(pending);

    const s = server(kz.stats());
    expect(s.publishes).toEqual({ sent: 100, confirmed: 100, nacked: 0, failed: 0, inFlight: 0 });
    expect(s.publishConfirm.count).toBe(100);
    expect(s.publishConfirm.counts[s.publishConfirm.counts.length - 1]).toBe(100);
    expect(s.publishConfirm.sum).toBeGreaterThan(0);

    const m = parseExposition(kz.metrics());
    expect(sampleValue(m, 'kazoo_publishes_total', { server: SERVER })).toBe(100);
    expect(sampleValue(m, 'kazoo_publishes_confirmed_total', { server: SERVER })).toBe(100);
    expect(sampleValue(m, 'kazoo_publishes_in_flight', { server: SERVER })).toBe(0);
    expect(sampleValue(m, 'kazoo_publish_confirm_seconds_count', { server: SERVER })).toBe(100);
    expect(sampleValue(m, 'kazoo_publish_confirm_seconds_bucket', { server: SERVER, le: '+Inf' })).toBe(100);
    expect(sampleValue(m, 'kazoo_up')).toBe(1);
    expect(sampleValue(m, 'kazoo_connection_state', { server: SERVER, role: 'producer', state: 'open' })).toBe(1);
    expect(sampleValue(m, 'kazoo_connection_state', { server: SERVER, role: 'producer', state: 'closed' })).toBe(0);
  });

  it('counts a publish the broker refuses (404) as failed, not confirmed', async () => {
    const kz = await client();
    await expect(kz.publish(uniqueName('missing-x'), 'k', { A: 1 })).rejects.toMatchObject({ code: 'BROKER_REFUSED' });
    const s = server(kz.stats());
    expect(s.publishes).toEqual({ sent: 1, confirmed: 0, nacked: 0, failed: 1, inFlight: 0 });
    expect(s.publishConfirm.count).toBe(0);
  });

  it('counts an answered query with its round trip, and a query that times out', async () => {
    const kz = await client();
    const r = await KazooResponder.start();
    responders.push(r);
    const reply = await kz.query(r.exchange, 'rpc.obs', { 'Event-Category': 'obs', 'Event-Name': 'q', Token: 't1' });
    expect(reply.data.Token).toBe('t1');
    const silent = await exchange();
    const started = Date.now();
    await expect(kz.query(silent, 'nobody.listens', { 'Event-Category': 'obs', 'Event-Name': 'q' }, { timeoutMs: 300 })).rejects.toMatchObject({
      code: 'QUERY_TIMEOUT',
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);

    const q = server(kz.stats()).queries;
    expect(q).toEqual({ sent: 2, answered: 1, timedOut: 1, failed: 0, late: 0, pending: 0 });
    const rt = server(kz.stats()).queryRoundTrip;
    expect(rt.count).toBe(1);
    expect(rt.sum).toBeGreaterThan(0);
    expect(rt.sum).toBeLessThan(10);

    const m = parseExposition(kz.metrics());
    expect(sampleValue(m, 'kazoo_queries_total', { server: SERVER })).toBe(2);
    expect(sampleValue(m, 'kazoo_queries_answered_total', { server: SERVER })).toBe(1);
    expect(sampleValue(m, 'kazoo_queries_timed_out_total', { server: SERVER })).toBe(1);
    expect(sampleValue(m, 'kazoo_queries_pending', { server: SERVER })).toBe(0);
    expect(sampleValue(m, 'kazoo_query_duration_seconds_count', { server: SERVER })).toBe(1);
  });

  it('counts a blocking querySync() that times out (answered ones: kemi-metrics.test.ts)', async () => {
    const kz = await client();
    const silent = await exchange();
    expect(() => kz.querySync(silent, 'nobody.listens', { 'Event-Category': 'obs', 'Event-Name': 'q' }, { timeoutMs: 200 })).toThrow(
      expect.objectContaining({ code: 'QUERY_TIMEOUT' }),
    );
    expect(server(kz.stats()).queries).toEqual({ sent: 1, answered: 0, timedOut: 1, failed: 0, late: 0, pending: 0 });
  });

  it('counts deliveries, acks and nacks per queue and handler runs and failures per route', async () => {
    const { logger, lines } = recordingLogger();
    const kz = await client({ logger });
    const x = await exchange();
    const q = uniqueName('obs-q');
    queues.add(q);
    const seen: string[] = [];
    kz.eventRoute('kazoo:consumer-event-obs-work', async (event: KazooEvent) => {
      seen.push(event.json('N') as string);
      if (event.json('Fail') === 'true') throw new Error('handler refused the message');
    });
    await kz.subscribe({ exchange: x, type: 'topic', queue: q, routing: 'obs.#', no_ack: 0, wait_for_consumer_ack: 1, durable: false, auto_delete: false });

    await kz.publish(x, 'obs.1', { 'Event-Category': 'obs', 'Event-Name': 'work', N: '1' });
    await kz.publish(x, 'obs.2', { 'Event-Category': 'obs', 'Event-Name': 'work', N: '2', Fail: true });
    await kz.publish(x, 'obs.3', { 'Event-Category': 'obs', 'Event-Name': 'nothing-routes-this' });
    await waitFor(() => {
      const qs = kz.stats().queues.find((e) => e.queue === q);
      return qs !== undefined && qs.acks + qs.nacks === 3;
    }, 10_000, '3 settled deliveries');

    const qs = kz.stats().queues.find((e) => e.queue === q)!;
    expect(qs).toMatchObject({ server: SERVER, deliveries: 3, acks: 1, nacks: 2, requeues: 0, unrouted: 1, invalid: 0 });
    const route = kz.stats().routes.find((r) => r.route === 'kazoo:consumer-event-obs-work')!;
    expect(route).toMatchObject({ handled: 1, failures: 1 });
    expect(route.duration.count).toBe(2);
    expect(seen.sort()).toEqual(['1', '2']);

    const m = parseExposition(kz.metrics());
    expect(sampleValue(m, 'kazoo_deliveries_total', { server: SERVER, queue: q })).toBe(3);
    expect(sampleValue(m, 'kazoo_acks_total', { queue: q })).toBe(1);
    expect(sampleValue(m, 'kazoo_nacks_total', { queue: q })).toBe(2);
    expect(sampleValue(m, 'kazoo_deliveries_unrouted_total', { queue: q })).toBe(1);
    expect(sampleValue(m, 'kazoo_route_failures_total', { route: 'kazoo:consumer-event-obs-work' })).toBe(1);
    expect(sampleValue(m, 'kazoo_route_handled_total', { route: 'kazoo:consumer-event-obs-work' })).toBe(1);
    expect(sampleValue(m, 'kazoo_handler_duration_seconds_count', { route: 'kazoo:consumer-event-obs-work' })).toBe(2);
    expect(sampleValue(m, 'kazoo_lane_backlog')).toBe(0);

    // No 'error' listener: the failure and the unrouted message went to the logger.
    const errors = lines.filter((l) => l.level === 'error').map((l) => (l.args[0] as { code: string }).code);
    expect(errors.sort()).toEqual(['KAZOO_HANDLER_FAILED', 'KAZOO_NO_ROUTE']);
    expect(lines.find((l) => l.message.includes('handler refused the message'))).toBeDefined();
  });

  it('counts a reconnect after rabbitmqctl close_connection and keeps the reason', async () => {
    const { logger, lines } = recordingLogger();
    const kz = await client({ logger, amqp_reconnect_min_ms: 100, amqp_reconnect_max_ms: 500 });
    await closeConnection(kz, 'producer');
    await waitFor(() => server(kz.stats()).producer.reconnects === 1, 10_000, 'a producer reconnect');
    const p = server(kz.stats()).producer;
    expect(p).toMatchObject({ state: 'open', opens: 2, reconnects: 1 });
    expect(p.lastError?.reason).toContain('forced close');
    await kz.publish('amq.topic', uniqueName('after-reconnect'), { A: 1 });
    expect(server(kz.stats()).publishes.confirmed).toBe(1);

    const m = parseExposition(kz.metrics());
    expect(sampleValue(m, 'kazoo_reconnects_total', { server: SERVER, role: 'producer' })).toBe(1);
    expect(sampleValue(m, 'kazoo_connection_opens_total', { server: SERVER, role: 'producer' })).toBe(2);
    expect(lines.some((l) => l.level === 'warn' && l.message.includes('producer connection') && l.message.includes('closed'))).toBe(true);
    expect(lines.some((l) => l.level === 'info' && l.message.includes('reconnected'))).toBe(true);
  });
});

describe('serveMetrics(): /metrics and /health over real HTTP', () => {
  it('answers 503 within a second of the producer connection going away, then 200 after the reconnect', async () => {
    // Through a loopback proxy that refuses while "down": the first reconnect attempt is
    // immediate, so only a broker that stays unreachable keeps the connection down to be seen.
    const proxy = await TcpProxy.start();
    proxies.push(proxy);
    const PROXIED = `127.0.0.1:${proxy.port}`;
    const kz = await client({ amqp_connection: proxy.url(), amqp_reconnect_min_ms: 200, amqp_reconnect_max_ms: 400 });
    const srv = await serveMetrics(kz, { port: 0 });
    servers.push(srv);
    const { address, port } = srv.address() as AddressInfo;
    expect(address).toBe('127.0.0.1');
    const base = `http://127.0.0.1:${port}`;

    const ok = await fetch(`${base}/health`);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toContain('application/json');
    const body = (await ok.json()) as { status: string; connections: Array<{ role: string; state: string; server: string }> };
    expect(body.status).toBe('ok');
    expect(body.connections).toContainEqual(expect.objectContaining({ server: PROXIED, role: 'producer', state: 'open' }));
    const metrics = await fetch(`${base}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(sampleValue(parseExposition(await metrics.text()), 'kazoo_up')).toBe(1);

    proxy.refuse(true);
    proxy.cut();
    const cut = Date.now();
    const down = await waitFor(async () => {
      const r = await fetch(`${base}/health`);
      return r.status === 503 ? r : undefined;
    }, 1000, '/health 503');
    expect(Date.now() - cut).toBeLessThan(1000);
    expect(((await down!.json()) as { status: string }).status).toBe('unavailable');
    const cutMetrics = parseExposition(await (await fetch(`${base}/metrics`)).text());
    expect(sampleValue(cutMetrics, 'kazoo_up')).toBe(0);
    expect(sampleValue(cutMetrics, 'kazoo_connection_up', { server: PROXIED, role: 'producer' })).toBe(0);

    proxy.refuse(false);

    await waitFor(async () => (await fetch(`${base}/health`)).status === 200, 15_000, '/health 200 again');
    const after = parseExposition(await (await fetch(`${base}/metrics`)).text());
    expect(sampleValue(after, 'kazoo_up')).toBe(1);
    expect(sampleValue(after, 'kazoo_reconnects_total', { server: PROXIED, role: 'producer' })).toBe(1);

    expect((await fetch(`${base}/nothing`)).status).toBe(404);
    expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(405);
  });

  it('answers 503 once the client is closed', async () => {
    const kz = await client();
    const srv = await serveMetrics(kz, { port: 0, host: '127.0.0.1' });
    servers.push(srv);
    const { port } = srv.address() as AddressInfo;
    expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
    await kz.close();
    expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(503);
  });
});

describe('registerKazooMetrics(): prom-client', () => {
  it('adds the same kazoo_ metrics to an existing Registry next to the application’s own', async () => {
    const kz = await client();
    const registry = new Registry();
    const own = new Counter({ name: 'app_calls_total', help: 'calls', registers: [registry] });
    own.inc(3);
    const unregister = registerKazooMetrics(kz, registry);
    await Promise.all(Array.from({ length: 7 }, (_, i) => kz.publish('amq.topic', uniqueName(`prom-${i}`), { A: i })));

    const text = await registry.metrics();
    const parsed = parseExposition(text);
    expect(sampleValue(parsed, 'app_calls_total')).toBe(3);
    expect(sampleValue(parsed, 'kazoo_publishes_total', { server: SERVER })).toBe(7);
    expect(sampleValue(parsed, 'kazoo_publish_confirm_seconds_count', { server: SERVER })).toBe(7);
    // Same families and values as kazoo.metrics().
    const direct = parseExposition(kz.metrics());
    for (const [name, family] of direct) {
      expect(parsed.get(name)?.type).toBe(family.type);
      expect(parsed.get(name)?.samples.map((s) => [s.name, s.labels, s.value])).toEqual(family.samples.map((s) => [s.name, s.labels, s.value]));
    }
    const json = await registry.getMetricsAsJSON();
    expect(json.find((m) => m.name === 'kazoo_publishes_total')?.values).toEqual([{ value: 7, labels: { server: SERVER } }]);

    expect(() => registerKazooMetrics(kz, registry)).toThrow(KazooError);
    unregister();
    expect(await registry.metrics()).not.toContain('kazoo_');
    expect(sampleValue(parseExposition(await registry.metrics()), 'app_calls_total')).toBe(3);
  });

  it('works with an OpenMetrics registry (counters keep a single _total)', async () => {
    const kz = await client();
    const registry = new Registry<OpenMetricsContentType>();
    registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    registerKazooMetrics(kz, registry);
    await kz.publish('amq.topic', uniqueName('om'), { A: 1 });
    const text = await registry.metrics();
    expect(text).toContain(`kazoo_publishes_total{server="${SERVER}"} 1\n`);
    expect(text).not.toContain('_total_total');
    expect(text.endsWith('# EOF\n')).toBe(true);
  });
});

describe('the logger option', () => {
  it('gets config warnings and connect failures, never the password', async () => {
    const { logger, lines } = recordingLogger();
    const password = 'Sup3r-s3cret-pw';
    const kz = new Kazoo({
      node_hostname: `${uniqueName('node')}.test`,
      amqp_connection: `amqp://someone:${password}@127.0.0.1:1`,
      amqp_internal_loop_count: 3,
      logger,
    });
    clients.push(kz);
    expect(lines).toContainEqual({ level: 'warn', message: expect.stringContaining('amqp_internal_loop_count has no effect'), args: [{ code: 'KAZOO_DEAD_PARAM' }] });
    await expect(kz.connect()).rejects.toMatchObject({ code: 'CONNECT_FAILED' });
    expect(lines.some((l) => l.level === 'error' && (l.args[0] as { code?: string }).code === 'KAZOO_CONNECT_FAILED')).toBe(true);
    // kazoo.logger (what KSR.info/err write through) redacts too and passes every argument on.
    kz.logger.info(`script says amqp://someone:${password}@127.0.0.1:1`, 'and', password);
    expect(lines[lines.length - 1]).toEqual({ level: 'info', message: 'script says amqp://***@127.0.0.1:1', args: ['and', '***'] });
    const stats = kz.stats();
    expect(stats.servers[0].producer.connectFailures).toBeGreaterThanOrEqual(1);
    expect(stats.servers[0].producer.lastError).not.toBeNull();
    expect(stats.servers[0].server).toBe('127.0.0.1:1');
    const everything = JSON.stringify(lines, (_k, v: unknown) => (v instanceof Error ? { message: v.message, stack: v.stack } : v)) + JSON.stringify(stats) + kz.metrics();
    expect(everything).not.toContain(password);
    expect(everything).not.toContain('someone:');
  });
});
