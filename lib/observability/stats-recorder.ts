/**
 * The stats recorder: the one object the client calls at the points where things happen
 * (publish sent, confirmed, failed; query answered, timed out; delivery, ack, handler run;
 * connection state). Hot-path hooks are a typed-array increment and, for latencies, one clock
 * read; nothing is allocated per message. {@link StatsRecorder.snapshot} turns it all into
 * {@link KazooStats}.
 */
import { performance } from 'node:perf_hooks';
import type { ServerEndpoint } from '../connection-url';
import { redactText, type LogSink } from '../logger';
import { ConfirmTimer } from './confirm-timer';
import { ConnectionTracker } from './connection-tracker';
import { LatencyHistogram } from './histogram';
import type { ConnectionRole, KazooStats, QueueStats, RouteStats, ServerStats } from './stats-types';

// Per-server counters (Float64Array slots).
const P_SENT = 0;
const P_CONFIRMED = 1;
const P_NACKED = 2;
const P_FAILED = 3;
const Q_SENT = 4;
const Q_ANSWERED = 5;
const Q_TIMED_OUT = 6;
const Q_FAILED = 7;
const Q_LATE = 8;
const SERVER_COUNTERS = 9;

// Per-queue counters, one block per server.
const DELIVERED = 0;
const ACKED = 1;
const NACKED = 2;
const REQUEUED = 3;
const UNROUTED = 4;
const INVALID = 5;
const QUEUE_COUNTERS = 6;

interface ServerSeries {
  endpoint: ServerEndpoint;
  label: string;
  c: Float64Array;
  publishConfirm: LatencyHistogram;
  queryRoundTrip: LatencyHistogram;
  producer: ConnectionTracker;
  consumer: ConnectionTracker;
}

interface QueueSeries {
  queue: string;
  c: Float64Array;
  /** Subscriptions (ids) counting into this series. */
  users: number;
}

interface RouteSeries {
  route: string;
  /** [handled, failures] */
  c: Float64Array;
  duration: LatencyHistogram;
}

/** A pending operation as the client keeps it: publishes and queries have a target. */
interface WaiterShape {
  target?: unknown;
  query?: boolean;
}

/** What a failure record carries that tells a nack from other refusals. */
interface FailureShape {
  code: string;
  replyCode?: number;
}

/** The `server` label of an endpoint: `host:port`, plus `/vhost` unless it is `/`. */
export function serverLabel(endpoint: ServerEndpoint): string {
  const host = endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host;
  return `${host}:${endpoint.port}${endpoint.vhost === '/' ? '' : `/${endpoint.vhost}`}`;
}

/** Counts, gauges and histograms of one client; see the file comment. */
export class StatsRecorder {
  private readonly servers: ServerSeries[];
  private readonly queuesBySub = new Map<number, QueueSeries>();
  private readonly queuesByName = new Map<string, QueueSeries>();
  private readonly routes = new Map<string, RouteSeries>();
  private readonly timer = new ConfirmTimer();
  /** Set by {@link batch}: one clock read for every confirm of a native batch. */
  private batchNow = 0;
  /**
   * Send time shared by the publishes of one event-loop turn (-1: read the clock). A clock read
   * costs 50-250 ns on a VM, more than all the counting; a native batch's clock read serves the
   * publishes its confirms trigger. Expired by an immediate at the end of the turn.
   */
  private sendNow = -1;
  private expiryArmed = false;
  private readonly expireSendNow = (): void => {
    this.sendNow = -1;
    this.expiryArmed = false;
  };

  /**
   * @param endpoints the configured servers, in `amqp_connection` order.
   * @param log the client's log sink (connection changes are logged through it).
   * @param lanes worker count and a reader of the current lane backlog.
   */
  constructor(
    endpoints: readonly ServerEndpoint[],
    log: LogSink,
    private readonly lanes: { workers: number; backlog: () => number },
  ) {
    const secrets = endpoints.map((e) => e.password);
    const redact = (text: string) => redactText(text, secrets);
    const seen = new Set<string>();
    this.servers = endpoints.map((endpoint) => {
      let label = serverLabel(endpoint);
      // The same broker listed twice still needs distinct series.
      if (seen.has(label)) label = `${label}#${endpoint.serverId}`;
      seen.add(label);
      const where = `${label} (zone ${endpoint.zone})`;
      return {
        endpoint,
        label,
        c: new Float64Array(SERVER_COUNTERS),
        publishConfirm: new LatencyHistogram(),
        queryRoundTrip: new LatencyHistogram(),
        producer: new ConnectionTracker('producer', where, log, redact),
        consumer: new ConnectionTracker('consumer', where, log, redact),
      };
    });
  }

  // ------------------------------------------------------------------------------------------
  // Connections

  /** A connection's first connect attempt begins (the client started it). */
  linkStarting(serverId: number, role: ConnectionRole): void {
    this.tracker(serverId, role).starting();
  }

  /** A connection opened or closed. */
  linkState(serverId: number, role: ConnectionRole, state: 'open' | 'closed', reason?: string): void {
    this.tracker(serverId, role).changed(state, reason);
  }

  /** The broker blocked or unblocked a connection (`connection.blocked` / `unblocked`). */
  linkBlocked(serverId: number, role: ConnectionRole, blocked: boolean, reason?: string): void {
    this.tracker(serverId, role).blocked(blocked, reason);
  }

  /** A connect attempt failed. */
  connectFailed(serverId: number, role: ConnectionRole, reason: string): void {
    this.tracker(serverId, role).connectFailed(reason);
  }

  /** close() began. */
  closing(): void {
    for (const s of this.servers) {
      s.producer.closing();
      s.consumer.closing();
    }
  }

  /**
   * close() closed the connections: whatever is still in flight or pending is about to be
   * rejected with CLOSED, so it counts as failed and the gauges return to 0.
   */
  closed(): void {
    for (const s of this.servers) {
      const c = s.c;
      c[P_FAILED] += c[P_SENT] - c[P_CONFIRMED] - c[P_NACKED] - c[P_FAILED];
      c[Q_FAILED] += c[Q_SENT] - c[Q_ANSWERED] - c[Q_TIMED_OUT] - c[Q_FAILED];
      s.producer.closed();
      s.consumer.closed();
    }
    this.timer.clear();
  }

  // ------------------------------------------------------------------------------------------
  // Publishes and queries (hot path)

  /** Monotonic clock in ms (performance.now()), for handler durations. */
  clock(): number {
    return performance.now();
  }

  /** A native batch begins: its confirms share one clock read. */
  batch(): void {
    this.batchNow = this.sendNow = performance.now();
    this.armExpiry();
  }

  /** Publish or query `id` was handed to `serverId`'s producer connection. */
  sent(serverId: number, id: number, isQuery: boolean): void {
    const c = this.servers[serverId - 1].c;
    if (isQuery) {
      c[Q_SENT]++;
    } else {
      c[P_SENT]++;
      let now = this.sendNow;
      if (now < 0) {
        now = this.sendNow = performance.now();
        this.armExpiry();
      }
      this.timer.start(id, now);
    }
  }

  /** Publish `id` was confirmed (call {@link batch} first in the batch). */
  publishConfirmed(serverId: number, id: number): void {
    const s = this.servers[serverId - 1];
    s.c[P_CONFIRMED]++;
    const ms = this.timer.stop(id, this.batchNow);
    if (ms >= 0) s.publishConfirm.observe(ms);
  }

  /**
   * Operation `id` failed. `waiter` is the client's pending entry (undefined when already
   * settled: not counted again); entries without a target (subscribe, close) are not counted.
   */
  failed(serverId: number, id: number, waiter: WaiterShape | undefined, failure: FailureShape): void {
    if (waiter === undefined || waiter.target === undefined) return;
    const c = this.servers[serverId - 1].c;
    if (waiter.query === true) {
      c[Q_FAILED]++;
      return;
    }
    this.timer.stop(id, 0);
    // A broker nack is a refusal without a channel error (no AMQP reply code).
    if (failure.code === 'BROKER_REFUSED' && failure.replyCode === undefined) c[P_NACKED]++;
    else c[P_FAILED]++;
  }

  /** A query got its reply after `elapsedMs` (measured by the I/O thread). */
  queryAnswered(serverId: number, elapsedMs: number): void {
    const s = this.servers[serverId - 1];
    s.c[Q_ANSWERED]++;
    s.queryRoundTrip.observe(elapsedMs);
  }

  /** A query timed out. */
  queryTimedOut(serverId: number): void {
    this.servers[serverId - 1].c[Q_TIMED_OUT]++;
  }

  /**
   * A blocking query (`querySync`, the KEMI shim's `kazoo_query`) to `serverId` ended: counted as
   * sent, then answered (with its round trip), timed out or failed.
   */
  syncQuery(serverId: number, outcome: { readonly t: 'reply' | 'timeout' | 'fail'; readonly elapsedMs?: number }): void {
    const s = this.servers[serverId - 1];
    s.c[Q_SENT]++;
    if (outcome.t === 'reply') {
      s.c[Q_ANSWERED]++;
      s.queryRoundTrip.observe(outcome.elapsedMs ?? 0);
    } else if (outcome.t === 'timeout') {
      s.c[Q_TIMED_OUT]++;
    } else {
      s.c[Q_FAILED]++;
    }
  }

  // ------------------------------------------------------------------------------------------
  // Subscriptions and deliveries (hot path)

  /** Subscription `subId` consumes `queue` ('' = server-named, not known yet: ignored). */
  subscribed(subId: number, queue: string): void {
    if (queue === '' || this.queuesBySub.has(subId)) return;
    let series = this.queuesByName.get(queue);
    if (!series) {
      series = { queue, c: new Float64Array(this.servers.length * QUEUE_COUNTERS), users: 0 };
      this.queuesByName.set(queue, series);
    }
    series.users++;
    this.queuesBySub.set(subId, series);
  }

  /** Subscription `subId` is gone; its queue's series goes when no subscription uses it. */
  unsubscribed(subId: number): void {
    const series = this.queuesBySub.get(subId);
    if (!series) return;
    this.queuesBySub.delete(subId);
    if (--series.users === 0) this.queuesByName.delete(series.queue);
  }

  /** A message of subscription `subId` (0: a late query reply) came in through `serverId`. */
  delivered(serverId: number, subId: number): void {
    if (subId === 0) {
      this.servers[serverId - 1].c[Q_LATE]++;
      return;
    }
    const series = this.queuesBySub.get(subId);
    if (series) series.c[(serverId - 1) * QUEUE_COUNTERS + DELIVERED]++;
  }

  /** A delivery matched no event route (`invalid` false) or is not a JSON object (`invalid` true). */
  unhandled(serverId: number, subId: number, invalid: boolean): void {
    const series = this.queuesBySub.get(subId);
    if (series) series.c[(serverId - 1) * QUEUE_COUNTERS + (invalid ? INVALID : UNROUTED)]++;
  }

  /** A delivery was acked, nacked, or nacked with requeue. */
  settled(serverId: number, subId: number, ack: boolean, requeue: boolean): void {
    const series = this.queuesBySub.get(subId);
    if (series) series.c[(serverId - 1) * QUEUE_COUNTERS + (ack ? ACKED : requeue ? REQUEUED : NACKED)]++;
  }

  /** The handler of `route` returned normally; `startedAt` from {@link clock}. */
  handled(route: string, startedAt: number): void {
    const series = this.route(route);
    series.c[0]++;
    series.duration.observe(performance.now() - startedAt);
  }

  /** The handler of `route` threw or rejected; `startedAt` from {@link clock}. */
  handlerFailed(route: string, startedAt: number): void {
    const series = this.route(route);
    series.c[1]++;
    series.duration.observe(performance.now() - startedAt);
  }

  // ------------------------------------------------------------------------------------------
  // Snapshot

  /** True while a primary-zone producer connection is open (blocked included). */
  primaryUp(): boolean {
    return this.servers.some((s) => s.endpoint.primary && s.producer.up);
  }

  /** Every counter, gauge and histogram now. */
  snapshot(): KazooStats {
    const servers: ServerStats[] = this.servers.map((s) => {
      const c = s.c;
      return {
        serverId: s.endpoint.serverId,
        server: s.label,
        host: s.endpoint.host,
        port: s.endpoint.port,
        vhost: s.endpoint.vhost,
        zone: s.endpoint.zone,
        primary: s.endpoint.primary,
        producer: s.producer.snapshot(),
        consumer: s.consumer.snapshot(),
        publishes: {
          sent: c[P_SENT],
          confirmed: c[P_CONFIRMED],
          nacked: c[P_NACKED],
          failed: c[P_FAILED],
          inFlight: c[P_SENT] - c[P_CONFIRMED] - c[P_NACKED] - c[P_FAILED],
        },
        queries: {
          sent: c[Q_SENT],
          answered: c[Q_ANSWERED],
          timedOut: c[Q_TIMED_OUT],
          failed: c[Q_FAILED],
          late: c[Q_LATE],
          pending: c[Q_SENT] - c[Q_ANSWERED] - c[Q_TIMED_OUT] - c[Q_FAILED],
        },
        publishConfirm: s.publishConfirm.snapshot(),
        queryRoundTrip: s.queryRoundTrip.snapshot(),
      };
    });
    const queues: QueueStats[] = [];
    for (const series of this.queuesByName.values()) {
      this.servers.forEach((s, i) => {
        const base = i * QUEUE_COUNTERS;
        const c = series.c;
        // Non-primary servers consume only federated subscriptions: shown once they count.
        if (!s.endpoint.primary && !c.subarray(base, base + QUEUE_COUNTERS).some((v) => v !== 0)) return;
        queues.push({
          queue: series.queue,
          server: s.label,
          serverId: s.endpoint.serverId,
          deliveries: c[base + DELIVERED],
          acks: c[base + ACKED],
          nacks: c[base + NACKED],
          requeues: c[base + REQUEUED],
          unrouted: c[base + UNROUTED],
          invalid: c[base + INVALID],
        });
      });
    }
    const routes: RouteStats[] = [...this.routes.values()].map((r) => ({
      route: r.route,
      handled: r.c[0],
      failures: r.c[1],
      duration: r.duration.snapshot(),
    }));
    return { at: Date.now(), servers, queues, routes, lanes: { workers: this.lanes.workers, backlog: this.lanes.backlog() } };
  }

  private armExpiry(): void {
    if (this.expiryArmed) return;
    this.expiryArmed = true;
    setImmediate(this.expireSendNow);
  }

  private tracker(serverId: number, role: ConnectionRole): ConnectionTracker {
    const s = this.servers[serverId - 1];
    return role === 'producer' ? s.producer : s.consumer;
  }

  private route(route: string): RouteSeries {
    let series = this.routes.get(route);
    if (series === undefined) {
      series = { route, c: new Float64Array(2), duration: new LatencyHistogram() };
      this.routes.set(route, series);
    }
    return series;
  }
}
