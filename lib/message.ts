/**
 * What a query reply or a consumed event hands to JS: the module's payload text ($kzR / $kzE),
 * its routing key ($kzRK), path access and a lazily parsed object.
 */
import { DEFAULTS } from './config';
import { json, type JsonPathOptions } from './json';

/** A JSON text from the bus, with lazy parsing (V8 parses only when `data` is read). */
export class KazooMessage {
  /** The payload text exactly as the module would expose it (json-c spaced format). */
  readonly payload: string;
  /** The AMQP routing key of the delivery (`$kzRK`). */
  readonly routingKey: string;
  private parsed: unknown = undefined;
  private readonly escapeChar: string;

  constructor(payload: string, routingKey: string, escapeChar: string = DEFAULTS.json_escape_char) {
    this.payload = payload;
    this.routingKey = routingKey;
    this.escapeChar = escapeChar;
  }

  /** The value at `path` with the module's rules (see {@link json}); null when absent. */
  json(path: string, options?: JsonPathOptions): string | null {
    return json(this.payload, path, { escapeChar: this.escapeChar, ...options });
  }

  /** The payload parsed with `JSON.parse`, on first access. */
  get data(): Record<string, unknown> {
    // An event without payload (kazoo:mod-init, where $kzE is null) reads as an empty object.
    if (this.parsed === undefined) this.parsed = this.payload === '' ? {} : JSON.parse(this.payload);
    return this.parsed as Record<string, unknown>;
  }
}

/**
 * The correlated reply to {@link Kazoo.query}: `payload` is the module's `$kzR` text (reply
 * re-serialized, `AMQP-Broker-Zone` and `AMQP-Received` added, `Server-ID` rewritten to
 * `consumer://<S>/<original>` and moved last).
 */
export class KazooReply extends KazooMessage {
  /** Time from the query() call until its reply arrived, in milliseconds. */
  readonly elapsedMs: number;

  constructor(payload: string, routingKey: string, elapsedMs: number, escapeChar: string = DEFAULTS.json_escape_char) {
    super(payload, routingKey, escapeChar);
    this.elapsedMs = elapsedMs;
  }
}
