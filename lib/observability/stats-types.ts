/**
 * The shape of {@link Kazoo.stats}: a plain, typed snapshot of the client's counters, gauges and
 * latency histograms, safe to log or serialize (it never holds a credential).
 */
import type { HistogramSnapshot } from './histogram';

/**
 * A broker connection's state: `connecting` (first attempt under way), `open`, `blocked` (open,
 * but the broker's flow control holds its publishes) or `closed` (not started, lost and
 * reconnecting in the background, or the client is closed).
 */
export type ConnectionState = 'connecting' | 'open' | 'blocked' | 'closed';

/** Which of a server's two connections: `producer` (publish, query) or `consumer` (subscriptions). */
export type ConnectionRole = 'producer' | 'consumer';

/** One broker connection (one server, one role). */
export interface ConnectionStats {
  readonly role: ConnectionRole;
  readonly state: ConnectionState;
  /** When the state last changed (ms since the epoch). */
  readonly since: number;
  /** Times the connection opened (first connect included). */
  readonly opens: number;
  /** Times it opened again after having been open: reconnects. */
  readonly reconnects: number;
  /** Connect attempts that failed (each attempt of the back-off counts). */
  readonly connectFailures: number;
  /** The last close or connect-failure reason, credentials redacted; null if none yet. */
  readonly lastError: { readonly reason: string; readonly at: number } | null;
}

/** Publishes through one server's producer connection. */
export interface PublishStats {
  /** Handed to the connection (calls that were rejected before sending are not counted). */
  readonly sent: number;
  /** Confirmed by the broker (with `amqp_publisher_confirms: 0`: written to the socket). */
  readonly confirmed: number;
  /** Refused by the broker with `basic.nack`. */
  readonly nacked: number;
  /** Failed otherwise: refused with a channel error (e.g. 404), connection lost, client closed. */
  readonly failed: number;
  /** Gauge: sent and not settled yet (`sent - confirmed - nacked - failed`). */
  readonly inFlight: number;
}

/** Queries (publish + correlated reply) through one server's producer connection. */
export interface QueryStats {
  readonly sent: number;
  readonly answered: number;
  readonly timedOut: number;
  /** Failed otherwise (nacked, refused, connection lost, client closed). */
  readonly failed: number;
  /** Replies that arrived after their query had timed out (`query_late_replies: 'deliver'`). */
  readonly late: number;
  /** Gauge: sent and still waiting for a reply. */
  readonly pending: number;
}

/** One configured broker (`amqp_connection` entry). */
export interface ServerStats {
  /** 1-based position in `amqp_connection` (the module's server id). */
  readonly serverId: number;
  /** The `server` label: `host:port`, plus `/vhost` when the vhost is not `/`. */
  readonly server: string;
  readonly host: string;
  readonly port: number;
  readonly vhost: string;
  readonly zone: string;
  readonly primary: boolean;
  readonly producer: ConnectionStats;
  readonly consumer: ConnectionStats;
  readonly publishes: PublishStats;
  readonly queries: QueryStats;
  /** Publish → broker confirm (resolution of `publish()`). */
  readonly publishConfirm: HistogramSnapshot;
  /** Query sent → reply received (answered queries only), as measured by the I/O thread. */
  readonly queryRoundTrip: HistogramSnapshot;
}

/** Deliveries of one subscription queue through one server's consumer connection. */
export interface QueueStats {
  readonly queue: string;
  /** The server's `server` label (see {@link ServerStats.server}). */
  readonly server: string;
  readonly serverId: number;
  /** Messages handed to event-route dispatch. */
  readonly deliveries: number;
  /** Deliveries acked with `basic.ack` (no_ack 1 bindings ack too, as they consume with manual acks); inside a stream of `no_ack: 0` deliveries the frame may leave up to 5 ms later (amqp_consumer_read_window_ms). */
  readonly acks: number;
  /** `basic.nack` without requeue (dead-lettered or dropped by the broker). */
  readonly nacks: number;
  /** `basic.nack` with requeue. */
  readonly requeues: number;
  /** Deliveries no event route handled (`NO_ROUTE`). */
  readonly unrouted: number;
  /** Deliveries whose body is not a JSON object (`INVALID_MESSAGE`). */
  readonly invalid: number;
}

/** One event route (`event_route[<name>]`). */
export interface RouteStats {
  readonly route: string;
  /** Handler runs that returned (or resolved) normally. */
  readonly handled: number;
  /** Handler runs that threw or rejected (`HANDLER_FAILED`). */
  readonly failures: number;
  /** Handler run time, until its promise settled. */
  readonly duration: HistogramSnapshot;
}

/** What {@link Kazoo.stats} returns. */
export interface KazooStats {
  /** When the snapshot was taken (ms since the epoch). */
  readonly at: number;
  readonly servers: readonly ServerStats[];
  readonly queues: readonly QueueStats[];
  readonly routes: readonly RouteStats[];
  readonly lanes: {
    /** `amqp_consumer_workers`. */
    readonly workers: number;
    /** Gauge: deliveries and connection events queued in the worker lanes, not started yet. */
    readonly backlog: number;
  };
}
