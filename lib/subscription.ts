/**
 * `kazoo_subscribe`'s JSON description (docs/module-behaviour.md#subscribe) turned into what the native core declares
 * and what dispatch needs, with the module's defaults and its flag-sharing rules.
 */
import type { ResolvedConfig } from './config';
import { describeValue, invalid, KazooError } from './errors';
import * as native from './native';
import type { NativeSubscription } from './native';

/**
 * The module's subscription description. Every field is optional; unknown fields (e.g. `name`
 * from 2600hz configs) are ignored, as the module does. Integers/booleans follow json-c's int
 * conversion (`true`→1, `"1"`→1, `null`→0).
 */
export interface SubscriptionDescription {
  /** Exchange to declare and bind the queue to; `""` = consume `queue` without declaring or binding. */
  exchange?: string;
  /** Exchange type (`direct`, `topic`, `fanout`, `headers`, ...); read from `exchange-def` when present. */
  type?: string;
  /** Queue name; `""` (default) = server-named. */
  queue?: string;
  /** Binding key(s); default `[""]`. */
  routing?: string | string[];
  /** Without `exchange-def`/`queue-def` these apply to BOTH the exchange and the queue (module rule). */
  passive?: FlagLike;
  durable?: FlagLike;
  auto_delete?: FlagLike;
  /** Queue only. */
  exclusive?: FlagLike;
  /** Exchange only. */
  internal?: FlagLike;
  /** Exchange declaration; when present the top-level type/flags are ignored for the exchange. */
  'exchange-def'?: { type?: string; passive?: FlagLike; durable?: FlagLike; auto_delete?: FlagLike; internal?: FlagLike };
  /**
   * Queue declaration; when present the top-level flags are ignored for the queue.
   * `arguments` is a kazoo-amqp extension: queue.declare arguments such as `x-dead-letter-exchange`.
   */
  'queue-def'?: {
    passive?: FlagLike;
    durable?: FlagLike;
    exclusive?: FlagLike;
    auto_delete?: FlagLike;
    arguments?: Record<string, string | number>;
  };
  /** `{ "<source>": { type, passive, durable, auto_delete, internal, routing } }`: every entry is bound. */
  'exchange-bindings'?: Record<
    string,
    { type?: string; passive?: FlagLike; durable?: FlagLike; auto_delete?: FlagLike; internal?: FlagLike; routing?: string | string[] }
  >;
  /**
   * Default 1: at most once, acked when the handler starts (the broker sees manual acks, so the
   * prefetch bounds what waits). 0: acknowledged per `wait_for_consumer_ack`, nacked on failure.
   */
  no_ack?: FlagLike;
  /** Default 1: with `no_ack: 0`, ack after the handler's promise resolves; 0: ack on receipt. */
  wait_for_consumer_ack?: FlagLike;
  /** Per-binding field name for the route's category (and a literal fallback category). */
  event_key?: string;
  /** Per-binding field name for the route's name (and a literal fallback name). */
  event_subkey?: string;
  /** 1 = also consume on servers of non-primary zones. */
  federate?: FlagLike;
  /** 1 = pick the worker lane by `core_hash` of the key instead of round-robin. */
  'consistent-worker'?: FlagLike;
  /** Top-level payload field whose value is hashed; absent → the routing key. */
  'consistent-worker-key'?: string;
  /** kazoo-amqp: basic.qos prefetch (default `amqp_consumer_prefetch`): at most this many deliveries wait for a handler. */
  prefetch?: number;
  /** kazoo-amqp: nack with requeue when a handler fails (default `requeue_on_error`). */
  requeue_on_error?: FlagLike;
}

/** What a 0/1 field of the description accepts. */
export type FlagLike = 0 | 1 | boolean | number | string | null;

/** A subscription after normalisation. */
export interface NormalizedSubscription {
  native: NativeSubscription;
  federate: boolean;
  consistentWorker: boolean;
  waitForConsumerAck: boolean;
  requeueOnError: boolean;
  /** The binding's own event_key / event_subkey, when given (literal fallbacks, docs/module-behaviour.md#event-routes). */
  bindingEventKey?: string;
  bindingEventSubkey?: string;
}

const P = 'subscribe';

/** json-c int conversion of a flag, with `fallback` when the field is absent. */
function flag(value: unknown, fallback: boolean, field: string): boolean {
  if (value === undefined) return fallback;
  if (value === null) return false;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return Math.trunc(value) !== 0;
  if (typeof value === 'string') {
    const n = Number.parseInt(value.trim(), 10);
    return Number.isFinite(n) && n !== 0;
  }
  throw invalid('INVALID_ARGUMENT', `${P}.${field}`, '0, 1, a boolean or a numeric string', value);
}

/** json-c string conversion: strings as-is, numbers and booleans stringified. */
function text(value: unknown, fallback: string, field: string): string {
  if (value === undefined || value === null) return fallback;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw invalid('INVALID_ARGUMENT', `${P}.${field}`, 'a string', value);
}

function keys(value: unknown, field: string): string[] | undefined {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.map((k, i) => text(k, '', `${field}[${i}]`));
  if (value === undefined || value === null) return undefined;
  // The module treats other JSON types as absent; a typed error is more useful here.
  throw invalid('INVALID_ARGUMENT', `${P}.${field}`, 'a string or an array of strings', value);
}

function checkName(name: string, field: string, code: 'EXCHANGE_NAME_TOO_LONG' | 'INVALID_ARGUMENT'): void {
  if (Buffer.byteLength(name) > 255) {
    throw new KazooError(code, `kazoo: ${P}.${field} must be at most 255 bytes, got ${Buffer.byteLength(name)}`, {
      param: `${P}.${field}`,
    });
  }
}

/** Binding keys are AMQP short strings: at most 255 bytes each. */
function checkKeys(routing: string[], field: string): void {
  for (const [i, key] of routing.entries()) {
    if (Buffer.byteLength(key) > 255) {
      throw new KazooError('ROUTING_KEY_TOO_LONG', `kazoo: ${P}.${field}[${i}] must be at most 255 bytes`, {
        param: `${P}.${field}`,
      });
    }
  }
}

function objectOrUndefined(value: unknown, field: string): Record<string, unknown> | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw invalid('INVALID_ARGUMENT', `${P}.${field}`, 'an object', value);
  return value as Record<string, unknown>;
}

/** Parses a JSON description with json-c's lenient rules (the module's parser). */
function parseDescription(description: string): Record<string, unknown> {
  let standard: string;
  try {
    standard = native.reserialize(description);
  } catch (error) {
    const e = error as { message?: string; position?: number };
    throw new KazooError('INVALID_JSON', e.message ?? 'kazoo: subscribe description is not valid JSON', {
      param: P,
      position: e.position,
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(standard);
  } catch {
    // json-c accepts NaN / Infinity, which JSON.parse does not: no field of a description uses them.
    throw new KazooError('INVALID_JSON', 'kazoo: subscribe description must not contain NaN or Infinity', { param: P });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw invalid('INVALID_ARGUMENT', P, 'a JSON object', description);
  }
  return parsed as Record<string, unknown>;
}

/**
 * Normalises a description (JSON text or object) with the module's defaults (docs/module-behaviour.md#subscribe).
 * @throws KazooError INVALID_JSON / INVALID_ARGUMENT / EXCHANGE_NAME_TOO_LONG naming the field.
 */
export function normalizeSubscription(
  description: string | SubscriptionDescription,
  config: ResolvedConfig,
): NormalizedSubscription {
  let d: Record<string, unknown>;
  if (typeof description === 'string') d = parseDescription(description);
  else if (typeof description === 'object' && description !== null && !Array.isArray(description))
    d = description as Record<string, unknown>;
  else throw invalid('INVALID_ARGUMENT', P, 'a JSON object or its text', description);

  const exchange = text(d.exchange, '', 'exchange');
  checkName(exchange, 'exchange', 'EXCHANGE_NAME_TOO_LONG');
  const queue = text(d.queue, '', 'queue');
  checkName(queue, 'queue', 'INVALID_ARGUMENT');

  const exchangeDef = objectOrUndefined(d['exchange-def'], 'exchange-def');
  const ex = exchangeDef ?? d;
  const exPrefix = exchangeDef ? 'exchange-def.' : '';
  const exchangeType = text(ex.type, '', `${exPrefix}type`);
  const exchangePassive = flag(ex.passive, false, `${exPrefix}passive`);
  checkName(exchangeType, `${exPrefix}type`, 'INVALID_ARGUMENT');
  if (exchange !== '' && exchangeType === '' && !exchangePassive) {
    throw new KazooError(
      'INVALID_ARGUMENT',
      `kazoo: ${P}.${exPrefix}type must be an exchange type (direct, topic, fanout, headers, ...) for exchange ${describeValue(exchange)}, got ""`,
      { param: `${P}.${exPrefix}type` },
    );
  }

  const queueDef = objectOrUndefined(d['queue-def'], 'queue-def');
  const q = queueDef ?? d;
  const qPrefix = queueDef ? 'queue-def.' : '';
  const queueArguments: Record<string, string | number> = {};
  const args = queueDef ? objectOrUndefined(queueDef.arguments, 'queue-def.arguments') : undefined;
  for (const [key, value] of Object.entries(args ?? {})) {
    checkName(key, `queue-def.arguments.${key.slice(0, 20)}`, 'INVALID_ARGUMENT');
    if (typeof value === 'string' || (typeof value === 'number' && Number.isInteger(value))) queueArguments[key] = value;
    else throw invalid('INVALID_ARGUMENT', `${P}.queue-def.arguments.${key}`, 'a string or an integer', value);
  }

  const bindings: NativeSubscription['exchangeBindings'] = [];
  const sources = objectOrUndefined(d['exchange-bindings'], 'exchange-bindings');
  for (const [source, raw] of Object.entries(sources ?? {})) {
    const field = `exchange-bindings.${source}`;
    const b = objectOrUndefined(raw, field);
    if (b === undefined) continue;
    const routing = keys(b.routing, `${field}.routing`);
    if (routing === undefined) continue; // the module skips entries without routing
    checkName(source, field, 'EXCHANGE_NAME_TOO_LONG');
    checkKeys(routing, `${field}.routing`);
    checkName(text(b.type, '', `${field}.type`), `${field}.type`, 'INVALID_ARGUMENT');
    bindings.push({
      source,
      type: text(b.type, '', `${field}.type`),
      passive: flag(b.passive, false, `${field}.passive`),
      durable: flag(b.durable, false, `${field}.durable`),
      autoDelete: flag(b.auto_delete, false, `${field}.auto_delete`),
      internal: flag(b.internal, false, `${field}.internal`),
      routing,
    });
  }

  const prefetch = d.prefetch === undefined ? config.amqp_consumer_prefetch : d.prefetch;
  if (typeof prefetch !== 'number' || !Number.isInteger(prefetch) || prefetch < 1 || prefetch > 65535) {
    throw invalid('INVALID_ARGUMENT', `${P}.prefetch`, 'an integer 1..65535', prefetch);
  }
  const routing = keys(d.routing, 'routing') ?? [''];
  checkKeys(routing, 'routing');
  const bindingEventKey = d.event_key === undefined ? undefined : text(d.event_key, '', 'event_key');
  const bindingEventSubkey = d.event_subkey === undefined ? undefined : text(d.event_subkey, '', 'event_subkey');
  const workerKey = text(d['consistent-worker-key'], '', 'consistent-worker-key');

  return {
    native: {
      exchange,
      exchangeType,
      exchangePassive,
      exchangeDurable: flag(ex.durable, false, `${exPrefix}durable`),
      exchangeAutoDelete: flag(ex.auto_delete, false, `${exPrefix}auto_delete`),
      exchangeInternal: flag(ex.internal, false, `${exPrefix}internal`),
      queue,
      queuePassive: flag(q.passive, false, `${qPrefix}passive`),
      queueDurable: flag(q.durable, false, `${qPrefix}durable`),
      queueExclusive: flag(q.exclusive, false, `${qPrefix}exclusive`),
      queueAutoDelete: flag(q.auto_delete, true, `${qPrefix}auto_delete`),
      queueArguments,
      routing,
      exchangeBindings: bindings,
      noAck: flag(d.no_ack, true, 'no_ack'),
      prefetch,
      eventKey: bindingEventKey || config.amqp_consumer_event_key,
      eventSubkey: bindingEventSubkey || config.amqp_consumer_event_subkey,
      consistentWorkerKey: workerKey,
    },
    federate: flag(d.federate, false, 'federate'),
    consistentWorker: flag(d['consistent-worker'], false, 'consistent-worker'),
    waitForConsumerAck: flag(d.wait_for_consumer_ack, true, 'wait_for_consumer_ack'),
    requeueOnError: flag(d.requeue_on_error, config.requeue_on_error === 1, 'requeue_on_error'),
    bindingEventKey: bindingEventKey || undefined,
    bindingEventSubkey: bindingEventSubkey || undefined,
  };
}
