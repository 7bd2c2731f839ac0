/**
 * Producers: which producer link a checked publish or query goes out on (the primary zone's
 * first open one, or the server a `consumer://<server-id>/<key>` routing key names), and the
 * native command that carries it.
 */
import type { ResolvedConfig } from '../config';
import { describeValue, KazooError } from '../errors';
import type { KazooReply } from '../message';
import type { StatsRecorder } from '../observability/stats-recorder';
import { settleSyncQuery } from '../query-sync';
import type { CheckedSend } from './arguments';
import type { Link, Links } from './links';
import type { PendingOperations } from './pending';
import type { ClientState } from './state';

const CONSUMER_PREFIX = 'consumer://';
const SERVER_ID = /^[1-9][0-9]{0,5}$/;

/** Sends publishes and queries through the producer links. */
export class Producers {
  constructor(
    private readonly config: ResolvedConfig,
    private readonly state: ClientState,
    private readonly links: Links,
    private readonly pending: PendingOperations,
    private readonly recorder: StatsRecorder,
  ) {}

  /**
   * Publishes `send`; resolves when confirmed (or written, without confirms).
   * @throws KazooError INVALID_ROUTING_KEY, NOT_CONNECTED.
   */
  publish(send: CheckedSend): Promise<void> {
    let key = send.routingKey;
    let link: Link | undefined;
    if (key.startsWith(CONSUMER_PREFIX)) {
      [link, key] = this.throughServer(send.routingKey);
    } else {
      if (!this.state.accepting()) throw this.state.notConnected();
      link = this.links.primaryProducer() ?? this.links.bufferingProducer();
      if (!link) throw this.state.notConnected();
    }
    const id = this.pending.allocateId();
    const promise = this.pending.track(id, send);
    this.hand(link, id, send, key, false);
    return promise as Promise<void>;
  }

  /**
   * Queries with `send` and resolves with the correlated reply; `site` holds the caller's stack
   * (query_stack_traces) for the rejection.
   * @throws KazooError NOT_CONNECTED.
   */
  query(send: CheckedSend, site: { stack?: string } | undefined): Promise<KazooReply> {
    if (!this.state.accepting()) throw this.state.notConnected();
    const link = this.links.primaryProducer();
    if (!link) throw this.state.notConnected();
    const id = this.pending.allocateId();
    const promise = this.pending.track(id, send, true, site);
    this.hand(link, id, send, send.routingKey, true);
    return promise as Promise<KazooReply>;
  }

  /**
   * {@link query}, blocking the JS thread on the native pending query until its reply or timeout.
   * @throws KazooError NOT_CONNECTED, QUERY_TIMEOUT, or the failure the native side reported.
   */
  querySync(send: CheckedSend): KazooReply {
    if (!this.state.accepting()) throw this.state.notConnected();
    const link = this.links.primaryProducer();
    if (!link) throw this.state.notConnected();
    const id = this.pending.allocateId();
    const outcome = link.connection.querySync(id, send.exchange, send.routingKey, send.text, send.headers, send.timeoutMs);
    this.recorder.syncQuery(link.endpoint.serverId, outcome);
    return settleSyncQuery(outcome, { exchange: send.exchange, routingKey: send.routingKey }, this.config.json_escape_char);
  }

  /**
   * Hands publish or query `id` to `link`'s I/O thread (routing key `key`). The queue to the I/O
   * thread is bounded: when it is full (the broker is not reading) the operation is refused at
   * once with PUBLISH_BUFFER_FULL instead of growing memory without bound.
   */
  private hand(link: Link, id: number, send: CheckedSend, key: string, isQuery: boolean): void {
    let queued: boolean;
    try {
      queued = isQuery
        ? link.connection.query(id, send.exchange, key, send.text, send.headers, send.timeoutMs)
        : link.connection.publish(id, send.exchange, key, send.text, send.headers);
    } catch (error) {
      this.pending.forget(id);
      throw error;
    }
    if (!queued) {
      this.pending.forget(id);
      throw new KazooError('PUBLISH_BUFFER_FULL', 'kazoo: too many publishes waiting for the I/O thread (the broker is not reading)', {
        exchange: send.exchange,
        routingKey: send.routingKey,
      });
    }
    this.recorder.sent(link.endpoint.serverId, id, isQuery);
  }

  /** consumer://<server-id>/<routing-key>: reply through the broker a message came from. */
  private throughServer(routingKey: string): [Link, string] {
    const rest = routingKey.slice(CONSUMER_PREFIX.length);
    const slash = rest.indexOf('/');
    const id = slash > 0 && SERVER_ID.test(rest.slice(0, slash)) ? Number(rest.slice(0, slash)) : NaN;
    const link = Number.isInteger(id) ? this.links.producerOf(id) : undefined;
    const count = this.config.servers.length;
    if (!Number.isInteger(id) || id < 1 || id > count) {
      throw new KazooError(
        'INVALID_ROUTING_KEY',
        `kazoo: routingKey must be consumer://<server-id>/<key> with a configured server id (1..${count}), got ${describeValue(routingKey)}`,
        { param: 'routingKey', routingKey },
      );
    }
    if (!this.state.accepting() || !link?.open) throw this.state.notConnected();
    return [link, rest.slice(slash + 1)];
  }
}
