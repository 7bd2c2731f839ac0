/**
 * The one written contract between lib/ (TypeScript) and the native module
 * (build/Release/kazoo_amqp.node). Everything here is plain data: the addon copies it into
 * C++ value structs before anything crosses to the I/O thread.
 *
 * lib/ validates every argument before calling in; the addon re-checks only what could crash it.
 */

/** One broker endpoint: one native Connection, one I/O thread. */
export interface NativeConnectionOptions {
  host: string;
  port: number;
  vhost: string;
  user: string;
  password: string;
  /** amqps:// */
  tls: boolean;
  caCert: string;
  cert: string;
  key: string;
  verifyPeer: boolean;
  verifyHostname: boolean;
  /** 1-based order of this URL among all amqp_connection entries (the module's server id). */
  serverId: number;
  zone: string;
  /** In the primary zone: declares the targeted reply queue and takes normal publishes. */
  primary: boolean;
  /** amqp_heartbeats, seconds; 0 = off. */
  heartbeatSec: number;
  /** amqp_connect_timeout_sec/_micro, in ms; bounds TCP connect and the AMQP login. */
  connectTimeoutMs: number;
  /** amqp_max_channels: publish channels 1..N, opened at connect. */
  maxChannels: number;
  nodeHostname: string;
  appName: string;
  appVersion: string;
  /** Use publisher confirms on the publish channels (publish resolves on the broker's ack). */
  confirms: boolean;
  /** Default event key/subkey fields (amqp_consumer_event_key/subkey) for late query replies. */
  eventKey: string;
  eventSubkey: string;
  /** Reconnect back-off bounds. */
  reconnectMinMs: number;
  reconnectMaxMs: number;
  /** Publishes kept while reconnecting (amqp_publish_buffer_count) and their body bytes (amqp_publish_buffer_bytes). */
  bufferCount: number;
  bufferBytes: number;
  /** amqp_publish_timeout_ms: an unconfirmed publish rejects with PUBLISH_TIMEOUT after this. */
  publishTimeoutMs: number;
  /** amqp_consumer_read_window_ms: inside a stream of deliveries, read the socket at most this often (0: at once). */
  consumerReadWindowMs: number;
  /** Late query replies: delivered as consumer events ('deliver') or dropped ('drop'). */
  lateReplies: 'deliver' | 'drop';
  /**
   * 'producer': publish channels, probe channel, reply queue (publish/query commands).
   * 'consumer': subscriptions only. Separate connections keep broker flow control on a busy
   * publisher from holding back a consumer's acks and deliveries.
   */
  role: 'producer' | 'consumer';
}

/** A failure record; lib/ turns it into a KazooError (same code, message and details). */
export interface NativeFailure {
  code: string;
  message: string;
  replyCode?: number;
  replyText?: string;
  classId?: number;
  methodId?: number;
  position?: number;
  [key: string]: unknown;
}

export type NativeEvent =
  /** Command `id` failed. */
  | { t: 'fail'; id: number; error: NativeFailure }
  /** Query `id` got its correlated reply; payload is the $kzR text. */
  | { t: 'reply'; id: number; payload: string; routingKey: string; elapsedMs: number }
  /** Query `id` timed out after elapsedMs. */
  | { t: 'timeout'; id: number; elapsedMs: number }
  /** The broker blocked (memory/disk alarm) or unblocked this connection (connection.blocked). */
  | { t: 'blocked'; blocked: boolean; reason?: string }
  /** Connection opened or closed (lib/route-names.ts builds the module's event text from it). */
  | { t: 'conn'; state: 'open' | 'closed'; host: string; zone: string; reason?: string }
  /**
   * A consumed message. subId 0 = a late query reply from the targeted queue.
   * payload is the $kzE text, or null when the body is not JSON (raw holds the body then).
   * Every subscription consumes with manual acks (tag > 0, to settle), no_ack: 1 ones included;
   * tag is 0 only for late query replies (subId 0). epoch identifies the channel incarnation the
   * tag belongs to.
   */
  | {
      t: 'delivery';
      subId: number;
      epoch: number;
      tag: number;
      routingKey: string;
      exchange: string;
      redelivered: boolean;
      payload: string | null;
      raw?: string;
      /** Stringified payload values of the subscription's eventKey / eventSubkey fields ('' when absent or null). */
      category: string;
      name: string;
      /** Consistent-worker key: the consistentWorkerKey field's value when present, else the routing key. */
      workerKey: string;
    }
  /**
   * Consecutive deliveries of one batch as columns (lib/ turns each into a 'delivery' event).
   * Delivery i: numbers[5i..5i+4] = subId, epoch, tag, redelivered (0/1), has payload (0/1);
   * indexes[5i..5i+4] index `texts` for routingKey, exchange, category, name, workerKey;
   * payloads[i] is the payload, or the raw body when it has none.
   */
  | { t: 'deliveries'; n: number; numbers: Float64Array; indexes: Uint32Array; payloads: string[]; texts: string[] }
  /** Consecutive query replies of one batch as columns (reply i: ids[i], payloads[i], ...). */
  | { t: 'replies'; ids: Uint32Array; elapsedMs: Float64Array; payloads: string[]; routingKeys: string[] }
  /**
   * A subscription (re)declared on this connection; afterReconnect is true on a re-declare.
   * epoch is the channel incarnation its deliveries will carry from now on.
   */
  | { t: 'subscribed'; subId: number; epoch: number; queue: string; afterReconnect: boolean }
  /** Subscription subId failed to (re)declare on this connection. */
  | { t: 'subfail'; subId: number; error: NativeFailure }
  /** An asynchronous error not tied to a command (e.g. a publish channel closed by the broker). */
  | { t: 'error'; error: NativeFailure };

/** Normalised subscription, as lib/subscription.ts builds it from the module's JSON description. */
export interface NativeSubscription {
  exchange: string;
  exchangeType: string;
  exchangePassive: boolean;
  exchangeDurable: boolean;
  exchangeAutoDelete: boolean;
  exchangeInternal: boolean;
  queue: string;
  queuePassive: boolean;
  queueDurable: boolean;
  queueExclusive: boolean;
  queueAutoDelete: boolean;
  /** Extra queue.declare arguments (x-dead-letter-exchange, ...): string or integer values. */
  queueArguments: Record<string, string | number>;
  routing: string[];
  exchangeBindings: Array<{
    source: string;
    type: string;
    passive: boolean;
    durable: boolean;
    autoDelete: boolean;
    internal: boolean;
    routing: string[];
  }>;
  noAck: boolean;
  /** basic.qos prefetch count for this subscription's channel (never 0 = unlimited). */
  prefetch: number;
  /** Payload field names whose values become the delivery's category / name (event_key or the global default). */
  eventKey: string;
  eventSubkey: string;
  /** Top-level payload field hashed for consistent-worker dispatch; '' = use the routing key. */
  consistentWorkerKey: string;
}

/**
 * Called on the JS thread once per batch. `done` lists ids of commands that succeeded with no
 * value (publishes, subscribes, unsubscribes, close); `events` carries everything else. `more`
 * says the batch was capped and more is queued: call `drain()` (from setImmediate) to get it.
 */
export type NativeBatchCallback = (done: Uint32Array | null, events: NativeEvent[] | null, more: boolean) => void;

export declare class Connection {
  constructor(options: NativeConnectionOptions, onBatch: NativeBatchCallback);
  /** Starts the I/O thread, which connects and keeps reconnecting until close(). */
  start(): void;
  /**
   * headers: flat [k1, v1, k2, v2, ...] or null. False when the queue to the I/O thread is full
   * (200,000 publishes/queries or 256 MiB of payloads): nothing was queued.
   */
  publish(id: number, exchange: string, routingKey: string, payload: string, headers: string[] | null): boolean;
  query(
    id: number,
    exchange: string,
    routingKey: string,
    payload: string,
    headers: string[] | null,
    timeoutMs: number,
  ): boolean;
  /**
   * Sends query `id` and blocks the JS thread until its reply, timeout or failure (the I/O thread
   * keeps running; no spinning). Used by the KEMI shim's synchronous `kazoo_query`.
   */
  querySync(
    id: number,
    exchange: string,
    routingKey: string,
    payload: string,
    headers: string[] | null,
    timeoutMs: number,
  ): Extract<NativeEvent, { t: 'reply' | 'timeout' | 'fail' }>;
  subscribe(id: number, subId: number, sub: NativeSubscription): void;
  unsubscribe(id: number, subId: number): void;
  /**
   * Settles the first `count` deliveries described in `settles`, four numbers each: subId, epoch,
   * tag, flags (1 ack, 2 requeue), in that order, as one command (one wake-up of the I/O thread;
   * consecutive acks may leave as one `multiple` ack).
   */
  settleMany(settles: Float64Array, count: number): void;
  /** Hands JS the next batch now (call it from setImmediate after a batch with `more`). */
  drain(): void;
  /** Closes the connection; `id` is reported done once the I/O thread finished. Returns false when the connection was never started (nothing will be reported). */
  close(id: number): boolean;
}

/** kazoo_json: the value at `path` rendered as the module does, or null (docs/module-behaviour.md#json-paths). */
export declare function json(payload: string, path: string, escapeChar: string): string | null;
/**
 * json-c lenient parse + spaced serialization of `payload`; throws a NativeFailure-shaped Error.
 * `reference: true` serializes with json-c itself (what the fast serializer is tested against);
 * honoured only by the test build of the addon.
 */
export declare function reserialize(payload: string, reference?: boolean): string;
/** The length of the array at `path` ({kz.json.count}), 0 when absent or not an array. */
export declare function jsonCount(payload: string, path: string, escapeChar: string): number;

/**
 * Test hook, exported only by the test build (build/Release/kazoo_amqp_testing.node; lib/native.ts
 * loads it on demand). Forced-route payload rules with a fixed identity (kamailio / 9.9.9 / kamailio@test.local), for tests. */
export declare const testing: {
  publishBody(
    payload: string,
    route: 'auto' | 'fast' | 'reference',
    msgIdIfAbsent: string,
    serverId: string,
  ): { body?: string; msgId?: string; error?: string; declined?: boolean };
  deliveryView(
    body: string,
    route: 'auto' | 'fast' | 'reference',
    eventKey: string,
    eventSubkey: string,
    workerKeyField: string,
  ): { valid: boolean; declined: boolean; payload: string; msgId: string; category: string; name: string; workerKey: string };
  /** Every code of the core's ErrorCode enum (native/core/error_code.h), as reported to JS. */
  errorCodes(): string[];
};
