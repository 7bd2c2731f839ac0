/** The interface every AMQP client adapter implements for the scenarios. */
import { ClientId, BrokerInfo } from '../types';
import { BenchHandler } from '../support/routing';

/** How an adapter is created; it connects before it is returned. */
export interface ClientOptions {
  broker: BrokerInfo;
  /** Use publisher confirms for publishMany (kazoo-amqp: `amqp_publisher_confirms: 1`). */
  confirms: boolean;
  /** node_hostname for kazoo-amqp; also the host part of the baselines' Server-ID. */
  nodeHostname: string;
  prefetch: number;
  /** Unresolved-publish window of promise-based publishers (and of every confirm publisher). */
  window: number;
}

/** Options of {@link AmqpBenchClient.publishMany}. */
export interface PublishManyOptions {
  exchange: string;
  routingKey: string;
  /** The body: a script payload for kazoo-amqp, pre-serialized wire bytes for the others. */
  body: string;
  /** How many to publish; Infinity with `stop` for duration-bound runs. */
  count: number;
  stop?: () => boolean;
  /** Yield to the event loop after every this many publishes (event-loop scenario). */
  yieldEvery?: number;
}

/** Options of {@link AmqpBenchClient.subscribe}: mirrors a kazoo_subscribe description. */
export interface SubscribeOptions {
  exchange: string;
  queue: string;
  routing: string[];
  /** Full event-route names → handler. */
  routes: Record<string, BenchHandler>;
}

/**
 * One client under test. Each method uses the client's idiomatic flow control; the differences
 * are documented in docs/performance.md.
 */
export interface AmqpBenchClient {
  readonly id: ClientId;
  /**
   * Publishes `count` messages. Without confirms it resolves once the client accepted them all
   * (written or buffered); with confirms once the broker confirmed them all. Returns the count.
   */
  publishMany(opts: PublishManyOptions): Promise<number>;
  /**
   * Declares exchange (topic), queue and bindings as kazoo_subscribe does, sets the prefetch and
   * starts consuming with manual acks; each delivery is dispatched to its event route and acked
   * once the handler returned.
   */
  subscribe(opts: SubscribeOptions): Promise<void>;
  /** One Kazoo-style RPC (Msg-ID/Server-ID correlation over the `targeted` exchange). */
  query(exchange: string, routingKey: string, payload: string, timeoutMs: number): Promise<string>;
  close(): Promise<void>;
}
