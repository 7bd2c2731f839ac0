/**
 * Observability parts that need no broker: histograms, the confirm timer, the recorder's
 * arithmetic, the exposition format (checked with the strict parser, which is itself checked to
 * reject malformed text), health, redaction and the logger option.
 */
import type { AddressInfo } from 'node:net';
import { resolveConfig } from '../../lib/config';
import { parseAmqpConnection } from '../../lib/connection-url';
import { KazooError } from '../../lib/errors';
import { LogSink, redactText, type KazooLogger } from '../../lib/logger';
import { ConfirmTimer } from '../../lib/observability/confirm-timer';
import { metricFamilies, renderExposition } from '../../lib/observability/exposition';
import { healthOf } from '../../lib/observability/health';
import { LATENCY_BUCKETS, LatencyHistogram } from '../../lib/observability/histogram';
import { serveMetrics } from '../../lib/observability/http';
import { registerKazooMetrics } from '../../lib/observability/prom-client';
import { StatsRecorder } from '../../lib/observability/stats-recorder';
import { parseExposition, sampleValue } from '../support/prom-parse';

function recorder(urls: string[] = ['amqp://guest:guest@127.0.0.1:5672'], log = new LogSink(null)): StatsRecorder {
  const endpoints = urls.map((u, i) => parseAmqpConnection(u, i + 1, 'local'));
  return new StatsRecorder(endpoints, log, { workers: 8, backlog: () => 5 });
}

describe('LatencyHistogram', () => {
  it('puts each value in the first bucket whose bound it does not exceed, cumulative in the snapshot', () => {
    const h = new LatencyHistogram();
    for (const ms of [0.2, 0.5, 0.6, 3, 20_000, -1]) h.observe(ms);
    const s = h.snapshot();
    expect(s.buckets).toBe(LATENCY_BUCKETS);
    expect(s.counts[0]).toBe(3); // 0.2, 0.5 (on the bound) and -1 (as 0) are ≤ 0.5 ms
    expect(s.counts[1]).toBe(4); // + 0.6 ≤ 1 ms
    expect(s.counts[LATENCY_BUCKETS.indexOf(0.005)]).toBe(5); // + 3 ms
    expect(s.counts[LATENCY_BUCKETS.length - 1]).toBe(5); // 20 s is above 10 s
    expect(s.counts[LATENCY_BUCKETS.length]).toBe(6);
    expect(s.count).toBe(6);
    expect(s.sum).toBeCloseTo((0.2 + 0.5 + 0.6 + 3 + 20_000) / 1000, 9);
  });
});

describe('ConfirmTimer', () => {
  it('times every publish even with far more in flight than its initial ring', () => {
    const t = new ConfirmTimer();
    for (let id = 1; id <= 50_000; id++) t.start(id, id);
    let timed = 0;
    for (let id = 1; id <= 50_000; id++) if (t.stop(id, id + 7) === 7) timed++;
    expect(timed).toBe(50_000);
    expect(t.stop(3, 100)).toBe(-1); // already stopped
  });

  it('forgets everything on clear()', () => {
    const t = new ConfirmTimer();
    t.start(5, 1);
    t.clear();
    expect(t.stop(5, 2)).toBe(-1);
  });
});

describe('StatsRecorder', () => {
  it('derives in-flight and pending gauges, and fails what is left when the client closes', () => {
    const r = recorder();
    r.sent(1, 1, false);
    r.sent(1, 2, false);
    r.sent(1, 3, false);
    r.sent(1, 4, true);
    r.batch();
    r.publishConfirmed(1, 1);
    r.failed(1, 2, { target: {} }, { code: 'BROKER_REFUSED' });
    r.failed(1, 2, undefined, { code: 'BROKER_REFUSED' }); // already settled: not counted again
    r.failed(1, 99, {}, { code: 'CONNECTION_LOST' }); // a subscribe/close command: not a publish
    let s = r.snapshot().servers[0];
    expect(s.publishes).toEqual({ sent: 3, confirmed: 1, nacked: 1, failed: 0, inFlight: 1 });
    expect(s.queries.pending).toBe(1);
    expect(s.publishConfirm.count).toBe(1);
    r.closed();
    s = r.snapshot().servers[0];
    expect(s.publishes).toEqual({ sent: 3, confirmed: 1, nacked: 1, failed: 1, inFlight: 0 });
    expect(s.queries).toMatchObject({ failed: 1, pending: 0 });
    expect(s.producer.state).toBe('closed');
  });

  it('tracks state, opens, reconnects and a redacted last error per connection', () => {
    const r = recorder(['amqp://u:pa55word-x@10.0.0.9:5673/v1']);
    r.linkStarting(1, 'producer');
    expect(r.snapshot().servers[0].producer.state).toBe('connecting');
    r.linkState(1, 'producer', 'open');
    r.linkBlocked(1, 'producer', true, 'low on memory');
    expect(r.snapshot().servers[0].producer.state).toBe('blocked');
    expect(r.primaryUp()).toBe(true);
    r.linkState(1, 'producer', 'closed', 'socket error talking to amqp://u:pa55word-x@10.0.0.9:5673/v1');
    r.connectFailed(1, 'producer', 'refused (pa55word-x)');
    r.linkState(1, 'producer', 'open');
    const p = r.snapshot().servers[0].producer;
    expect(p).toMatchObject({ state: 'open', opens: 2, reconnects: 1, connectFailures: 1 });
    expect(p.lastError?.reason).toBe('refused (***)');
    expect(r.snapshot().servers[0].server).toBe('10.0.0.9:5673/v1');
    expect(r.snapshot().servers[0].consumer.state).toBe('closed');
  });

  it('keeps one series per queue name and drops it with its last subscription', () => {
    const r = recorder();
    r.subscribed(1, 'q1');
    r.subscribed(2, 'q1');
    r.subscribed(3, '');
    r.delivered(1, 1);
    r.delivered(1, 2);
    r.delivered(1, 3);
    r.delivered(1, 0);
    r.settled(1, 1, true, false);
    r.settled(1, 2, false, true);
    r.settled(1, 2, false, false);
    r.unhandled(1, 1, true);
    expect(r.snapshot().queues).toEqual([
      { queue: 'q1', server: '127.0.0.1:5672', serverId: 1, deliveries: 2, acks: 1, nacks: 1, requeues: 1, unrouted: 0, invalid: 1 },
    ]);
    expect(r.snapshot().servers[0].queries.late).toBe(1);
    r.unsubscribed(1);
    expect(r.snapshot().queues).toHaveLength(1);
    r.unsubscribed(2);
    expect(r.snapshot().queues).toHaveLength(0);
  });
});

describe('Prometheus exposition', () => {
  it('renders every family so that a strict parser accepts it, with escaped label values', () => {
    const r = recorder(['amqp://127.0.0.1', 'zone=far;amqp://127.0.0.1']);
    r.subscribed(1, 'odd "queue"\\name\nx');
    r.delivered(1, 1);
    r.handled('kazoo:consumer-event-a-b', r.clock() - 3);
    r.handlerFailed('kazoo:consumer-event-a-b', r.clock());
    r.queryAnswered(2, 12);
    const text = renderExposition(metricFamilies(r.snapshot()));
    const parsed = parseExposition(text);
    expect(sampleValue(parsed, 'kazoo_deliveries_total', { queue: 'odd "queue"\\name\nx' })).toBe(1);
    // The same broker twice gets distinct server labels.
    expect(sampleValue(parsed, 'kazoo_query_duration_seconds_count', { server: '127.0.0.1:5672#2' })).toBe(1);
    expect(sampleValue(parsed, 'kazoo_query_duration_seconds_bucket', { server: '127.0.0.1:5672#2', le: '0.01' })).toBe(0);
    expect(sampleValue(parsed, 'kazoo_query_duration_seconds_bucket', { server: '127.0.0.1:5672#2', le: '0.025' })).toBe(1);
    expect(sampleValue(parsed, 'kazoo_handler_duration_seconds_count', { route: 'kazoo:consumer-event-a-b' })).toBe(2);
    expect(sampleValue(parsed, 'kazoo_server_info', { server: '127.0.0.1:5672#2', zone: 'far', primary: 'false' })).toBe(1);
    expect(sampleValue(parsed, 'kazoo_lane_backlog')).toBe(5);
    expect(sampleValue(parsed, 'kazoo_up')).toBe(0);
    for (const family of parsed.values()) {
      expect(family.name).toMatch(/^kazoo_/);
      if (family.type === 'counter') expect(family.name).toMatch(/_total$/);
      expect(family.help).toBeTruthy();
    }
  });

  it('the strict parser rejects malformed text', () => {
    const ok = '# HELP a_total x\n# TYPE a_total counter\na_total{l="v"} 1\n';
    expect(() => parseExposition(ok)).not.toThrow();
    const bad = [
      'a_total 1\n', // no TYPE before
      ok + 'a_total{l="v"} 2\n', // duplicate series
      ok.replace('{l="v"}', '{l="v\\x"}'), // bad escape
      ok.replace(' 1\n', ' one\n'), // bad value
      ok.replace(' 1\n', ' -1\n'), // negative counter
      ok + '# TYPE b gauge\nb 1\na_total{l="w"} 1\n', // interleaved
      '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n', // not cumulative
      '# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 3\n', // count mismatch
      ok.slice(0, -1), // no final newline
    ];
    for (const text of bad) expect(() => parseExposition(text)).toThrow();
  });
});

describe('healthOf()', () => {
  it('is ok with an open primary producer, degraded when it is only blocked, unavailable otherwise', () => {
    const r = recorder(['amqp://127.0.0.1', 'zone=far;amqp://10.0.0.2']);
    expect(healthOf(r.snapshot())).toMatchObject({ status: 'unavailable', healthy: false });
    r.linkState(2, 'producer', 'open'); // not in the primary zone
    expect(healthOf(r.snapshot()).healthy).toBe(false);
    r.linkState(1, 'producer', 'open');
    expect(healthOf(r.snapshot())).toMatchObject({ status: 'ok', healthy: true });
    r.linkBlocked(1, 'producer', true);
    expect(healthOf(r.snapshot())).toMatchObject({ status: 'degraded', healthy: true });
    expect(healthOf(r.snapshot()).connections).toHaveLength(4);
  });
});

describe('redaction and the logger option', () => {
  it('redactText removes URL userinfo and known secrets', () => {
    expect(redactText('cannot reach amqp://bob:hunter22@h:5672/v (x)')).toBe('cannot reach amqp://***@h:5672/v (x)');
    expect(redactText('amqps://bob:p@ss@h and kazoo://h2', [])).toBe('amqps://***@h and kazoo://h2');
    expect(redactText('login refused for hunter22', ['hunter22'])).toBe('login refused for ***');
  });

  it('LogSink redacts messages and fields and survives a throwing logger', () => {
    const got: unknown[][] = [];
    const logger: KazooLogger = {
      debug: () => {
        throw new Error('broken logger');
      },
      info: (...a) => got.push(a),
      warn: (...a) => got.push(a),
      error: (...a) => got.push(a),
    };
    const sink = new LogSink(logger, ['t0psecret']);
    expect(sink.custom).toBe(true);
    sink.debug('ignored');
    sink.error('failed with t0psecret', { code: 'X', error: new Error('amqp://a:t0psecret@h'), nested: { url: 'amqp://a:b@h' } });
    expect(JSON.stringify(got)).not.toContain('t0psecret');
    expect(got[0][0]).toBe('failed with ***');
    const fields = got[0][1] as { error: Error; nested: { url: string } };
    expect(fields.error.message).toBe('amqp://***@h');
    expect(fields.nested.url).toBe('amqp://***@h');
  });

  it('without a logger, warnings stay process warnings', () => {
    const emit = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      const sink = new LogSink(null);
      expect(sink.custom).toBe(false);
      sink.info('not shown');
      sink.warn('shown', { code: 'KAZOO_X' });
      expect(emit).toHaveBeenCalledTimes(1);
      expect(emit).toHaveBeenCalledWith('shown', { code: 'KAZOO_X', type: 'KazooWarning' });
    } finally {
      emit.mockRestore();
    }
  });

  it('resolveConfig accepts console and rejects a logger without error()', () => {
    const base = { node_hostname: 'n.test', amqp_connection: 'amqp://127.0.0.1' };
    expect(resolveConfig({ ...base, logger: console }).logger).toBe(console);
    expect(resolveConfig(base).logger).toBeNull();
    const partial = { debug() {}, info() {}, warn() {} } as unknown as KazooLogger;
    expect(() => resolveConfig({ ...base, logger: partial })).toThrow(
      expect.objectContaining({ code: 'INVALID_CONFIG', message: 'kazoo: logger.error must be a function, got undefined' }),
    );
    expect(() => resolveConfig({ ...base, logger: 'console' as unknown as KazooLogger })).toThrow(KazooError);
  });
});

describe('argument checks', () => {
  const source = { stats: () => recorder().snapshot() };

  it('serveMetrics rejects a bad port or host with INVALID_ARGUMENT', async () => {
    await expect(serveMetrics(source, { port: 70000 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: 'kazoo: options.port must be an integer 0..65535, got 70000' });
    await expect(serveMetrics(source, { port: 0, host: '' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(serveMetrics({} as never, { port: 0 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('serveMetrics rejects with the listen error when the port is taken', async () => {
    const first = await serveMetrics(source, { port: 0 });
    try {
      const { port } = first.address() as AddressInfo;
      await expect(serveMetrics(source, { port })).rejects.toMatchObject({ code: 'EADDRINUSE' });
    } finally {
      await new Promise((r) => first.close(r));
    }
  });

  it('registerKazooMetrics rejects something that is not a registry', () => {
    expect(() => registerKazooMetrics(source, {} as never)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});
