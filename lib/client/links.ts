/**
 * Links: the native broker connections of a client, two per `amqp_connection` entry (a producer
 * for publishes and queries, a consumer for subscriptions), and how each one is created, started
 * and chosen for a publish.
 */
import type { ResolvedConfig } from '../config';
import type { ServerEndpoint } from '../connection-url';
import * as native from '../native';
import type { StatsRecorder } from '../observability/stats-recorder';
import type { NativeBatchCallback, NativeEvent } from '../native';
import { SettleBuffer } from './settles';

/** One native connection: a server's producer (publish, query) or consumer (subscriptions). */
export interface Link {
  /** The `amqp_connection` entry it connects to. */
  endpoint: ServerEndpoint;
  /** `producer` (publishes, queries, the reply queue) or `consumer` (subscriptions). */
  role: 'producer' | 'consumer';
  /** The native connection (one I/O thread). */
  connection: InstanceType<typeof native.Connection>;
  /**
   * Acks and nacks of this connection's deliveries, sent once per JS turn. Flush it before any
   * other command to this connection, so that settles keep their place in the command order.
   */
  settles: SettleBuffer;
  /** Its broker connection is open now. */
  open: boolean;
  /** start() was called. */
  started: boolean;
  /** Started, and its first connect attempt has not reported yet. */
  attempting: boolean;
  /** Settled once the first connect attempt opened or failed. */
  firstAttempt: Promise<void>;
  /** Settles {@link firstAttempt}. */
  markAttempted: () => void;
  /** A CONNECT_FAILED was reported since the last open. */
  failing?: boolean;
  /** Where this link's batches go (reached from the native callback only through a WeakRef). */
  onBatch: LinkBatchHandler;
}

/**
 * Links whose I/O thread runs (started, not yet closed). The native wrapper holds its batch
 * callback strongly, so that callback reaches its link only through a WeakRef: a client that was
 * never started, or was closed, can then be garbage-collected (and its native wrapper finalized).
 * A running link stays reachable from here, like an open socket: a connected client whose owner
 * dropped it keeps consuming until close().
 */
const RUNNING = new Set<Link>();

/** Receives every batch a link's I/O thread hands to JS. */
export type LinkBatchHandler = (link: Link, done: Uint32Array | null, events: NativeEvent[] | null) => void;

/**
 * The client's links. Two native connections per amqp_connection entry, as the module has a
 * publisher and consumers: broker flow control throttles a connection that publishes flat out,
 * and acks of subscriptions sharing it would wait behind its publishes. Producers start in
 * connect(); a consumer starts with the first subscription that needs it.
 */
export class Links {
  /** Producer connections, in amqp_connection order. */
  readonly producers: Link[] = [];
  /** Consumer connections, in amqp_connection order. */
  readonly consumers: Link[] = [];

  constructor(
    config: ResolvedConfig,
    onBatch: LinkBatchHandler,
    private readonly recorder: StatsRecorder,
  ) {
    for (const endpoint of config.servers) {
      this.producers.push(createLink(config, endpoint, 'producer', onBatch));
      this.consumers.push(createLink(config, endpoint, 'consumer', onBatch));
    }
  }

  /** Every link, producers first. */
  all(): Link[] {
    return [...this.producers, ...this.consumers];
  }

  /** True while a primary-zone producer is open. */
  primaryOpen(): boolean {
    return this.producers.some((l) => l.open && l.endpoint.primary);
  }

  /** The first open primary-zone producer: active/standby in configuration order, as the module publishes. */
  primaryProducer(): Link | undefined {
    for (const link of this.producers) if (link.open && link.endpoint.primary) return link;
    return undefined;
  }

  /**
   * Where a publish goes while no primary-zone producer is open: the first started one, whose
   * native reconnect buffer keeps it until the connection is back (`amqp_publish_buffer_*`).
   * A query has no such fallback: its reply queue goes with the connection.
   */
  bufferingProducer(): Link | undefined {
    return this.producers.find((l) => l.started && l.endpoint.primary);
  }

  /** The producer of server `serverId` (1-based), for `consumer://<server-id>/<key>`. */
  producerOf(serverId: number): Link | undefined {
    return this.producers.find((l) => l.endpoint.serverId === serverId);
  }

  /** Starts `link`'s I/O thread once (it connects and keeps reconnecting until closed). */
  start(link: Link): void {
    if (link.started) return;
    link.started = true;
    link.attempting = true;
    this.recorder.linkStarting(link.endpoint.serverId, link.role);
    RUNNING.add(link);
    link.connection.start();
  }

  /**
   * Closes every link (each resolves once its I/O thread finished; `command` gives the close
   * command an id) and lets them be garbage-collected afterwards.
   */
  async closeAll(command: (issue: (id: number) => boolean | void) => Promise<unknown>): Promise<void> {
    const links = this.all();
    await Promise.all(
      links.map((link) =>
        command((id) => {
          link.settles.flush();
          return link.connection.close(id);
        }),
      ),
    );
    for (const link of links) RUNNING.delete(link);
  }
}

function createLink(c: ResolvedConfig, endpoint: ServerEndpoint, role: 'producer' | 'consumer', onBatch: LinkBatchHandler): Link {
  let markAttempted!: () => void;
  const firstAttempt = new Promise<void>((resolve) => (markAttempted = resolve));
  const link = { endpoint, role, open: false, started: false, attempting: false, firstAttempt, markAttempted, onBatch } as Link;
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
      bufferCount: c.amqp_publish_buffer_count,
      bufferBytes: c.amqp_publish_buffer_bytes,
      publishTimeoutMs: c.amqp_publish_timeout_ms,
      consumerReadWindowMs: c.amqp_consumer_read_window_ms,
      lateReplies: c.query_late_replies,
      role,
    },
    batchCallback(new WeakRef(link)),
  );
  link.settles = new SettleBuffer(link.connection);
  return link;
}

/** The native batch callback of a link, holding it weakly (see RUNNING). */
function batchCallback(weakLink: WeakRef<Link>): NativeBatchCallback {
  return (done, events, more) => {
    const link = weakLink.deref();
    if (link === undefined) return;
    // A capped batch: fetch the rest after timers and I/O had their turn.
    if (more) setImmediate(() => link.connection.drain());
    try {
      link.onBatch(link, done, events);
    } finally {
      // The acks of the handlers this batch ran: one native call, without waiting for the microtask.
      link.settles.flush();
    }
  };
}
