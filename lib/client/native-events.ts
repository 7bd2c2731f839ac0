/**
 * The batch callback: turns each event a link's I/O thread reports into the call of the part
 * that owns it (pending operations, link state, subscriptions, dispatch, reporting). Events are
 * handled one by one, each contained: whatever one event throws is reported and the rest of the
 * batch, settlements included, still runs.
 */
import { describeValue, KazooError } from '../errors';
import type { NativeEvent } from '../native';
import { KazooReply } from '../message';
import type { StatsRecorder } from '../observability/stats-recorder';
import type { Delivery, Dispatcher } from './dispatch';
import type { Link } from './links';
import type { ConnectionEvent } from './options';
import type { PendingOperations } from './pending';
import type { Reporter } from './reporter';
import type { Subscriptions } from './subscriptions';

/** Handles the native batches of every link of one client. */
export class NativeEvents {
  constructor(
    private readonly escapeChar: string,
    private readonly pending: PendingOperations,
    private readonly subscriptions: Subscriptions,
    private readonly dispatcher: Dispatcher,
    private readonly reporter: Reporter,
    private readonly recorder: StatsRecorder,
  ) {}

  /** One batch from `link`: `done` ids resolve first, then each event in order. */
  batch(link: Link, done: Uint32Array | null, events: NativeEvent[] | null): void {
    if (done) {
      this.recorder.batch();
      this.pending.resolveAll(done, this.recorder, link.endpoint.serverId);
    }
    if (!events) return;
    for (const event of events) {
      if (event.t === 'deliveries') this.deliveries(link, event);
      else if (event.t === 'replies') this.replies(link, event);
      else this.contained(link, event);
    }
  }

  /** Handles one event; whatever it throws is reported and the rest of the batch still runs. */
  private contained(link: Link, event: NativeEvent): void {
    try {
      this.event(link, event);
    } catch (error) {
      // Listeners and handlers are contained where they run; reaching here is a bug in lib/,
      // which must not cost the rest of the batch either.
      this.reporter.warning(`kazoo: handling a '${event.t}' event failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`, 'INTERNAL');
    }
  }

  /** A run of deliveries in columns (typings/native.d.ts): one 'delivery' event each, in order. */
  private deliveries(link: Link, run: Extract<NativeEvent, { t: 'deliveries' }>): void {
    const { n, numbers, indexes, payloads, texts } = run;
    for (let i = 0; i < n; i++) {
      const at = i * 5;
      const hasPayload = numbers[at + 4] === 1;
      const delivery: Delivery = {
        t: 'delivery',
        subId: numbers[at],
        epoch: numbers[at + 1],
        tag: numbers[at + 2],
        routingKey: texts[indexes[at]],
        exchange: texts[indexes[at + 1]],
        redelivered: numbers[at + 3] === 1,
        payload: hasPayload ? payloads[i] : null,
        raw: hasPayload ? undefined : payloads[i],
        category: texts[indexes[at + 2]],
        name: texts[indexes[at + 3]],
        workerKey: texts[indexes[at + 4]],
      };
      this.contained(link, delivery);
    }
  }

  /** A run of query replies in columns: one 'reply' event each, in order. */
  private replies(link: Link, run: Extract<NativeEvent, { t: 'replies' }>): void {
    const { ids, elapsedMs, payloads, routingKeys } = run;
    for (let i = 0; i < ids.length; i++) {
      this.contained(link, { t: 'reply', id: ids[i], payload: payloads[i], routingKey: routingKeys[i], elapsedMs: elapsedMs[i] });
    }
  }

  private event(link: Link, event: NativeEvent): void {
    switch (event.t) {
      case 'fail':
        this.recorder.failed(link.endpoint.serverId, event.id, this.pending.waiter(event.id), event.error);
        this.pending.reject(event.id, event.error);
        break;
      case 'reply':
        if (!this.pending.has(event.id)) break;
        this.recorder.queryAnswered(link.endpoint.serverId, event.elapsedMs);
        this.pending.resolve(event.id, new KazooReply(event.payload, event.routingKey, event.elapsedMs, this.escapeChar));
        break;
      case 'timeout': {
        if (!this.pending.has(event.id)) break;
        this.recorder.queryTimedOut(link.endpoint.serverId);
        const q = this.pending.target(event.id) ?? { exchange: '', routingKey: '' };
        this.pending.reject(event.id, {
          code: 'QUERY_TIMEOUT',
          message: `kazoo: no reply to the query on exchange ${describeValue(q.exchange)} with routing key ${describeValue(q.routingKey)} within ${Math.round(event.elapsedMs)} ms`,
          exchange: q.exchange,
          routingKey: q.routingKey,
          elapsedMs: event.elapsedMs,
        });
        break;
      }
      case 'conn':
        this.connection(link, event.state, event.reason);
        break;
      case 'blocked': {
        const info: ConnectionEvent = { event: event.blocked ? 'blocked' : 'unblocked', role: link.role, host: link.endpoint.host, zone: link.endpoint.zone };
        if (event.reason) info.reason = event.reason;
        this.recorder.linkBlocked(link.endpoint.serverId, link.role, event.blocked, event.reason);
        this.reporter.connection(info);
        break;
      }
      case 'delivery':
        this.dispatcher.delivery(link, event);
        break;
      case 'subscribed':
        this.subscriptions.onSubscribed(link, event.subId, event.queue, event.epoch);
        break;
      case 'subfail':
        this.subscriptions.onSubscribeFailed(link, event.subId, event.error);
        break;
      case 'error':
        if (event.error.code === 'CONNECT_FAILED') {
          this.recorder.connectFailed(link.endpoint.serverId, link.role, event.error.message);
          link.attempting = false;
          link.markAttempted();
          this.subscriptions.onLinkDown(link, false);
          // One report per outage, not one per reconnect attempt.
          if (link.failing) break;
          link.failing = true;
        }
        this.reporter.error(KazooError.from({ ...event.error, host: link.endpoint.host }));
        break;
    }
  }

  private connection(link: Link, state: 'open' | 'closed', reason?: string): void {
    this.recorder.linkState(link.endpoint.serverId, link.role, state, reason);
    link.open = state === 'open';
    if (link.open) link.failing = false;
    link.attempting = false;
    link.markAttempted();
    // Deliveries queued from a closed connection are stale, and declarations it will not confirm
    // until it is back must not hold subscribe().
    if (!link.open) this.subscriptions.onLinkDown(link, true);
    const info: ConnectionEvent = { event: state, role: link.role, host: link.endpoint.host, zone: link.endpoint.zone };
    if (reason) info.reason = reason;
    this.reporter.connection(info);
    this.dispatcher.connectionRoute(link, state);
  }
}
