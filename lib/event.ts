/**
 * What an event-route handler receives: a consumed message, a late query reply, a connection
 * event or `kazoo:mod-init` (the module's `$kzE`, `$kzRK` and the route name), and the handler type.
 */
import { KazooMessage } from './message';

/** A consumed message, a late reply or a connection event handed to an event-route handler. */
export class KazooEvent extends KazooMessage {
  /**
   * The route that matched, e.g. `kazoo:consumer-event-presence-update`; `kazoo:consumer-event`
   * for every consumer event while a catch-all handler is set ({@link Kazoo.eventCallback}),
   * `kazoo:mod-init` for start-up.
   */
  readonly name: string;
  /** Name of the exchange the message came through ('' for connection events). */
  readonly exchange: string;
  /** True when the broker redelivered the message. */
  readonly redelivered: boolean;

  /**
   * Built by the client's dispatcher; applications receive instances, they do not create them.
   * @param escapeChar `json_escape_char`, used by {@link KazooMessage.json}.
   */
  constructor(name: string, payload: string, routingKey: string, exchange: string, redelivered: boolean, escapeChar: string) {
    super(payload, routingKey, escapeChar);
    this.name = name;
    this.exchange = exchange;
    this.redelivered = redelivered;
  }
}

/**
 * An event-route handler (Kamailio: the body of `event_route[<name>]`, or the KEMI
 * `event_callback` function); a returned promise is awaited and decides the ack with
 * `wait_for_consumer_ack`. A throw or rejection is reported as `HANDLER_FAILED`.
 */
export type EventRouteHandler = (event: KazooEvent) => void | Promise<void>;
