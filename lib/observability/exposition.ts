/**
 * {@link KazooStats} as Prometheus metric families (`kazoo_…` names, `server`/`role`/`queue`/
 * `route` labels, `_total` counters, histograms with `_bucket{le}`/`_sum`/`_count`), and their
 * rendering in the Prometheus text exposition format 0.0.4. The families are also what the
 * prom-client bridge hands to a registry, so both views always agree.
 */
import type { HistogramSnapshot } from './histogram';
import { isHealthy } from './health';
import type { ConnectionStats, KazooStats } from './stats-types';

/** Prometheus metric type. */
export type MetricType = 'counter' | 'gauge' | 'histogram';

/** One sample line: full metric name (with `_bucket`/`_sum`/`_count` for histograms). */
export interface MetricSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** One metric family: HELP, TYPE and its samples. */
export interface MetricFamily {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  readonly samples: MetricSample[];
}

/** Content-Type of {@link renderExposition}'s output. */
export const EXPOSITION_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const STATES = ['connecting', 'open', 'blocked', 'closed'] as const;

class Families {
  readonly list: MetricFamily[] = [];

  add(name: string, type: MetricType, help: string): MetricFamily {
    const family: MetricFamily = { name, help, type, samples: [] };
    this.list.push(family);
    return family;
  }

  /** A counter or gauge family filled from `rows`. */
  simple<T>(name: string, type: 'counter' | 'gauge', help: string, rows: readonly T[], labels: (row: T) => Record<string, string>, value: (row: T) => number): void {
    const family = this.add(name, type, help);
    for (const row of rows) family.samples.push({ name, labels: labels(row), value: value(row) });
  }

  /** A histogram family filled from `rows`. */
  histogram<T>(name: string, help: string, rows: readonly T[], labels: (row: T) => Record<string, string>, value: (row: T) => HistogramSnapshot): void {
    const family = this.add(name, 'histogram', help);
    for (const row of rows) {
      const base = labels(row);
      const h = value(row);
      h.buckets.forEach((le, i) => family.samples.push({ name: `${name}_bucket`, labels: { ...base, le: formatValue(le) }, value: h.counts[i] }));
      family.samples.push({ name: `${name}_bucket`, labels: { ...base, le: '+Inf' }, value: h.count });
      family.samples.push({ name: `${name}_sum`, labels: base, value: h.sum });
      family.samples.push({ name: `${name}_count`, labels: base, value: h.count });
    }
  }
}

/** Every kazoo-amqp metric family for `stats` (docs/operations.md describes each). */
export function metricFamilies(stats: KazooStats): MetricFamily[] {
  const f = new Families();
  const servers = stats.servers;
  const links = servers.flatMap((s) => [s.producer, s.consumer].map((c) => ({ server: s.server, c })));
  const linkLabels = (l: { server: string; c: ConnectionStats }) => ({ server: l.server, role: l.c.role });
  const server = (s: { server: string }) => ({ server: s.server });

  f.simple('kazoo_up', 'gauge', '1 while a primary-zone producer connection is open (what /health reports as 200)', [stats], () => ({}), (s) => (isHealthy(s) ? 1 : 0));
  f.simple(
    'kazoo_server_info',
    'gauge',
    'Configured brokers (amqp_connection entries): server id, zone and whether it is in the primary zone',
    servers,
    (s) => ({ server: s.server, server_id: String(s.serverId), zone: s.zone, primary: s.primary ? 'true' : 'false' }),
    () => 1,
  );
  f.simple('kazoo_connection_up', 'gauge', '1 while the connection is open (blocked included), else 0', links, linkLabels, (l) => (l.c.state === 'open' || l.c.state === 'blocked' ? 1 : 0));
  const state = f.add('kazoo_connection_state', 'gauge', 'Connection state: 1 for the current state (connecting, open, blocked, closed), 0 for the others');
  for (const l of links) for (const st of STATES) state.samples.push({ name: state.name, labels: { ...linkLabels(l), state: st }, value: l.c.state === st ? 1 : 0 });
  f.simple('kazoo_connection_opens_total', 'counter', 'Times the connection opened, the first connect included', links, linkLabels, (l) => l.c.opens);
  f.simple('kazoo_reconnects_total', 'counter', 'Times the connection opened again after it had been open', links, linkLabels, (l) => l.c.reconnects);
  f.simple('kazoo_connect_failures_total', 'counter', 'Connect attempts that failed (every back-off attempt counts)', links, linkLabels, (l) => l.c.connectFailures);

  f.simple('kazoo_publishes_total', 'counter', 'Publishes handed to the producer connection', servers, server, (s) => s.publishes.sent);
  f.simple('kazoo_publishes_confirmed_total', 'counter', 'Publishes the broker confirmed (written to the socket when amqp_publisher_confirms is 0)', servers, server, (s) => s.publishes.confirmed);
  f.simple('kazoo_publishes_nacked_total', 'counter', 'Publishes the broker refused with basic.nack', servers, server, (s) => s.publishes.nacked);
  f.simple('kazoo_publishes_failed_total', 'counter', 'Publishes that failed otherwise: channel error (e.g. 404), connection lost, client closed', servers, server, (s) => s.publishes.failed);
  f.simple('kazoo_publishes_in_flight', 'gauge', 'Publishes sent and not yet confirmed or failed', servers, server, (s) => s.publishes.inFlight);
  f.histogram('kazoo_publish_confirm_seconds', 'Time from publish() to the broker confirm', servers, server, (s) => s.publishConfirm);

  f.simple('kazoo_queries_total', 'counter', 'Queries sent', servers, server, (s) => s.queries.sent);
  f.simple('kazoo_queries_answered_total', 'counter', 'Queries that got their correlated reply in time', servers, server, (s) => s.queries.answered);
  f.simple('kazoo_queries_timed_out_total', 'counter', 'Queries that got no reply within their timeout', servers, server, (s) => s.queries.timedOut);
  f.simple('kazoo_queries_failed_total', 'counter', 'Queries that failed otherwise: nacked, refused, connection lost, client closed', servers, server, (s) => s.queries.failed);
  f.simple('kazoo_query_late_replies_total', 'counter', 'Replies that arrived after their query timed out', servers, server, (s) => s.queries.late);
  f.simple('kazoo_queries_pending', 'gauge', 'Queries waiting for their reply', servers, server, (s) => s.queries.pending);
  f.histogram('kazoo_query_duration_seconds', 'Query round trip: sent to reply received (answered queries)', servers, server, (s) => s.queryRoundTrip);

  const queues = stats.queues;
  const queue = (q: { server: string; queue: string }) => ({ server: q.server, queue: q.queue });
  f.simple('kazoo_deliveries_total', 'counter', 'Messages consumed from the subscription queue and dispatched', queues, queue, (q) => q.deliveries);
  f.simple('kazoo_acks_total', 'counter', 'Deliveries acked (basic.ack)', queues, queue, (q) => q.acks);
  f.simple('kazoo_nacks_total', 'counter', 'Deliveries nacked without requeue (dead-lettered or dropped by the broker)', queues, queue, (q) => q.nacks);
  f.simple('kazoo_requeues_total', 'counter', 'Deliveries nacked with requeue', queues, queue, (q) => q.requeues);
  f.simple('kazoo_deliveries_unrouted_total', 'counter', 'Deliveries no event route handled (NO_ROUTE)', queues, queue, (q) => q.unrouted);
  f.simple('kazoo_deliveries_invalid_total', 'counter', 'Deliveries whose body is not a JSON object (INVALID_MESSAGE)', queues, queue, (q) => q.invalid);

  const routes = stats.routes;
  const route = (r: { route: string }) => ({ route: r.route });
  f.simple('kazoo_route_handled_total', 'counter', 'Event-route handler runs that completed', routes, route, (r) => r.handled);
  f.simple('kazoo_route_failures_total', 'counter', 'Event-route handler runs that threw or rejected (HANDLER_FAILED)', routes, route, (r) => r.failures);
  f.histogram('kazoo_handler_duration_seconds', 'Event-route handler run time, until its promise settled', routes, route, (r) => r.duration);

  f.simple('kazoo_lane_backlog', 'gauge', 'Deliveries and events queued in the worker lanes, not started yet', [stats], () => ({}), (s) => s.lanes.backlog);
  f.simple('kazoo_lane_workers', 'gauge', 'Worker lanes (amqp_consumer_workers)', [stats], () => ({}), (s) => s.lanes.workers);
  return f.list;
}

/** A sample value as Prometheus writes it (`+Inf`, `-Inf`, `NaN`, else the shortest decimal). */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** `families` in the Prometheus text exposition format 0.0.4 (ends with a newline). */
export function renderExposition(families: readonly MetricFamily[]): string {
  const lines: string[] = [];
  for (const family of families) {
    lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`, `# TYPE ${family.name} ${family.type}`);
    for (const sample of family.samples) {
      const keys = Object.keys(sample.labels);
      const labels = keys.length === 0 ? '' : `{${keys.map((k) => `${k}="${escapeLabel(sample.labels[k])}"`).join(',')}}`;
      lines.push(`${sample.name}${labels} ${formatValue(sample.value)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
