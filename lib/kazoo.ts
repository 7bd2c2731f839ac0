/**
 * The kazoo-amqp client: what Kamailio's `kazoo` module does for Kamailio, for a Node SIP server.
 * One native connection (and I/O thread) per `amqp_connection` entry; this class validates
 * arguments, routes commands to connections and settles promises from batched native events.
 */
import { EventEmitter } from 'node:events';
import { emitConfigWarnings, resolveConfig, type KazooConfig, type ResolvedConfig } from './config';
import type { ServerEndpoint } from './connection-url';
import { consistentWorker } from './core-hash';
import { describeValue, invalid, KazooError } from './errors';
import { encode } from './encode';
import { parseHeaders } from './headers';
import { json } from './json';
import { KazooMessage, KazooReply } from './message';
import * as native from './native';
import type { NativeEvent, NativeFailure } from './native';
import { connectionEventPayload, consumerEventCandidates, normalizeRouteName } from './route-names';
import { normalizeSubscription, type NormalizedSubscription, type SubscriptionDescription } from './subscription';
import { WorkerLanes } from './worker-lanes';
import { LogSink, type KazooLogger } from './logger';
import { StatsRecorder } from './observability/stats-recorder';
import { metricFamilies, renderExposition } from './observability/exposition';
import type { KazooStats } from './observability/stats-types';

/** Options of {@link Kazoo.publish}. */
export interface PublishOptions {
  /**
   * AMQP headers: the module's `"k1=v1;k2=v2"` string (4th argument of `kazoo_publish`) or a
   * record of strings. Sent as long-string (`S`) table entries, in order.
   */
  headers?: string | Record<string, string>;
}

/** Options of {@link Kazoo.query}. */
export interface QueryOptions extends PublishOptions {
  /** Reply timeout in ms; default `amqp_query_timeout_sec/_micro` (2000 ms). */
  timeoutMs?: number;
}

/** The `'connection'` event's argument. */
export interface ConnectionEvent {
  /**
   * `open` / `closed`; `blocked` / `unblocked` when the broker's flow control (a memory or disk
   * alarm, `connection.blocked`) holds this connection's publishes and when it lets them go.
   */
  event: 'open' | 'closed' | 'blocked' | 'unblocked';
  /**
   * Which of the server's connections: `producer` (publishes and query replies) or `consumer`
   * (subscriptions, opened with the first subscription). The module likewise reports its
   * publisher and each consumer process.
   */
  role: 'producer' | 'consumer';
  host: string;
  zone: string;
  /** Why a connection closed or was blocked (never contains credentials). */
  reason?: string;
}

/** A consumed message, a late reply or a connection event handed to an event-route handler. */
export class KazooEvent extends KazooMessage {
  /** The route that matched, e.g. `kazoo:consumer-event-presence-update`. */
  readonly name: string;
  /** Name of the exchange the message came through ('' for connection events). */
  readonly exchange: string;
  /** True when the broker redelivered the message. */
  readonly redelivered: boolean;

  constructor(name: string, payload: string, routingKey: string, exchange: string, redelivered: boolean, escapeChar: string) {
    super(payload, routingKey, escapeChar);
    this.name = name;
    this.exchange = exchange;
    this.redelivered = redelivered;
  }
}

/** An event-route handler; a returned promise is awaited (and decides the ack with `wait_for_consumer_ack`). */
export type EventRouteHandler = (event: KazooEvent) => void | Promise<void>;

/** Result of {@link Kazoo.subscribe}. */
export interface SubscriptionInfo {
  /** Queue name as declared (the broker's name for a server-named queue). */
  queue: string;
}

type State = 'new' | 'connecting' | 'connected' | 'closing' | 'closed';

interface Waiter {
  resolve: (value: unknown) => void;
  reject: (error: KazooError) => void;
  /** Stack of the call that created the operation (queries), used for its rejection. */
  site?: { stack?: string };
  /** Where a publish or query went, added to its rejection's details. */
  target?: { exchange: string; routingKey: string };
}

/** One native connection: a server's producer (publish, query) or consumer (subscriptions). */
interface Link {
  endpoint: ServerEndpoint;
  role: 'producer' | 'consumer';
  connection: InstanceType<typeof native.Connection>;
  open: boolean;
  /** start() was called. */
  started: boolean;
  /** Started, and its first connect attempt has not reported yet. */
  attempting: boolean;
  /** Settled once the first connect attempt opened or failed. */
  firstAttempt: Promise<void>;
  markAttempted: () => void;
  /** A CONNECT_FAILED was reported since the last open. */
  failing?: boolean;
}

interface SubscriptionRecord {
  subId: number;
  normalized: NormalizedSubscription;
  queue: string;
  links: Link[];
  /** Links whose declaration the subscribe() promise still waits for. */
  waiting?: Set<Link>;
  /** How many links confirmed the declaration so far. */
  confirmed?: number;
  /** Every name the queue was declared under (a server-named queue is renamed on re-declare). */
  names: Set<string>;
  /** Per consumer connection, the channel incarnation its current deliveries carry. */
  epochs: Map<Link, number>;
  settle?: { resolve: (info: SubscriptionInfo) => void; reject: (e: KazooError) => void; failed?: KazooError };
}

const MAX_NAME_BYTES = 255;
/** Distinct (subscription, category, name) route lookups remembered before the cache starts over. */
const ROUTE_CACHE_LIMIT = 4096;
/** How long close() waits for running event-route handlers before closing the connections. */
const CLOSE_HANDLER_GRACE_MS = 5000;
const CONSUMER_PREFIX = 'consumer://';

function stringifyPayload(payload: object): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(payload);
  } catch (error) {
    // BigInt values, cycles: a typed error instead of a bare TypeError.
    throw invalid('INVALID_ARGUMENT', 'payload', `a JSON-serializable object (${(error as Error).message})`, '[object]');
  }
  // A toJSON() returning undefined serializes to nothing at all.
  if (typeof text !== 'string') throw invalid('INVALID_ARGUMENT', 'payload', 'an object that serializes to JSON', '[object]');
  return text;
}

const SERVER_ID = /^[1-9][0-9]{0,5}$/;

function byteLength(s: string): number {
  // Fast path: a string of ≤ 85 UTF-16 units is at most 255 UTF-8 bytes.
  return s.length <= 85 ? 0 : Buffer.byteLength(s);
}

/**
 * A connection to a Kazoo/RabbitMQ bus with the Kamailio `kazoo` module's behaviour.
 *
 * Events: `'connection'` ({@link ConnectionEvent}) when a broker connection opens or closes;
 * `'error'` (KazooError) for asynchronous problems not tied to a call (a subscription the broker
 * refused after a reconnect, a handler that failed, a message no route handled). Without an
 * `'error'` listener those are reported with `process.emitWarning` instead of throwing.
 */
export class Kazoo extends EventEmitter {
  /** The validated configuration. */
  readonly config: ResolvedConfig;
  private state: State = 'new';
  /** Producer connections, in amqp_connection order. */
  private readonly links: Link[] = [];
  /** Consumer connections, in amqp_connection order. */
  private readonly consumers: Link[] = [];
  private readonly waiters = new Map<number, Waiter>();
  private nextId = 1;
  private nextSubId = 1;
  private readonly subscriptions = new Map<number, SubscriptionRecord>();
  private readonly routes = new Map<string, EventRouteHandler>();
  private readonly routeCache = new Map<string, { route?: [string, EventRouteHandler]; candidates: string[] }>();
  private readonly lanes: WorkerLanes;
  private closePromise?: Promise<void>;
  private connectPromise?: Promise<void>;
  private readonly escapeChar: string;
  /** close() has started closing the connections: no new publishes or queries. */
  private closingLinks = false;
  /** Deliveries and connection events that arrived while kazoo:mod-init ran (null otherwise). */
  private held: Array<() => void> | null = null;
  /** Observability (issue 13): counters/histograms hooks, and the redacting log sink. */
  private readonly recorder: StatsRecorder;
  private readonly log: LogSink;

  /**
   * @param config the module's parameters by their Kamailio names (see {@link KazooConfig}).
   * @throws KazooError INVALID_CONFIG naming the parameter at fault.
   */
  constructor(config: KazooConfig) {
    super();
    this.config = resolveConfig(config);
    this.log = new LogSink(this.config.logger, this.config.servers.map((s) => s.password));
    emitConfigWarnings(this.config.warnings, this.log.custom ? this.log : undefined);
    this.lanes = new WorkerLanes(this.config.amqp_consumer_workers);
    this.recorder = new StatsRecorder(this.config.servers, this.log, { workers: this.lanes.size, backlog: () => this.lanes.backlog });
    this.escapeChar = this.config.json_escape_char;
    this.createLinks();
  }

  /**
   * Two native connections per amqp_connection entry, as the module has a publisher and
   * consumers: broker flow control throttles a connection that publishes flat out, and acks of
   * subscriptions sharing it would wait behind its publishes. Producers start in connect();
   * a consumer starts with the first subscription that needs it.
   */
  private createLinks(): void {
    for (const endpoint of this.config.servers) {
      this.links.push(this.createLink(endpoint, 'producer'));
      this.consumers.push(this.createLink(endpoint, 'consumer'));
    }
  }

  private createLink(endpoint: ServerEndpoint, role: 'producer' | 'consumer'): Link {
    const c = this.config;
    {
      let markAttempted!: () => void;
      const firstAttempt = new Promise<void>((resolve) => (markAttempted = resolve));
      const link = {
        endpoint,
        role,
        open: false,
        started: false,
        attempting: false,
        firstAttempt,
        markAttempted,
      } as Link;
      link.connection = new native.Connection(
        {
          host: endpoint.host,
          port: endpoint.port,
          vhost: endpoint.vhost,
          user: endpoint.user,
          password: endpoint.password,
          tls: endpoint.tls,
          caCert: c.amqps_ca_cert ?? '',
          cert: c.amqps_cert ?? '',
          key: c.amqps_key ?? '',
          verifyPeer: c.amqps_verify_peer === 1,
          verifyHostname: c.amqps_verify_hostname === 1,
          serverId: endpoint.serverId,
          zone: endpoint.zone,
          primary: endpoint.primary,
          heartbeatSec: c.amqp_heartbeats,
          connectTimeoutMs: c.connectTimeoutMs,
          maxChannels: c.amqp_max_channels,
          nodeHostname: c.node_hostname,
          appName: c.app_name,
          appVersion: c.app_version,
          confirms: c.amqp_publisher_confirms === 1,
          eventKey: c.amqp_consumer_event_key,
          eventSubkey: c.amqp_consumer_event_subkey,
          reconnectMinMs: c.amqp_reconnect_min_ms,
          reconnectMaxMs: c.amqp_reconnect_max_ms,
          lateReplies: c.query_late_replies,
          role,
        },
        (done, events, more) => {
          // A capped batch: fetch the rest after timers and I/O had their turn.
          if (more) setImmediate(() => link.connection.drain());
          this.onBatch(link, done, events);
        },
      );
      return link;
    }
  }

  private startLink(link: Link): void {
    if (link.started) return;
    link.started = true;
    link.attempting = true;
    this.recorder.linkStarting(link.endpoint.serverId, link.role);
    link.connection.start();
  }

  /** True while at least one primary-zone broker connection is open. */
  get connected(): boolean {
    return this.state === 'connected' && this.links.some((l) => l.open && l.endpoint.primary);
  }

  /**
   * Connects to every configured broker, runs the `kazoo:mod-init` route, and resolves once at
   * least one primary-zone broker is connected. Connections that fail keep retrying in the
   * background with back-off.
   * @throws KazooError CONNECT_FAILED when no primary-zone broker could be reached (everything is
   * closed again then), CLOSED when close() was called meanwhile.
   */
  connect(): Promise<void> {
    if (this.state === 'closing' || this.state === 'closed') {
      return Promise.reject(new KazooError('CLOSED', 'kazoo: client is closed; create a new Kazoo to connect again'));
    }
    if (this.connectPromise) return this.connectPromise;
    this.state = 'connecting';
    this.connectPromise = this.doConnect();
    return this.connectPromise;
  }

  private async doConnect(): Promise<void> {
    // Nothing reaches a handler before kazoo:mod-init has run (it runs first in the module):
    // connection events and deliveries wait here until start-up is complete.
    this.held = [];
    for (const link of this.links) this.startLink(link);
    // Subscriptions made before connect() are declared as soon as their consumer connects.
    for (const record of this.subscriptions.values()) for (const link of record.links) this.startLink(link);
    await Promise.all(this.links.filter((l) => l.endpoint.primary).map((l) => l.firstAttempt));
    if ((this.state as State) !== 'connecting') {
      this.held = null;
      throw new KazooError('CLOSED', 'kazoo: client was closed while connecting');
    }
    if (!this.links.some((l) => l.open && l.endpoint.primary)) {
      this.held = null;
      const lastError = new KazooError(
        'CONNECT_FAILED',
        `kazoo: cannot connect to any primary-zone broker (${this.config.servers
          .filter((s) => s.primary)
          .map((s) => s.url)
          .join(', ')})`,
      );
      await this.close();
      throw lastError;
    }
    this.state = 'connected';
    const modInit = this.routes.get('kazoo:mod-init');
    const release = () => {
      const held = this.held ?? [];
      this.held = null;
      for (const dispatch of held) dispatch();
    };
    if (!modInit) {
      release();
    } else {
      try {
        await modInit(new KazooEvent('kazoo:mod-init', '', '', '', false, this.escapeChar));
        release();
      } catch (error) {
        this.held = null;
        // Start-up did not complete: leave nothing connected behind.
        await this.close();
        const err = new KazooError('HANDLER_FAILED', `kazoo: event route kazoo:mod-init failed: ${error instanceof Error ? error.message : String(error)}`);
        (err as Error & { cause?: unknown }).cause = error;
        throw err;
      }
    }
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
    return this.send(false, exchange, routingKey, payload, options) as Promise<void>;
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
    return this.send(true, exchange, routingKey, payload, options) as Promise<KazooReply>;
  }

  private send(
    isQuery: boolean,
    exchange: string,
    routingKey: string,
    payload: string | object,
    options?: QueryOptions,
  ): Promise<unknown> {
    try {
      if (typeof exchange !== 'string') throw invalid('INVALID_ARGUMENT', 'exchange', 'a string', exchange);
      if (typeof routingKey !== 'string') throw invalid('INVALID_ARGUMENT', 'routingKey', 'a string', routingKey);
      if (byteLength(exchange) > MAX_NAME_BYTES) {
        throw new KazooError('EXCHANGE_NAME_TOO_LONG', `kazoo: exchange must be at most 255 bytes, got ${byteLength(exchange)}`, {
          param: 'exchange',
        });
      }
      if (byteLength(routingKey) > MAX_NAME_BYTES) {
        throw new KazooError(
          'ROUTING_KEY_TOO_LONG',
          `kazoo: routingKey must be at most 255 bytes, got ${byteLength(routingKey)}`,
          { param: 'routingKey' },
        );
      }
      let text: string;
      if (typeof payload === 'string') text = payload;
      else if (payload !== null && typeof payload === 'object' && !Array.isArray(payload)) text = stringifyPayload(payload);
      else throw invalid('INVALID_ARGUMENT', 'payload', 'a JSON string or a plain object', payload);
      if (options !== undefined && (options === null || typeof options !== 'object')) {
        throw invalid('INVALID_ARGUMENT', 'options', 'an object', options);
      }
      const headers = parseHeaders(options?.headers);
      let timeoutMs = 0;
      if (isQuery) {
        timeoutMs = options?.timeoutMs === undefined ? this.config.queryTimeoutMs : options.timeoutMs;
        if (typeof timeoutMs !== 'number' || !Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 86_400_000) {
          throw invalid('INVALID_ARGUMENT', 'options.timeoutMs', 'an integer 1..86400000', timeoutMs);
        }
      }
      let key = routingKey;
      let link: Link | undefined;
      if (!isQuery && routingKey.startsWith(CONSUMER_PREFIX)) {
        // consumer://<server-id>/<routing-key>: reply through the broker a message came from.
        const rest = routingKey.slice(CONSUMER_PREFIX.length);
        const slash = rest.indexOf('/');
        const id = slash > 0 && SERVER_ID.test(rest.slice(0, slash)) ? Number(rest.slice(0, slash)) : NaN;
        link = Number.isInteger(id) ? this.links.find((l) => l.endpoint.serverId === id) : undefined;
        if (!Number.isInteger(id) || id < 1 || id > this.config.servers.length) {
          throw new KazooError(
            'INVALID_ROUTING_KEY',
            `kazoo: routingKey must be consumer://<server-id>/<key> with a configured server id (1..${this.config.servers.length}), got ${describeValue(routingKey)}`,
            { param: 'routingKey', routingKey },
          );
        }
        key = rest.slice(slash + 1);
        if (!this.accepting() || !link?.open) throw this.notConnected();
      } else {
        if (!this.accepting()) throw this.notConnected();
        link = this.primaryLink();
        if (!link) throw this.notConnected();
      }
      const id = this.allocateId();
      // Capturing the caller's stack costs microseconds per call: worth it for a query (a round
      // trip anyway), not for a publish, whose rejection names its exchange and routing key.
      let site: { stack?: string } | undefined;
      if (isQuery) {
        site = {};
        Error.captureStackTrace(site, this.query);
      }
      const promise = new Promise((resolve, reject) => {
        this.waiters.set(id, { resolve, reject, site, target: { exchange, routingKey } });
      });
      try {
        if (isQuery) link.connection.query(id, exchange, key, text, headers, timeoutMs);
        else link.connection.publish(id, exchange, key, text, headers);
        this.recorder.sent(link.endpoint.serverId, id, isQuery);
      } catch (error) {
        this.waiters.delete(id);
        throw error;
      }
      return promise;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Declares and consumes a subscription described as the module's JSON description (string or
   * object; every field of `kazoo_subscribe`, spec §10.2), or in the 4-argument form
   * `subscribe(exchange, type, queue, routing)`. Resolves once the broker confirmed every
   * declaration on every open connection it applies to (primary zone; others with `federate`).
   * Subscriptions are re-declared after every reconnect. May be called at any time.
   * Kamailio: `kazoo_subscribe(json)` / `kazoo_subscribe(exchange, type, queue, routing_key)`.
   * @throws KazooError INVALID_JSON / INVALID_ARGUMENT (nothing declared); NOT_CONNECTED;
   * BROKER_REFUSED with `details.replyCode` (what was declared elsewhere is cancelled again).
   */
  subscribe(
    description: string | SubscriptionDescription,
    type?: string,
    queue?: string,
    routing?: string,
  ): Promise<SubscriptionInfo> {
    try {
      let normalized: NormalizedSubscription;
      if (type !== undefined || queue !== undefined || routing !== undefined) {
        for (const [name, value] of [
          ['exchange', description],
          ['type', type],
          ['queue', queue],
          ['routing', routing],
        ] as const) {
          if (typeof value !== 'string') throw invalid('INVALID_ARGUMENT', name, 'a string', value);
        }
        normalized = normalizeSubscription(
          { exchange: description as string, type, queue, routing: routing as string },
          this.config,
        );
      } else {
        normalized = normalizeSubscription(description, this.config);
      }
      if (this.state === 'closing' || this.state === 'closed') throw this.notConnected();
      const links = this.consumers.filter((l) => l.endpoint.primary || normalized.federate);
      const producersUp = this.links.some((l) => l.open && (l.endpoint.primary || normalized.federate));
      if (this.state === 'connected' && !producersUp && !links.some((l) => l.open)) throw this.notConnected();
      const subId = this.nextSubId++;
      const record: SubscriptionRecord = { subId, normalized, queue: normalized.native.queue, links, names: new Set(), epochs: new Map() };
      this.subscriptions.set(subId, record);
      this.recorder.subscribed(subId, record.queue);
      const promise = new Promise<SubscriptionInfo>((resolve, reject) => {
        record.settle = { resolve, reject };
      });
      if (this.state === 'connected' || this.state === 'connecting') for (const link of links) this.startLink(link);
      // Wait for every consumer that is up or still on its first attempt; one that is down
      // declares the subscription when it comes back.
      record.waiting = new Set(links.filter((l) => l.open || l.attempting || !l.started));
      record.confirmed = 0;
      for (const link of links) link.connection.subscribe(0, subId, normalized.native);
      if (record.waiting.size === 0) this.finishSubscribe(record);
      return promise;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Cancels the subscription consuming `queue` on every connection; unsettled deliveries go back
   * to the broker. Resolves false when no subscription consumes that queue.
   */
  async unsubscribe(queue: string): Promise<boolean> {
    if (typeof queue !== 'string') throw invalid('INVALID_ARGUMENT', 'queue', 'a string', queue);
    if (this.state === 'closing' || this.state === 'closed') throw this.notConnected();
    const record = [...this.subscriptions.values()].find((r) => r.queue === queue || r.names.has(queue));
    if (!record) return false;
    this.subscriptions.delete(record.subId);
    this.recorder.unsubscribed(record.subId);
    if (record.settle) {
      record.settle.reject(new KazooError('CLOSED', `kazoo: queue ${describeValue(queue)} was unsubscribed before its declaration completed`, { queue }));
      record.settle = undefined;
    }
    // A connection not started yet still holds the Subscribe command: cancel it there too.
    for (const link of record.links) if (!link.started) link.connection.unsubscribe(0, record.subId);
    await Promise.all(
      record.links.filter((link) => link.started).map((link) => {
        const id = this.allocateId();
        const p = new Promise((resolve, reject) => this.waiters.set(id, { resolve, reject }));
        link.connection.unsubscribe(id, record.subId);
        return p;
      }),
    );
    return true;
  }

  /**
   * Registers `handler` for the event route `name` (e.g. `'kazoo:consumer-event-presence-update'`,
   * `'kazoo:mod-init'`). Consumed messages try the module's five candidates in order (spec §12.2);
   * names are normalised (lower case, `_`→`-`) as the module does when it looks routes up.
   * Kamailio: `event_route[<name>]`.
   */
  eventRoute(name: string, handler: EventRouteHandler): this {
    if (typeof name !== 'string' || name === '') throw invalid('INVALID_ARGUMENT', 'name', 'a non-empty string', name);
    if (typeof handler !== 'function') throw invalid('INVALID_ARGUMENT', 'handler', 'a function', handler);
    this.routes.set(name === 'kazoo:mod-init' ? name : normalizeRouteName(name), handler);
    this.routeCache.clear();
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
    return json(payload, path, { escapeChar: this.escapeChar });
  }

  /**
   * A snapshot of this client's counters, gauges and latency histograms: per server and role the
   * connection state, reconnects and last error (credentials redacted); publishes, queries,
   * deliveries, acks per queue, handler runs per route; in-flight publishes, pending queries,
   * lane backlog. docs/operations.md describes every figure.
   * Kamailio: none (the module exports no statistics, spec §15).
   */
  stats(): KazooStats {
    return this.recorder.snapshot();
  }

  /**
   * {@link stats} in the Prometheus text exposition format (`kazoo_…` metrics), for a `/metrics`
   * endpoint of your own; `serveMetrics()` serves it, `registerKazooMetrics()` feeds prom-client.
   * Kamailio: none (spec §15).
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
    if (this.closePromise) return this.closePromise;
    this.closePromise = this.doClose();
    return this.closePromise;
  }

  private async doClose(): Promise<void> {
    this.state = 'closing';
    this.recorder.closing();
    // Let running handlers finish first so their acks are queued before the connections close
    // (an ack after the channel closed would be lost and the message handled twice). Bounded:
    // a handler that never settles must not keep close() waiting; its message is requeued.
    await Promise.race([this.lanes.idle(), new Promise((r) => setTimeout(r, CLOSE_HANDLER_GRACE_MS).unref())]);
    this.closingLinks = true;
    await Promise.all(
      [...this.links, ...this.consumers].map((link) => {
        const id = this.allocateId();
        const p = new Promise((resolve, reject) => this.waiters.set(id, { resolve, reject }));
        if (!link.connection.close(id)) {
          this.waiters.delete(id);
          return Promise.resolve();
        }
        return p;
      }),
    );
    this.state = 'closed';
    this.recorder.closed();
    for (const record of this.subscriptions.values()) {
      record.settle?.reject(new KazooError('CLOSED', 'kazoo: client closed before the subscription was declared'));
      record.settle = undefined;
    }
    for (const [id, waiter] of this.waiters) {
      this.waiters.delete(id);
      waiter.reject(new KazooError('CLOSED', 'kazoo: client is closed'));
    }
    // No final wait for the lanes: a handler that never settles must not hang close() (the grace
    // period above already let the others finish; its message goes back to the broker).
  }

  // -------------------------------------------------------------------------------------------
  // Native events

  private onBatch(link: Link, done: Uint32Array | null, events: NativeEvent[] | null): void {
    if (done) {
      this.recorder.batch();
      for (let i = 0; i < done.length; i++) {
        const waiter = this.waiters.get(done[i]);
        if (waiter) {
          this.waiters.delete(done[i]);
          if (waiter.target && !waiter.site) this.recorder.publishConfirmed(link.endpoint.serverId, done[i]);
          waiter.resolve(undefined);
        }
      }
    }
    if (events) for (const event of events) this.onEvent(link, event);
  }

  private onEvent(link: Link, event: NativeEvent): void {
    switch (event.t) {
      case 'fail':
        this.recorder.failed(link.endpoint.serverId, event.id, this.waiters.get(event.id), event.error);
        this.rejectWaiter(event.id, event.error);
        break;
      case 'reply': {
        const waiter = this.waiters.get(event.id);
        if (waiter) {
          this.waiters.delete(event.id);
          this.recorder.queryAnswered(link.endpoint.serverId, event.elapsedMs);
          waiter.resolve(new KazooReply(event.payload, event.routingKey, event.elapsedMs, this.escapeChar));
        }
        break;
      }
      case 'timeout': {
        const waiter = this.waiters.get(event.id);
        if (waiter) {
          this.recorder.queryTimedOut(link.endpoint.serverId);
          const q = waiter.target ?? { exchange: '', routingKey: '' };
          this.rejectWaiter(event.id, {
            code: 'QUERY_TIMEOUT',
            message: `kazoo: no reply to the query on exchange ${describeValue(q.exchange)} with routing key ${describeValue(q.routingKey)} within ${Math.round(event.elapsedMs)} ms`,
            exchange: q.exchange,
            routingKey: q.routingKey,
            elapsedMs: event.elapsedMs,
          });
        }
        break;
      }
      case 'conn':
        this.onConnectionEvent(link, event.state, event.reason);
        break;
      case 'blocked': {
        const info: ConnectionEvent = {
          event: event.blocked ? 'blocked' : 'unblocked',
          role: link.role,
          host: link.endpoint.host,
          zone: link.endpoint.zone,
        };
        if (event.reason) info.reason = event.reason;
        this.recorder.linkBlocked(link.endpoint.serverId, link.role, event.blocked, event.reason);
        this.emit('connection', info);
        break;
      }
      case 'delivery':
        this.onDelivery(link, event);
        break;
      case 'subscribed':
        this.onSubscribed(link, event.subId, event.queue, event.epoch);
        break;
      case 'subfail':
        this.onSubscribeFailed(link, event.subId, event.error);
        break;
      case 'error':
        if (event.error.code === 'CONNECT_FAILED') {
          this.recorder.connectFailed(link.endpoint.serverId, link.role, event.error.message);
          link.attempting = false;
          link.markAttempted();
          for (const record of this.subscriptions.values()) {
            if (record.waiting?.delete(link) && record.waiting.size === 0) this.finishSubscribe(record);
          }
          // One report per outage, not one per reconnect attempt.
          if (link.failing) break;
          link.failing = true;
        }
        this.reportError(KazooError.from({ ...event.error, host: link.endpoint.host }));
        break;
    }
  }

  private onConnectionEvent(link: Link, state: 'open' | 'closed', reason?: string): void {
    this.recorder.linkState(link.endpoint.serverId, link.role, state, reason);
    link.open = state === 'open';
    if (link.open) {
      link.failing = false;
    }
    link.attempting = false;
    link.markAttempted();
    const info: ConnectionEvent = { event: state, role: link.role, host: link.endpoint.host, zone: link.endpoint.zone };
    if (reason) info.reason = reason;
    if (!link.open) {
      for (const record of this.subscriptions.values()) {
        // Deliveries still queued from this connection are stale now (requeued by the broker).
        record.epochs.delete(link);
        // Declarations this link will never confirm until it is back: don't hold subscribe() on them.
        if (record.waiting?.delete(link) && record.waiting.size === 0) this.finishSubscribe(record);
      }
    }
    this.emit('connection', info);
    const c = this.config;
    const payload = connectionEventPayload(c.amqp_consumer_event_key, c.amqp_consumer_event_subkey, state, info.host, info.zone);
    const candidates = consumerEventCandidates({
      key: c.amqp_consumer_event_key,
      subkey: c.amqp_consumer_event_subkey,
      category: 'connection',
      name: state,
    });
    const route = this.findRoute(candidates);
    if (!route) return;
    const dispatch = () =>
      this.lanes.push(this.lanes.nextLane(), () =>
        this.runHandler(route[0], route[1], new KazooEvent(route[0], payload, '', '', false, this.escapeChar)),
      );
    // Held like deliveries until kazoo:mod-init has run.
    if (this.held) this.held.push(dispatch);
    else dispatch();
  }

  private onSubscribed(link: Link, subId: number, queue: string, epoch: number): void {
    const record = this.subscriptions.get(subId);
    if (!record) return;
    record.epochs.set(link, epoch);
    // subscribe() reports the first name; unsubscribe() accepts any name it was declared under.
    if (record.names.size === 0) record.queue = queue;
    this.recorder.subscribed(subId, record.queue);
    record.names.add(queue);
    if (record.waiting?.delete(link)) {
      record.confirmed = (record.confirmed ?? 0) + 1;
      if (record.waiting.size === 0) this.finishSubscribe(record);
    }
  }

  private onSubscribeFailed(link: Link, subId: number, failure: NativeFailure): void {
    const record = this.subscriptions.get(subId);
    if (!record) return;
    // Its channel is gone: deliveries still waiting in the lanes are stale (requeued by the broker).
    record.epochs.delete(link);
    const error = KazooError.from({ ...failure, queue: record.queue, host: link.endpoint.host });
    if (record.settle && record.waiting?.has(link)) {
      // The first declaration failed: nothing stays half-declared on the other connections.
      record.settle.failed ??= error;
      record.waiting.delete(link);
      if (record.waiting.size === 0) this.finishSubscribe(record);
      return;
    }
    this.reportError(error);
  }

  private finishSubscribe(record: SubscriptionRecord): void {
    const settle = record.settle;
    if (!settle) return;
    record.settle = undefined;
    record.waiting = undefined;
    const failed =
      settle.failed ??
      (record.confirmed === 0 && record.links.length > 0
        ? new KazooError('NOT_CONNECTED', 'kazoo: no consumer connection could declare the subscription', {
            queue: record.queue,
          })
        : undefined);
    if (failed) {
      this.subscriptions.delete(record.subId);
      this.recorder.unsubscribed(record.subId);
      for (const link of record.links) link.connection.unsubscribe(0, record.subId);
      settle.reject(failed);
    } else {
      settle.resolve({ queue: record.queue });
    }
  }

  private onDelivery(link: Link, d: Extract<NativeEvent, { t: 'delivery' }>): void {
    if (this.state === 'closing' || this.state === 'closed') {
      // Not dispatched: the broker requeues every unsettled delivery when the channel closes.
      return;
    }
    if (this.held) {
      // kazoo:mod-init is still running: its subscriptions must all be in place first.
      this.held.push(() => this.onDelivery(link, d));
      return;
    }
    const record = d.subId === 0 ? undefined : this.subscriptions.get(d.subId);
    // Unsubscribed meanwhile: its channel is being closed and the broker requeues what it sent.
    if (d.subId !== 0 && record === undefined) return;
    this.recorder.delivered(link.endpoint.serverId, d.subId);
    const c = this.config;
    const sub = record?.normalized;
    // no_ack: 1 (the module's default) keeps its at-most-once meaning, but the broker sees manual
    // acks with a prefetch: the message is acked when its handler starts, so at most `prefetch`
    // of them wait in the lanes. Late query replies (tag 0) have nothing to settle.
    const noAck = sub ? sub.native.noAck : true;
    const settle = (ack: boolean, requeue: boolean) => {
      if (d.tag === 0) return;
      link.connection.settle(d.subId, d.epoch, d.tag, ack, requeue);
      this.recorder.settled(link.endpoint.serverId, d.subId, ack, requeue);
    };
    // Requeue (requeue_on_error) at most once: a message that failed again after a redelivery
    // goes to the dead-letter exchange instead of looping between broker and handler forever.
    const requeueOnError = (sub ? sub.requeueOnError : false) && !d.redelivered;
    if (d.payload === null) {
      this.recorder.unhandled(link.endpoint.serverId, d.subId, true);
      // A body that is not JSON never will be: never requeued (no_ack: 1 drops it, as the module).
      if (noAck) settle(true, false);
      else settle(false, false);
      this.reportError(
        new KazooError('INVALID_MESSAGE', `kazoo: a message on ${describeValue(d.routingKey)} is not a JSON object${noAck ? ' (dropped: no_ack)' : ''}`, {
          routingKey: d.routingKey,
          exchange: d.exchange,
          queue: record?.queue,
        }),
      );
      return;
    }
    // Route lookup per (subscription, category, name) is cached: building and normalizing five
    // candidate names per message showed in the consume profile. Cleared when routes change.
    const cacheKey = `${d.subId}\u0000${d.category}\u0000${d.name}`;
    let resolved = this.routeCache.get(cacheKey);
    if (resolved === undefined) {
      const candidates = consumerEventCandidates({
        key: sub ? sub.native.eventKey : c.amqp_consumer_event_key,
        subkey: sub ? sub.native.eventSubkey : c.amqp_consumer_event_subkey,
        category: d.category,
        name: d.name,
        bindingEventKey: sub?.bindingEventKey,
        bindingEventSubkey: sub?.bindingEventSubkey,
      });
      resolved = { route: this.findRoute(candidates), candidates };
      if (this.routeCache.size >= ROUTE_CACHE_LIMIT) this.routeCache.clear();
      this.routeCache.set(cacheKey, resolved);
    }
    const { route, candidates } = resolved;
    if (!route) {
      this.recorder.unhandled(link.endpoint.serverId, d.subId, false);
      if (noAck) settle(true, false);
      else settle(false, requeueOnError);
      this.reportError(
        new KazooError('NO_ROUTE', `kazoo: no event route for ${candidates[0]} (tried ${candidates.join(', ')})`, {
          routingKey: d.routingKey,
          exchange: d.exchange,
          queue: record?.queue,
        }),
      );
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
      const stale = record && (this.subscriptions.get(d.subId) !== record || record.epochs.get(link) !== d.epoch);
      if (stale && !ackedOnReceipt) return;
      if (noAck) settle(true, false);
      const event = new KazooEvent(route[0], payload, d.routingKey, d.exchange, d.redelivered, this.escapeChar);
      return this.runHandler(route[0], route[1], event, waitForAck ? settle : undefined, requeueOnError);
    });
  }

  private findRoute(candidates: string[]): [string, EventRouteHandler] | undefined {
    for (const name of candidates) {
      const handler = this.routes.get(name);
      if (handler) return [name, handler];
    }
    return undefined;
  }

  private runHandler(
    name: string,
    handler: EventRouteHandler,
    event: KazooEvent,
    settle?: (ack: boolean, requeue: boolean) => void,
    requeueOnError = false,
  ): void | Promise<void> {
    const startedAt = this.recorder.clock();
    const fail = (error: unknown) => {
      this.recorder.handlerFailed(name, startedAt);
      settle?.(false, requeueOnError);
      const err = new KazooError('HANDLER_FAILED', `kazoo: event route ${name} failed: ${error instanceof Error ? error.message : String(error)}`, {
        routingKey: event.routingKey,
      });
      (err as Error & { cause?: unknown }).cause = error;
      this.reportError(err);
    };
    try {
      const result = handler(event);
      if (result !== undefined && typeof (result as Promise<void>).then === 'function') {
        return (result as Promise<void>).then(() => {
          this.recorder.handled(name, startedAt);
          settle?.(true, false);
        }, fail);
      }
      this.recorder.handled(name, startedAt);
      settle?.(true, false);
    } catch (error) {
      fail(error);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Helpers

  /**
   * Publishes and queries are taken while connected, and while close() waits for running
   * handlers (a handler replying to its message must be able to).
   */
  private accepting(): boolean {
    return this.state === 'connected' || (this.state === 'closing' && !this.closingLinks);
  }

  private primaryLink(): Link | undefined {
    // Active/standby in configuration order, as the module publishes (spec 8.2).
    for (const link of this.links) if (link.open && link.endpoint.primary) return link;
    return undefined;
  }

  private allocateId(): number {
    const id = this.nextId;
    this.nextId = id >= 0xfffffff0 ? 1 : id + 1;
    return id;
  }

  private notConnected(): KazooError {
    const why = this.state === 'new' || this.state === 'connecting' ? 'connect() has not resolved yet' : this.state === 'connected' ? 'no broker connection is open (reconnecting)' : 'the client is closed';
    return new KazooError('NOT_CONNECTED', `kazoo: not connected: ${why}`);
  }

  private rejectWaiter(id: number, failure: NativeFailure): void {
    const waiter = this.waiters.get(id);
    if (!waiter) return;
    this.waiters.delete(id);
    const error = KazooError.from(waiter.target ? { ...waiter.target, ...failure } : failure);
    const site = waiter.site;
    if (site) {
      // Async rejections carry the caller's stack, not the batch callback's; formatted only when
      // read (formatting thousands of stacks at once delays every other rejection).
      Object.defineProperty(error, 'stack', {
        configurable: true,
        enumerable: false,
        get: () => `${error.name}: ${error.message}\n${(site.stack ?? '').split('\n').slice(1).join('\n')}`,
      });
    }
    waiter.reject(error);
  }

  private reportError(error: KazooError): void {
    if (this.listenerCount('error') > 0) this.emit('error', error);
    else this.log.error(error.message, { code: `KAZOO_${error.code}`, error });
  }
}
