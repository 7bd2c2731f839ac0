/**
 * The kazoo-amqp client: what Kamailio's `kazoo` module does for Kamailio, for a Node SIP server.
 * This file is the facade: it checks arguments and hands each call to the one part that owns it
 * (lib/client/*). The wiring in the constructor is the map of those parts.
 */
import { EventEmitter } from 'node:events';
import { emitConfigWarnings, resolveConfig, type KazooConfig, type ResolvedConfig } from './config';
import { encode } from './encode';
import { invalid } from './errors';
import type { EventRouteHandler } from './event';
import { json } from './json';
import type { KazooReply } from './message';
import { normalizeSubscription, type SubscriptionDescription } from './subscription';
import { LogSink, type KazooLogger } from './logger';
import { metricFamilies, renderExposition } from './observability/exposition';
import { StatsRecorder } from './observability/stats-recorder';
import type { KazooStats } from './observability/stats-types';
import { checkRoute, checkSend, checkSubscribeStrings } from './client/arguments';
import { Dispatcher } from './client/dispatch';
import { Lifecycle } from './client/lifecycle';
import { PresencePublisher } from './presence/publisher';
import type { PuaResult } from './presence/types';
import { Links } from './client/links';
import { NativeEvents } from './client/native-events';
import type { PublishOptions, QueryOptions, SubscriptionInfo } from './client/options';
import { PendingOperations } from './client/pending';
import { Producers } from './client/producers';
import { Reporter } from './client/reporter';
import { Router } from './client/router';
import { ClientState } from './client/state';
import { Subscriptions } from './client/subscriptions';

export { KazooEvent, type EventRouteHandler } from './event';
export type { ConnectionEvent, PublishOptions, QueryOptions, SubscriptionInfo } from './client/options';

/**
 * A connection to a Kazoo/RabbitMQ bus with the Kamailio `kazoo` module's behaviour.
 *
 * Events: `'connection'` ({@link ConnectionEvent}) when a broker connection opens, closes, is
 * blocked or unblocked; `'error'` (KazooError) for asynchronous problems not tied to a call (a
 * subscription the broker refused after a reconnect, a handler that failed, a message no route
 * handled, a `'connection'` listener that threw). Without an `'error'` listener those are
 * reported with the `logger` option's `error`, or `process.emitWarning` without one, instead of
 * throwing. Every listener runs in its own
 * try/catch: a throwing listener never costs another listener, event or settlement
 * (docs/errors.md#listener-exceptions).
 */
export class Kazoo extends EventEmitter {
  /** The validated configuration. */
  readonly config: ResolvedConfig;
  private readonly state = new ClientState();
  private readonly pending = new PendingOperations();
  private readonly reporter: Reporter;
  /** The redacting log sink over the `logger` option (process warnings without one). */
  private readonly log: LogSink;
  /** Counters, gauges and histograms of stats() and metrics() (lib/observability/). */
  private readonly recorder: StatsRecorder;
  private readonly router: Router;
  private readonly links: Links;
  private readonly subscriptions: Subscriptions;
  private readonly dispatcher: Dispatcher;
  private readonly nativeEvents: NativeEvents;
  private readonly producers: Producers;
  private readonly lifecycle: Lifecycle;
  /** The kazoo_pua_* functions; their database opens on first use (lib/presence/). */
  private readonly presence: PresencePublisher;

  /**
   * @param config the module's parameters by their Kamailio names (see {@link KazooConfig}).
   * @throws KazooError INVALID_CONFIG naming the parameter at fault.
   */
  constructor(config: KazooConfig) {
    super();
    this.config = resolveConfig(config);
    const c = this.config;
    this.log = new LogSink(c.logger, c.servers.map((s) => s.password));
    emitConfigWarnings(c.warnings, this.log.custom ? this.log : undefined);
    this.reporter = new Reporter(this, this.log);
    // The lane backlog is read from the dispatcher, created below, only when stats() is taken.
    this.recorder = new StatsRecorder(c.servers, this.log, { workers: c.amqp_consumer_workers, backlog: () => this.dispatcher.backlog });
    this.router = new Router(c);
    // Native batches go to NativeEvents, created below (no batch arrives before start()).
    this.links = new Links(c, (link, done, batch) => this.nativeEvents.batch(link, done, batch), this.recorder);
    this.subscriptions = new Subscriptions(this.state, this.links, this.pending, this.reporter, this.recorder);
    this.dispatcher = new Dispatcher(c, this.state, this.router, this.subscriptions, this.reporter, this.recorder);
    this.nativeEvents = new NativeEvents(c.json_escape_char, this.pending, this.subscriptions, this.dispatcher, this.reporter, this.recorder);
    this.producers = new Producers(c, this.state, this.links, this.pending, this.recorder);
    this.presence = new PresencePublisher(c);
    this.lifecycle = new Lifecycle({
      config: c,
      state: this.state,
      links: this.links,
      pending: this.pending,
      subscriptions: this.subscriptions,
      router: this.router,
      dispatcher: this.dispatcher,
      recorder: this.recorder,
    });
  }

  /** True while at least one primary-zone broker connection is open. */
  get connected(): boolean {
    return this.state.name === 'connected' && this.links.primaryOpen();
  }

  /**
   * Connects to every configured broker, runs the `kazoo:mod-init` route, and resolves once at
   * least one primary-zone broker is connected. Connections that fail keep retrying in the
   * background with back-off.
   * @throws KazooError CONNECT_FAILED when no primary-zone broker could be reached (everything is
   * closed again then), CLOSED when close() was called meanwhile, HANDLER_FAILED when
   * `kazoo:mod-init` threw (closed again too).
   */
  connect(): Promise<void> {
    return this.lifecycle.connect();
  }

  /**
   * Publishes `payload` to `exchange` with `routingKey` exactly as `kazoo_publish` does: the
   * payload is parsed with json-c's lenient rules, `App-Name`, `App-Version`, `Node`, `Msg-ID`
   * and then `Server-ID` are appended when absent, and the body is json-c's spaced serialization;
   * the only property is `content_type: application/json` (plus headers).
   * A routing key `consumer://<server-id>/<key>` publishes `<key>` through that server.
   *
   * Resolves when the broker confirmed the message (`amqp_publisher_confirms: 1`, default) or
   * once it was written to the socket (`0`).
   * Kamailio: `kazoo_publish(exchange, routing_key, json[, amqp_headers])`,
   * `KSR.kazoo.kazoo_publish`.
   * @throws KazooError INVALID_ARGUMENT, INVALID_JSON, ROUTING_KEY_TOO_LONG,
   * EXCHANGE_NAME_TOO_LONG, INVALID_ROUTING_KEY (nothing sent); NOT_CONNECTED; BROKER_REFUSED
   * (e.g. 404 for a missing exchange, `details.replyCode`); CONNECTION_LOST
   * (sent but not confirmed); CLOSED.
   */
  publish(exchange: string, routingKey: string, payload: string | object, options?: PublishOptions): Promise<void> {
    try {
      return this.producers.publish(checkSend(exchange, routingKey, payload, options, undefined));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Publishes like {@link publish} and waits for the correlated reply: Kazoo applications reply
   * to the `targeted` exchange with the request's `Server-ID` as routing key and its `Msg-ID`
   * copied, which is what is matched (a caller-supplied `Msg-ID` is honoured).
   * Kamailio: `kazoo_query(exchange, routing_key, json[, target[, amqp_headers]])` and
   * `kazoo_async_query`.
   * @throws KazooError QUERY_TIMEOUT (with `details.exchange`, `routingKey`, `elapsedMs`), plus
   * everything {@link publish} rejects with; CLOSED when close() is called while waiting.
   */
  query(exchange: string, routingKey: string, payload: string | object, options?: QueryOptions): Promise<KazooReply> {
    try {
      const send = checkSend(exchange, routingKey, payload, options, this.config.queryTimeoutMs);
      // Capturing the caller's stack costs 5-12 µs per call (a fifth of a query's client CPU):
      // only with query_stack_traces; the rejection names its exchange and routing key anyway.
      let site: { stack?: string } | undefined;
      if (this.config.query_stack_traces === 1) {
        site = {};
        Error.captureStackTrace(site, this.query);
      }
      return this.producers.query(send, site);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * {@link query} that **blocks the calling JS thread** until the reply or the timeout, as the
   * module's `kazoo_query` blocks its SIP worker: it waits on the native pending query (the I/O
   * thread keeps running, no busy loop). Nothing else runs on the JS thread meanwhile (timers,
   * other handlers, this client's own events), so use it only where blocking is the point, e.g.
   * the KEMI shim's `KSR.kazoo.kazoo_query`.
   * Kamailio: `kazoo_query(exchange, routing_key, json[, target[, amqp_headers]])`.
   * @returns the reply.
   * @throws KazooError as {@link query} rejects (QUERY_TIMEOUT, NOT_CONNECTED, INVALID_JSON, ...).
   */
  querySync(exchange: string, routingKey: string, payload: string | object, options?: QueryOptions): KazooReply {
    return this.producers.querySync(checkSend(exchange, routingKey, payload, options, this.config.queryTimeoutMs));
  }

  /**
   * Declares and consumes a subscription described as the module's JSON description (string or
   * object; every field of `kazoo_subscribe`, see {@link SubscriptionDescription}), or in the
   * 4-argument form `subscribe(exchange, type, queue, routing)`. Resolves once the broker
   * confirmed every declaration on every open connection it applies to (primary zone; others
   * with `federate`). Subscriptions are re-declared after every reconnect. May be called at any time.
   * Kamailio: `kazoo_subscribe(json)` / `kazoo_subscribe(exchange, type, queue, routing_key)`.
   * @throws KazooError INVALID_JSON / INVALID_ARGUMENT (nothing declared); NOT_CONNECTED;
   * BROKER_REFUSED with `details.replyCode` (what was declared elsewhere is cancelled again).
   */
  subscribe(description: string | SubscriptionDescription, type?: string, queue?: string, routing?: string): Promise<SubscriptionInfo> {
    try {
      if (type !== undefined || queue !== undefined || routing !== undefined) {
        checkSubscribeStrings(description, type, queue, routing);
        description = { exchange: description as string, type, queue, routing };
      }
      return this.subscriptions.subscribe(normalizeSubscription(description, this.config));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Cancels the subscription consuming `queue` on every connection; unsettled deliveries go back
   * to the broker. Resolves false when no subscription consumes that queue.
   * @throws KazooError INVALID_ARGUMENT; NOT_CONNECTED after close().
   */
  async unsubscribe(queue: string): Promise<boolean> {
    if (typeof queue !== 'string') throw invalid('INVALID_ARGUMENT', 'queue', 'a string', queue);
    return this.subscriptions.unsubscribe(queue);
  }

  /**
   * Registers `handler` for the event route `name` (e.g. `'kazoo:consumer-event-presence-update'`,
   * `'kazoo:mod-init'`). Consumed messages try the module's five candidates in order
   * (docs/module-behaviour.md#event-routes); names are normalised (lower case, `_`→`-`) as the
   * module does when it looks routes up. Kamailio: `event_route[<name>]`.
   * @throws KazooError INVALID_ARGUMENT.
   */
  eventRoute(name: string, handler: EventRouteHandler): this {
    checkRoute(name, handler);
    this.router.setRoute(name, handler);
    return this;
  }

  /**
   * Sets the catch-all handler (Kamailio: KEMI mode's `event_callback`): while set, every
   * consumer event (deliveries, late query replies, connection events) goes to `handler` with
   * `event.name === 'kazoo:consumer-event'` instead of the route lookup, and `kazoo:mod-init` is
   * delivered to it (`event.name === 'kazoo:mod-init'`) where the mod-init route would run.
   * Acks, lanes and failure rules are those of routes. `undefined` restores the route lookup.
   * @throws KazooError INVALID_ARGUMENT when `handler` is neither a function nor undefined.
   */
  eventCallback(handler: EventRouteHandler | undefined): this {
    if (handler !== undefined && typeof handler !== 'function') throw invalid('INVALID_ARGUMENT', 'handler', 'a function or undefined', handler);
    this.router.setCatchAll(handler);
    return this;
  }

  /**
   * {@link encode} with this client's `encode_compat` (Kamailio: `kazoo_encode`, `{kz.encode}`).
   * @throws KazooError INVALID_ARGUMENT when `input` is not a string.
   */
  encode(input: string): string {
    return encode(input, { compat: this.config.encode_compat });
  }

  /**
   * {@link json} with this client's `json_escape_char` (Kamailio: `kazoo_json`, `{kz.json}`).
   * @throws KazooError INVALID_ARGUMENT when an argument is not a string.
   */
  json(payload: string, path: string): string | null {
    return json(payload, path, { escapeChar: this.config.json_escape_char });
  }

  /**
   * Writes a Kazoo presence update into the presentity table of `db_url`: `Event-Name` must be
   * `update`, then `Event-Package` `dialog`, `message-summary` or `presence` picks the body.
   * `payload` is JSON text (typically `event.payload`) or an object. Resolves with the row's key
   * (`written: true`) or why nothing was written (`not-update`, `unknown-package`, `missing-field`).
   * Needs no broker: a client that never connected can write presence ([presence.md](../docs/presence.md)).
   * Kamailio: `kazoo_pua_publish(json)`.
   * @throws KazooError PUA_DISABLED (pua_mode ≠ 1 or no db_url), INVALID_JSON, INVALID_ARGUMENT
   *   (payload type; Flush-Level ≥ 4, which would empty the table), DATABASE_ERROR (nothing of
   *   the write committed), CLOSED.
   */
  puaPublish(payload: string | object): Promise<PuaResult> {
    return this.presence.publish('publish', payload);
  }

  /**
   * The dialog-info handler without the Event-Name/Event-Package check.
   * Kamailio: `kazoo_pua_publish_dialoginfo(json)`. Rejects as {@link puaPublish}.
   */
  puaPublishDialoginfo(payload: string | object): Promise<PuaResult> {
    return this.presence.publish('dialog', payload);
  }

  /**
   * The message-summary (MWI) handler without the Event-Name/Event-Package check.
   * Kamailio: `kazoo_pua_publish_mwi(json)`. Rejects as {@link puaPublish}.
   */
  puaPublishMwi(payload: string | object): Promise<PuaResult> {
    return this.presence.publish('message-summary', payload);
  }

  /**
   * The PIDF presence handler without the Event-Name/Event-Package check.
   * Kamailio: `kazoo_pua_publish_presence(json)`. Rejects as {@link puaPublish}.
   */
  puaPublishPresence(payload: string | object): Promise<PuaResult> {
    return this.presence.publish('presence', payload);
  }

  /**
   * A snapshot of this client's counters, gauges and latency histograms: per server and role the
   * connection state, reconnects and last error (credentials redacted); publishes, queries,
   * deliveries, acks per queue, handler runs per route; in-flight publishes, pending queries,
   * lane backlog. docs/operations.md describes every figure.
   * Kamailio: none (the module exports no statistics).
   */
  stats(): KazooStats {
    return this.recorder.snapshot();
  }

  /**
   * {@link stats} in the Prometheus text exposition format (`kazoo_…` metrics), for a `/metrics`
   * endpoint of your own; `serveMetrics()` serves it, `registerKazooMetrics()` feeds prom-client.
   * Kamailio: none (the module exports no statistics).
   */
  metrics(): string {
    return renderExposition(metricFamilies(this.recorder.snapshot()));
  }

  /**
   * Where this client logs: the `logger` option behind redaction (URL credentials and the
   * configured passwords become `***`), or process warnings without one. The KEMI shim's
   * `KSR.info/err/…` and the runner write through it. Kamailio: `LM_*` / `xlog`.
   */
  get logger(): KazooLogger {
    return this.log;
  }

  /**
   * Closes every connection: waits (bounded) for outstanding publisher confirms, rejects pending
   * queries with CLOSED, lets running handlers finish, and stops the I/O threads. Idempotent.
   */
  close(): Promise<void> {
    // The presentity database closes after the connections: handlers still running during the
    // close grace may write presence.
    return this.lifecycle.close().finally(() => this.presence.close());
  }
}
