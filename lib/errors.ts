/**
 * The one error class of kazoo-amqp, with stable string codes.
 *
 * Codes are the contract: never classify a KazooError by its message text. The native addon
 * reports failures as plain `{ code, message, ... }` records; {@link KazooError.from} turns them
 * into instances on the JS thread.
 */

/** Every code a {@link KazooError} can carry. */
export type KazooErrorCode =
  /** No native addon loads on this platform: no fitting prebuilt binary and no source build (`details.tried`). */
  | 'ADDON_NOT_FOUND'
  /** A configuration parameter is missing or has a bad value (`details.param` names it). */
  | 'INVALID_CONFIG'
  /** A function argument has the wrong type or shape (`details.param` names it). */
  | 'INVALID_ARGUMENT'
  /** A payload is not valid JSON for json-c's lenient parser, or not a JSON object. */
  | 'INVALID_JSON'
  /** A routing key is longer than 255 bytes (the module's limit). */
  | 'ROUTING_KEY_TOO_LONG'
  /** An exchange name is longer than 255 bytes (AMQP shortstr). */
  | 'EXCHANGE_NAME_TOO_LONG'
  /** A `consumer://<id>/<key>` routing key is malformed or names no configured server. */
  | 'INVALID_ROUTING_KEY'
  /** No open connection: before `connect()` resolved, after `close()`, or while reconnecting. */
  | 'NOT_CONNECTED'
  /** The broker refused an operation (`details.replyCode`, `classId`, `methodId`, `replyText`). */
  | 'BROKER_REFUSED'
  /** The broker cancelled a subscription's consumer (e.g. its queue was deleted); it is not re-declared. */
  | 'CHANNEL_CLOSED'
  /** The connection dropped while an operation was in flight. */
  | 'CONNECTION_LOST'
  /** The broker could not be reached or refused the login. */
  | 'CONNECT_FAILED'
  /** A query got no correlated reply in time (`details.exchange`, `routingKey`, `elapsedMs`). */
  | 'QUERY_TIMEOUT'
  /** `close()` was called while the operation was pending. */
  | 'CLOSED'
  /** An event-route handler threw or rejected (nacked when the binding has no_ack 0 and wait_for_consumer_ack 1). */
  | 'HANDLER_FAILED'
  /** A consumed message matched no event route (nacked when the binding has no_ack 0). */
  | 'NO_ROUTE'
  /** A consumed message body is not a JSON object (nacked when the binding has no_ack 0). */
  | 'INVALID_MESSAGE'
  /** A `'connection'` listener threw (`details.listener`); the other listeners and events still ran. */
  | 'LISTENER_FAILED'
  /** A `puaPublish*` call while `pua_mode` is not 1 or `db_url` is unset (`details.param` names which). */
  | 'PUA_DISABLED'
  /** The presentity database failed (`details.backend`, `table`, `driverCode`); the message never shows a password. */
  | 'DATABASE_ERROR';

/** Structured facts attached to an error; which fields exist depends on the code. */
export interface KazooErrorDetails {
  /** Configuration parameter or argument at fault. */
  param?: string;
  /** AMQP reply code of a broker refusal (e.g. 404, 403, 406). */
  replyCode?: number;
  /** AMQP reply text of a broker refusal. */
  replyText?: string;
  /** AMQP class id of the refused method (e.g. 40 = exchange, 60 = basic). */
  classId?: number;
  /** AMQP method id of the refused method. */
  methodId?: number;
  /** Character offset of a JSON parse error. */
  position?: number;
  exchange?: string;
  routingKey?: string;
  queue?: string;
  elapsedMs?: number;
  /** Broker host (never with credentials). */
  host?: string;
  [key: string]: unknown;
}

/** The error every kazoo-amqp API rejects or throws with. */
export class KazooError extends Error {
  /** Stable machine-readable code. */
  readonly code: KazooErrorCode;
  /** Structured details (parameter name, AMQP reply code, ...). */
  readonly details: KazooErrorDetails;

  constructor(code: KazooErrorCode, message: string, details: KazooErrorDetails = {}) {
    super(message);
    this.name = 'KazooError';
    this.code = code;
    this.details = details;
  }

  /** Builds an error from a native failure record `{ code, message, ...details }`. */
  static from(record: { code: string; message: string; [key: string]: unknown }): KazooError {
    const { code, message, ...details } = record;
    return new KazooError(code as KazooErrorCode, message, details as KazooErrorDetails);
  }
}

/** Renders a value for an error message: strings quoted, the rest as JSON or String(). */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  if (value === undefined) return 'undefined';
  if (typeof value === 'bigint' || typeof value === 'function' || typeof value === 'symbol') return String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Builds the house-style message `kazoo: <param> must be <expected>, got <value>`. */
export function invalid(
  code: 'INVALID_CONFIG' | 'INVALID_ARGUMENT',
  param: string,
  expected: string,
  value: unknown,
): KazooError {
  return new KazooError(code, `kazoo: ${param} must be ${expected}, got ${describeValue(value)}`, { param });
}
