/**
 * `kazoo-amqp run --metrics-port 0` as an operator runs it: a child process whose client serves
 * /metrics and /health over real HTTP on 127.0.0.1, counters that move with what the script does
 * (a consumed message, a publish), /health 503 while the run's producer connection is cut and
 * 200 after the reconnect, the script's KSR.info and the runner's lines on stderr with no
 * password, and usage errors for bad metrics options. Runs dist/ (npm test builds it first).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as amqplib from 'amqplib';
import { AMQP_URL, deleteEntities, openObserver, uniqueName, waitFor } from '../support/broker';
import { KazooResponder } from '../support/kazoo-responder';
import { parseExposition, sampleValue } from '../support/prom-parse';
import { TcpProxy } from '../support/tcp-proxy';
import { requireBuiltCli, startCli, type CliRun } from '../support/cli-run';

const PASSWORD = decodeURIComponent(new URL(AMQP_URL).password);



let dir: string;
let observer: { connection: amqplib.ChannelModel; channel: amqplib.Channel };
const queues = new Set<string>();
const exchanges = new Set<string>();
let runs: CliRun[] = [];
let responders: KazooResponder[] = [];
const proxies: TcpProxy[] = [];

beforeAll(async () => {
  requireBuiltCli();
  observer = await openObserver();
});

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kazoo-kemi-metrics-'));
});

afterEach(async () => {
  for (const r of runs) if (r.child.exitCode === null) r.child.kill('SIGKILL');
  runs = [];
  await Promise.allSettled(responders.map((r) => r.stop()));
  responders = [];
  await Promise.allSettled(proxies.splice(0).map((p) => p.close()));
  await deleteEntities(observer.connection, queues, exchanges);
  rmSync(dir, { recursive: true, force: true });
});

afterAll(async () => {
  await observer.connection.close();
});

describe('kazoo-amqp run --metrics-port', () => {
  it('serves /metrics and /health for the run, 503 while its producer is cut, 200 after the reconnect', async () => {
    expect(PASSWORD.length).toBeGreaterThanOrEqual(3);
    const node = `${uniqueName('kemi-metrics')}.test`;
    const inX = uniqueName('km-in');
    const inQ = uniqueName('km-inq');
    const outX = uniqueName('km-out');
    const outQ = uniqueName('km-outq');
    exchanges.add(inX).add(outX);
    queues.add(inQ).add(outQ);
    await observer.channel.assertExchange(outX, 'topic', { durable: false });
    await observer.channel.assertQueue(outQ, { durable: false });
    await observer.channel.bindQueue(outQ, outX, '#');
    const responder = await KazooResponder.start();
    responders.push(responder);
    exchanges.add(responder.exchange);
    const proxy = await TcpProxy.start();
    proxies.push(proxy);
    writeFileSync(
      join(dir, 'kamailio.cfg'),
      [
        '#!KAMAILIO',
        'loadmodule "kazoo.so"',
        `modparam("kazoo", "node_hostname", "${node}")`,
        // Through a loopback proxy that refuses while "down": the first reconnect attempt is
        // immediate, so only a broker that stays unreachable keeps the connection down to be seen.
        `modparam("kazoo", "amqp_connection", "${proxy.url()}")`,
        'modparam("kazoo", "amqp_reconnect_min_ms", 200)',
        'modparam("kazoo", "amqp_reconnect_max_ms", 400)',
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(dir, 'script.js'),
      `function ksr_kazoo_event(evname) {
  if (evname === 'kazoo:mod-init') {
    KSR.kazoo.kazoo_subscribe('{"exchange":"${inX}","type":"topic","queue":"${inQ}","routing":"km.#","auto_delete":1}');
    return;
  }
  if (KSR.pv.get('$(kzE{kz.json,Event-Category})') !== 'bench') return;
  KSR.info('connected through ${AMQP_URL} with ${PASSWORD}');
  // A blocking kazoo_query (querySync) is counted like query().
  if (KSR.kazoo.kazoo_query('${responder.exchange}', 'q.1', '{"Event-Category":"km","Event-Name":"q","Token":"t1"}', '$var(r)') !== 1) KSR.err('query failed');
  KSR.kazoo.kazoo_publish('${outX}', 'km.out', KSR.pv.get('$kzE'));
}
`,
    );

    const run = startCli(['run', '--cfg', 'kamailio.cfg', '--metrics-port', '0', 'script.js'], dir);
    runs.push(run);
    const base = await waitFor(() => /metrics on (http:\/\/\S+)\/metrics/.exec(run.output())?.[1], 15_000, 'the metrics address').catch((e: Error) => {
      throw new Error(`${e.message}; output:\n${run.output()}`);
    });
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await waitFor(() => run.output().includes('kazoo-amqp: running'), 15_000, 'the runner to start');

    const health = await fetch(`${base}/health`);
    expect(health.status).toBe(200);
    expect(((await health.json()) as { status: string }).status).toBe('ok');

    observer.channel.publish(inX, 'km.abc', Buffer.from('{"Event-Category":"bench","Event-Name":"echo","Seq":1}'), { contentType: 'application/json' });
    const republished = await waitFor(async () => (await observer.channel.get(outQ, { noAck: true })) || undefined, 10_000, 'the republished message');
    if (!republished) throw new Error('no republished message');
    expect(JSON.parse(republished.content.toString())).toMatchObject({ 'Event-Category': 'bench', Seq: 1 });

    const metrics = await waitFor(
      async () => {
        const r = await fetch(`${base}/metrics`);
        const families = parseExposition(await r.text());
        return sampleValue(families, 'kazoo_publishes_confirmed_total') >= 1 ? { r, families } : undefined;
      },
      5_000,
      'the publish confirm counted',
    );
    if (!metrics) throw new Error('no metrics');
    expect(metrics.r.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(sampleValue(metrics.families, 'kazoo_up')).toBe(1);
    expect(sampleValue(metrics.families, 'kazoo_publishes_total')).toBe(1);
    expect(sampleValue(metrics.families, 'kazoo_deliveries_total', { queue: inQ })).toBe(1);
    expect(sampleValue(metrics.families, 'kazoo_acks_total', { queue: inQ })).toBe(1);
    expect(sampleValue(metrics.families, 'kazoo_queries_total')).toBe(1);
    expect(sampleValue(metrics.families, 'kazoo_queries_answered_total')).toBe(1);
    expect(sampleValue(metrics.families, 'kazoo_query_duration_seconds_count')).toBe(1);
    expect(sampleValue(metrics.families, 'kazoo_route_handled_total', { route: 'kazoo:consumer-event' })).toBeGreaterThanOrEqual(1);

    proxy.refuse(true);
    proxy.cut();
    const cut = Date.now();
    await waitFor(async () => (await fetch(`${base}/health`)).status === 503 || undefined, 1_000, '/health 503');
    expect(Date.now() - cut).toBeLessThan(1_000);
    proxy.refuse(false);
    await waitFor(async () => (await fetch(`${base}/health`)).status === 200 || undefined, 15_000, '/health 200 again');
    const after = parseExposition(await (await fetch(`${base}/metrics`)).text());
    expect(sampleValue(after, 'kazoo_reconnects_total', { role: 'producer' })).toBe(1);

    run.child.kill('SIGTERM');
    expect(await run.exited).toMatchObject({ code: 0, signal: null });
    const output = run.output();
    // The script's line, the client's connection lines and the runner's, all redacted.
    expect(output).toMatch(/INFO connected through amqp:\/\/\*\*\*@/);
    expect(output).toMatch(/WARN kazoo: producer connection to \S+ \(zone local\) closed.*\(reconnecting\)/);
    expect(output).toMatch(/INFO kazoo: producer connection to \S+ \(zone local\) open again \(reconnected\)/);
    expect(output).not.toContain(PASSWORD);
    // The server closed with the client: nothing answers any more.
    await expect(fetch(`${base}/health`)).rejects.toThrow();
  }, 60_000);

  it('rejects bad metrics options with a usage error (exit 2)', async () => {
    for (const args of [
      ['run', '--metrics-port', 'abc', 'script.js'],
      ['run', '--metrics-port', '65536', 'script.js'],
      ['run', '--metrics-host', '0.0.0.0', 'script.js'],
      ['config', '--cfg', 'x.cfg', '--metrics-port', '9000'],
    ]) {
      const run = startCli(args, dir);
      runs.push(run);
      expect(await run.exited).toMatchObject({ code: 2, signal: null });
      expect(run.output()).toMatch(/kazoo: .*metrics.*\(see kazoo-amqp --help\)/);
    }
  });

  it('exits 1 when the metrics port is taken, closing the client', async () => {
    const { createServer } = await import('node:net');
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const port = (taken.address() as { port: number }).port;
    try {
      writeFileSync(join(dir, 'script.js'), 'function ksr_kazoo_event() {}\n');
      const node = `${uniqueName('kemi-metrics')}.test`;
      const run = startCli(['run', '--modparam', `node_hostname=${node}`, '--modparam', `amqp_connection=${AMQP_URL}`, '--metrics-port', String(port), 'script.js'], dir);
      runs.push(run);
      expect(await run.exited).toMatchObject({ code: 1, signal: null });
      expect(run.output()).toMatch(/ERROR .*EADDRINUSE/);
      expect(run.output()).not.toContain(PASSWORD);
    } finally {
      await new Promise((r) => taken.close(r));
    }
  });
});
