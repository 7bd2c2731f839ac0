/**
 * The public shapes of the client's calls and events: publish/query options, the `'connection'`
 * event's argument and subscribe()'s result. Re-exported by lib/kazoo.ts and lib/index.ts.
 */

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
  /** Broker host of the connection (no credentials). */
  host: string;
  /** Zone of the connection's `amqp_connection` entry. */
  zone: string;
  /** Why a connection closed or was blocked (never contains credentials). */
  reason?: string;
}

/** Result of {@link Kazoo.subscribe}. */
export interface SubscriptionInfo {
  /** Queue name as declared (the broker's name for a server-named queue). */
  queue: string;
}
