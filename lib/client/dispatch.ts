/**
 * Dispatch: how a delivery or a connection event becomes a handler call. Settlement rules
 * (no_ack, wait_for_consumer_ack, requeue_on_error), the worker lanes that run handlers, stale
 * deliveries after a reconnect, and the gate that holds everything until `kazoo:mod-init` ran.
 */
import type { ResolvedConfig } from '../config';
import { consistentWorker } from '../core-hash';
import { describeValue, KazooError } from '../errors';
import { KazooEvent } from '../event';
import type { NativeEvent } from '../native';
import type { StatsRecorder } from '../observability/stats-recorder';
import { connectionEventPayload } from '../route-names';
import { WorkerLanes } from '../worker-lanes';
import type { Link } from './links';
import type { Reporter } from './reporter';
import type { RouteMatch, Router } from './router';
import type { ClientState } from './state';
import type { Subscriptions } from './subscriptions';

/** A native delivery event. */
export type Delivery = Extract<NativeEvent, { t: 'delivery' }>;

type Settle = (ack: boolean, requeue: boolean) => void;

/** Runs handlers for deliveries and connection events in the worker lanes. */
export class Dispatcher {
  private readonly lanes: WorkerLanes;
  /** Deliveries and connection events that arrived while kazoo:mod-init ran (null otherwise). */
  private held: Array<() => void> | null = null;
  private readonly escapeChar: string;

  constructor(
    private readonly config: ResolvedConfig,
    private readonly state: ClientState,
    private readonly router: Router,
    private readonly subscriptions: Subscriptions,
    private readonly reporter: Reporter,
    private readonly recorder: StatsRecorder,
  ) {
    this.lanes = new WorkerLanes(config.amqp_consumer_workers);
    this.escapeChar = config.json_escape_char;
  }

  /** From now on, hold every delivery and connection route until {@link release} or {@link dropHeld}. */
  hold(): void {
    this.held = [];
  }

  /** Dispatches everything held, in arrival order, and stops holding. */
  release(): void {
    const held = this.held ?? [];
    this.held = null;
    for (const dispatch of held) dispatch();
  }

  /** Stops holding and forgets what was held (start-up failed; the broker requeues it). */
  dropHeld(): void {
    this.held = null;
  }

  /** Handlers queued in the lanes and not started yet (the lane backlog gauge of stats()). */
  get backlog(): number {
    return this.lanes.backlog;
  }

  /** Resolves once no handler is running or queued. */
  idle(): Promise<void> {
    return this.lanes.idle();
  }

  /** A new KazooEvent with this client's escape character. */
  event(name: string, payload: string, routingKey = '', exchange = '', redelivered = false): KazooEvent {
    return new KazooEvent(name, payload, routingKey, exchange, redelivered, this.escapeChar);
  }

  /** Runs the route of connection event `state` of `link` (`$kzE` is the module's hand-made payload). */
  connectionRoute(link: Link, state: 'open' | 'closed'): void {
    const route = this.router.forConnection(state);
    if (!route) return;
    const c = this.config;
    const payload = connectionEventPayload(c.amqp_consumer_event_key, c.amqp_consumer_event_subkey, state, link.endpoint.host, link.endpoint.zone);
    const dispatch = () => this.lanes.push(this.lanes.nextLane(), () => this.run(route, this.event(route.name, payload)));
    // Held like deliveries until kazoo:mod-init has run.
    if (this.held) this.held.push(dispatch);
    else dispatch();
  }

  /** Settles and dispatches one consumed message (or late reply, subId 0) from `link`. */
  delivery(link: Link, d: Delivery): void {
    // Not dispatched while closing: the broker requeues every unsettled delivery when the channel closes.
    if (this.state.ended) return;
    if (this.held) {
      // kazoo:mod-init is still running: its subscriptions must all be in place first.
      this.held.push(() => this.delivery(link, d));
      return;
    }
    const record = d.subId === 0 ? undefined : this.subscriptions.get(d.subId);
    // Unsubscribed meanwhile: its channel is being closed and the broker requeues what it sent.
    if (d.subId !== 0 && record === undefined) return;
    const serverId = link.endpoint.serverId;
    this.recorder.delivered(serverId, d.subId);
    const sub = record?.normalized;
    // no_ack: 1 (the module's default) keeps its at-most-once meaning, but the broker sees manual
    // acks with a prefetch: the message is acked when its handler starts, so at most `prefetch`
    // of them wait in the lanes. Late query replies (tag 0) have nothing to settle.
    const noAck = sub ? sub.native.noAck : true;
    const settle: Settle = (ack, requeue) => {
      if (d.tag === 0) return;
      link.settles.add(d.subId, d.epoch, d.tag, ack, requeue);
      this.recorder.settled(serverId, d.subId, ack, requeue);
    };
    // Requeue (requeue_on_error) at most once: a message that failed again after a redelivery
    // goes to the dead-letter exchange instead of looping between broker and handler forever.
    const requeueOnError = (sub ? sub.requeueOnError : false) && !d.redelivered;
    const where = { routingKey: d.routingKey, exchange: d.exchange, queue: record?.queue };
    if (d.payload === null) {
      this.recorder.unhandled(serverId, d.subId, true);
      // A body that is not JSON never will be: never requeued (no_ack: 1 drops it, as the module).
      settle(noAck, false);
      const dropped = noAck ? ' (dropped: no_ack)' : '';
      this.reporter.error(new KazooError('INVALID_MESSAGE', `kazoo: a message on ${describeValue(d.routingKey)} is not a JSON object${dropped}`, where));
      return;
    }
    const { route, candidates } = this.router.forDelivery(d.subId, sub, d.category, d.name);
    if (!route) {
      this.recorder.unhandled(serverId, d.subId, false);
      if (noAck) settle(true, false);
      else settle(false, requeueOnError);
      this.reporter.error(new KazooError('NO_ROUTE', `kazoo: no event route for ${candidates[0]} (tried ${candidates.join(', ')})`, where));
      return;
    }
    const waitForAck = !noAck && (sub ? sub.waitForConsumerAck : true);
    const ackedOnReceipt = !noAck && !waitForAck;
    if (ackedOnReceipt) settle(true, false);
    const lane = sub?.consistentWorker ? consistentWorker(d.workerKey, this.lanes.size) : this.lanes.nextLane();
    const payload = d.payload;
    this.lanes.push(lane, () => {
      // Queued before its channel went away (reconnect, unsubscribe): the broker has requeued it
      // and will deliver it again, so running it now would handle it twice.
      // (One already acked on receipt is not coming back: it runs.)
      if (record && !ackedOnReceipt && !this.subscriptions.isCurrent(record, link, d.epoch)) return;
      if (noAck) settle(true, false);
      const event = this.event(route.name, payload, d.routingKey, d.exchange, d.redelivered);
      return this.run(route, event, waitForAck ? settle : undefined, requeueOnError);
    });
  }

  /**
   * Calls `route`'s handler; a throw or rejection nacks (with `settle`) and is reported as
   * HANDLER_FAILED, success acks. Returns the handler's promise so the lane waits for it.
   */
  run(route: RouteMatch, event: KazooEvent, settle?: Settle, requeueOnError = false): void | Promise<void> {
    const startedAt = this.recorder.clock();
    const fail = (error: unknown) => {
      this.recorder.handlerFailed(route.name, startedAt);
      settle?.(false, requeueOnError);
      const err = new KazooError('HANDLER_FAILED', `kazoo: event route ${route.name} failed: ${error instanceof Error ? error.message : String(error)}`, {
        routingKey: event.routingKey,
      });
      (err as Error & { cause?: unknown }).cause = error;
      this.reporter.error(err);
    };
    try {
      const result = route.handler(event);
      if (result !== undefined && typeof (result as Promise<void>).then === 'function') {
        return (result as Promise<void>).then(() => {
          this.recorder.handled(route.name, startedAt);
          settle?.(true, false);
        }, fail);
      }
      this.recorder.handled(route.name, startedAt);
      settle?.(true, false);
    } catch (error) {
      fail(error);
    }
  }
}
