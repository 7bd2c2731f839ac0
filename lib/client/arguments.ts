/**
 * Argument checks of the client's calls, done before anything is sent: each failure is a
 * KazooError of the form `kazoo: <param> must be <expected>, got <value>`.
 */
import { invalid, KazooError } from '../errors';
import { parseHeaders } from '../headers';
import type { QueryOptions } from './options';

/** A publish or query whose arguments passed the checks. */
export interface CheckedSend {
  exchange: string;
  routingKey: string;
  /** The payload as JSON text (objects stringified). */
  text: string;
  /** Flat `[k1, v1, ...]` header list, or null. */
  headers: string[] | null;
  /** Query timeout in ms (0 for a publish). */
  timeoutMs: number;
}

const MAX_NAME_BYTES = 255;
const MAX_TIMEOUT_MS = 86_400_000;

function byteLength(s: string): number {
  // Fast path: a string of ≤ 85 UTF-16 units is at most 255 UTF-8 bytes.
  return s.length <= 85 ? 0 : Buffer.byteLength(s);
}

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

/**
 * Checks publish()/query() arguments; `defaultTimeoutMs` applies to a query without
 * `options.timeoutMs`, `undefined` marks a publish.
 * @throws KazooError INVALID_ARGUMENT, EXCHANGE_NAME_TOO_LONG, ROUTING_KEY_TOO_LONG.
 */
export function checkSend(
  exchange: unknown,
  routingKey: unknown,
  payload: unknown,
  options: QueryOptions | undefined,
  defaultTimeoutMs: number | undefined,
): CheckedSend {
  if (typeof exchange !== 'string') throw invalid('INVALID_ARGUMENT', 'exchange', 'a string', exchange);
  if (typeof routingKey !== 'string') throw invalid('INVALID_ARGUMENT', 'routingKey', 'a string', routingKey);
  if (byteLength(exchange) > MAX_NAME_BYTES) {
    throw new KazooError('EXCHANGE_NAME_TOO_LONG', `kazoo: exchange must be at most 255 bytes, got ${byteLength(exchange)}`, { param: 'exchange' });
  }
  if (byteLength(routingKey) > MAX_NAME_BYTES) {
    throw new KazooError('ROUTING_KEY_TOO_LONG', `kazoo: routingKey must be at most 255 bytes, got ${byteLength(routingKey)}`, { param: 'routingKey' });
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
  if (defaultTimeoutMs !== undefined) {
    timeoutMs = options?.timeoutMs === undefined ? defaultTimeoutMs : options.timeoutMs;
    if (typeof timeoutMs !== 'number' || !Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > MAX_TIMEOUT_MS) {
      throw invalid('INVALID_ARGUMENT', 'options.timeoutMs', 'an integer 1..86400000', timeoutMs);
    }
  }
  return { exchange, routingKey, text, headers, timeoutMs };
}

/**
 * Checks an event-route name and handler.
 * @throws KazooError INVALID_ARGUMENT.
 */
export function checkRoute(name: unknown, handler: unknown): void {
  if (typeof name !== 'string' || name === '') throw invalid('INVALID_ARGUMENT', 'name', 'a non-empty string', name);
  if (typeof handler !== 'function') throw invalid('INVALID_ARGUMENT', 'handler', 'a function', handler);
}

/**
 * Checks the 4-argument form of subscribe(): every argument a string.
 * @throws KazooError INVALID_ARGUMENT naming the first bad argument.
 */
export function checkSubscribeStrings(exchange: unknown, type: unknown, queue: unknown, routing: unknown): void {
  for (const [name, value] of [
    ['exchange', exchange],
    ['type', type],
    ['queue', queue],
    ['routing', routing],
  ] as const) {
    if (typeof value !== 'string') throw invalid('INVALID_ARGUMENT', name, 'a string', value);
  }
}
