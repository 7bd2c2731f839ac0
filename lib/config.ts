/**
 * Configuration: every `modparam("kazoo", ...)` of the Kamailio module under its exact name
 * (spec §2), plus kazoo-amqp's own parameters. This file is the single home of defaults.
 */

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseAmqpConnection, redactUrl, redactValue, type ServerEndpoint } from './connection-url';
import type { EncodeCompat } from './encode';
import { invalid, KazooError } from './errors';
import { checkLogger, type KazooLogger } from './logger';

/** A 0/1 switch, as the module's int parameters take it; `true`/`false` are accepted too. */
export type Flag = 0 | 1 | boolean;

/**
 * Configuration of a kazoo-amqp client. Keys are the Kamailio module's parameter names, exactly
 * as in `modparam("kazoo", "<name>", <value>)`; only `node_hostname` and `amqp_connection` are
 * required. Integers must be given as numbers, not strings.
 *
 * Parameters that are dead in the module (marked *dead* below) are accepted and validated, and
 * each one given produces a warning that it has no effect.
 */
export interface KazooConfig {
  /**
   * str, **required**. Host name of this node, used in `Node` = `kamailio@<node_hostname>`, in
   * `Server-ID` and in the targeted reply queue names. At most 200 UTF-8 bytes (queue names are
   * AMQP short strings).
   */
  node_hostname: string;
  /**
   * str or str[], **required**. Broker URLs, one per server: `[zone=<name>;]amqp://user:pass@host:port/vhost`
   * (also `amqps://`, and `kazoo://` as an alias of `amqp://`), at most 512 bytes each.
   * Server ids are 1-based in this order. See `parseAmqpConnection` for the URL rules.
   */
  amqp_connection: string | string[];
  /** int 1..1024, default 50. Publish channels per broker connection (N). */
  amqp_max_channels?: number;
  /**
   * int 1..256, default 1 (the module's docs say 4; 1 is the code's default). Accepted with a
   * warning and no effect: the module's consumer processes per primary-zone server; kazoo-amqp
   * consumes over one connection per server and runs handlers in `amqp_consumer_workers` lanes.
   */
  amqp_consumer_processes?: number;
  /**
   * int, a power of two 1..1024, default 8. Worker lanes (W) that run event routes; deliveries of
   * one lane are handled in order. `consistent-worker` bindings hash into `core_hash & (W − 1)`.
   */
  amqp_consumer_workers?: number;
  /** str, default `Event-Category`. Payload field naming the 1st part of consumer-event route names. */
  amqp_consumer_event_key?: string;
  /** str, default `Event-Name`. Payload field naming the 2nd part of consumer-event route names. */
  amqp_consumer_event_subkey?: string;
  /**
   * int 0..86400, default 2. Default query timeout, seconds part. The total with
   * `amqp_query_timeout_micro` must be above 0 (the module would wait forever on 0).
   */
  amqp_query_timeout_sec?: number;
  /** int 0..999999, default 0. Default query timeout, microseconds part. */
  amqp_query_timeout_micro?: number;
  /**
   * str (pseudo-variable spec such as `$avp(kz_timeout)`), default unset. In the module, a non-zero
   * integer in it is the query timeout **in milliseconds**; accepted with a warning and no effect
   * until the KEMI shim is built (pass `timeoutMs` to `query()`).
   */
  amqp_query_timeout_avp?: string | null;
  /**
   * int 0..86400, default 0. No effect here; the module uses it only to drain one frame after an
   * unexpected-state error.
   */
  amqp_waitframe_timeout_sec?: number;
  /** int 0..999999, default 100000. No effect here (see `amqp_waitframe_timeout_sec`). */
  amqp_waitframe_timeout_micro?: number;
  /** int 0..86400, default 0. *Dead* (2014 SEND sub-loop timeout). */
  amqp_interprocess_timeout_sec?: number;
  /** int 0..999999, default 100000. *Dead*. */
  amqp_interprocess_timeout_micro?: number;
  /** int 0..86400, default 0. *Dead* (2014 ACK sub-loop timeout). */
  amqp_consumer_ack_timeout_sec?: number;
  /** int 0..999999, default 100000. *Dead*. */
  amqp_consumer_ack_timeout_micro?: number;
  /** int ≥ 0, default 5. *Dead* (2014 SEND sub-loop bound). */
  amqp_internal_loop_count?: number;
  /** int ≥ 0, default 10. *Dead* (2014 CONSUME sub-loop bound). */
  amqp_consumer_loop_count?: number;
  /** int ≥ 0, default 20. *Dead* (2014 ACK sub-loop bound). */
  amqp_consumer_ack_loop_count?: number;
  /** 0|1, default 1. *Dead* (2014: drain all ready messages after a reconnect). */
  consume_messages_on_reconnect?: Flag;
  /** 0|1, default 1. *Dead* (2014: send messages drained after a reconnect to one worker). */
  single_consumer_on_reconnect?: Flag;
  /** int ≥ 0 (ms), default 200. *Dead* (interval of a timeout-scanner process no longer forked). */
  amqp_timer_process_interval?: number;
  /**
   * int 0..3600, default 0. Connect timeout, seconds part. The total with
   * `amqp_connect_timeout_micro` must be above 0.
   */
  amqp_connect_timeout_sec?: number;
  /** int 0..999999, default 200000 (200 ms in all). Connect timeout, microseconds part. */
  amqp_connect_timeout_micro?: number;
  /** int 0..65535 (s), default 0 = off. Heartbeat interval requested at login on every connection. */
  amqp_heartbeats?: number;
  /**
   * str, default `local`. Name of the primary zone: servers without a `zone=` prefix, or with this
   * zone, take normal publishes and queries and consume every binding. Unlike the module, the
   * order of parameters does not matter. No `"`, `;`, `\` or control characters (the module writes
   * zone names unescaped into connection-event payloads).
   */
  amqp_primary_zone?: string;
  /**
   * int 1..16777216, default 2048. Accepted with a warning and no effect: the module's fixed-size
   * pending-query table; kazoo-amqp's grows as needed.
   */
  amqp_command_hashtable_size?: number;
  /** str (pseudo-variable spec), default `$avp(amqp_result)`. *Dead* (parsed, never used). */
  amqp_result_avp?: string;
  /** One ASCII character, default `%`. In JSON paths it stands for a literal `.` in a key. */
  json_escape_char?: string;
  /** str, default `kamailio`. Value of the `App-Name` field added to published payloads. */
  app_name?: string;
  /** 0|1, default 0. *Dead* since 2017 (federated exchange on non-primary zones). */
  use_federated_exchange?: Flag;
  /** str, default `federation`. *Dead* since 2017 (see `use_federated_exchange`). */
  federated_exchange?: string;
  /** str (path), default unset. CA certificate file for `amqps://` servers. */
  amqps_ca_cert?: string | null;
  /** str (path), default unset. Client certificate; must be given together with `amqps_key`. */
  amqps_cert?: string | null;
  /** str (path), default unset. Client key; must be given together with `amqps_cert`. */
  amqps_key?: string | null;
  /** 0|1, default 1. TLS peer (certificate chain) verification. */
  amqps_verify_peer?: Flag;
  /** 0|1, default 1. TLS host name verification. */
  amqps_verify_hostname?: Flag;
  /** str, default unset. Presentity database URL for the `kazoo_pua_*` functions; accepted with a warning and no effect until presence is built. */
  db_url?: string | null;
  /** str, default `presentity`. Table the `kazoo_pua_*` functions write; accepted with a warning and no effect until presence is built. */
  presentity_table?: string;
  /** 0|1, default 1. Enables the `kazoo_pua_*` functions; accepted with a warning and no effect until presence is built. */
  pua_mode?: Flag;
  /** 0|1, default 1. Dialog-info bodies with (1) or without (0) `<target uri=.../>`; accepted with a warning and no effect until presence is built. */
  pua_include_entity?: Flag;
  /** 0|1|2, default 1. Presentity write locking (0 none, 1 write, 2 full); accepted with a warning and no effect until presence is built. */
  pua_lock_type?: 0 | 1 | 2;
  /** 0|1, default 0. *Dead* upstream (used only by the 2600hz fork). */
  presence_use_full_entity?: Flag;
  /**
   * str, default unset. KEMI mode's event function name in the module; accepted with a warning and
   * no effect until the KEMI shim is built (register handlers with `eventRoute()`).
   */
  event_callback?: string | null;

  // kazoo-amqp's own parameters (not in the Kamailio module).

  /** str, default this package's version. Value of the `App-Version` field added to payloads. */
  app_version?: string;
  /** 0|1, default 1. Publisher confirms: a publish resolves when the broker has confirmed it. */
  amqp_publisher_confirms?: Flag;
  /**
   * int 1..65535, default 64. `basic.qos` prefetch of each subscription's channel (a
   * subscription's own `prefetch` overrides it): at most this many deliveries wait for a handler.
   */
  amqp_consumer_prefetch?: number;
  /**
   * `'deliver'` (default) or `'drop'`. A query reply that arrives after its timeout is delivered
   * as a consumer event, as in the module, or dropped.
   */
  query_late_replies?: 'deliver' | 'drop';
  /**
   * 0|1, default 0. For `no_ack: 0` bindings, a message whose handler failed (or that no route
   * handles) is nacked with requeue (1) or without (0: the broker dead-letters or drops it).
   * A message is requeued at most once: failing again after a redelivery dead-letters it.
   */
  requeue_on_error?: Flag;
  /** int 1..3600000, default 100. First reconnect delay (ms); later attempts back off up to the maximum. */
  amqp_reconnect_min_ms?: number;
  /** int 1..3600000, default 5000. Longest reconnect delay (ms); at least `amqp_reconnect_min_ms`. */
  amqp_reconnect_max_ms?: number;
  /**
   * `'kazoo'` (default) or `'kamailio-x86'`. How `Kazoo.encode()` renders non-ASCII bytes: proper
   * hex like Kazoo, or the signed-char quirk of x86 Kamailio (spec §5.1).
   */
  encode_compat?: EncodeCompat;
  /**
   * object, default unset. Where kazoo-amqp logs: any object with `debug/info/warn/error(message, ...args)` (console, pino, winston). Unset: warnings and errors go to `process.emitWarning`. Lines never contain credentials.
   */
  logger?: KazooLogger | null;
}

type Given<K extends keyof KazooConfig> = Exclude<KazooConfig[K], undefined>;

/** The final type of one parameter: flags become 0|1, `amqp_connection` a list. */
type ResolvedValue<K extends keyof KazooConfig> = K extends 'amqp_connection'
  ? string[]
  : [Flag] extends [Given<K>]
    ? 0 | 1
    : Given<K>;

/**
 * Every parameter of {@link KazooConfig} with its final value: defaults applied, flags as 0|1,
 * unset optional strings as `null`. `amqp_connection` holds the entries with their passwords
 * redacted (safe to log); the credentials are in `servers`.
 */
export type ResolvedParams = { readonly [K in keyof KazooConfig]-?: ResolvedValue<K> };

/** The validated configuration that the rest of kazoo-amqp works from. */
export interface ResolvedConfig extends ResolvedParams {
  /** One endpoint per `amqp_connection` entry, in order (`serverId` 1, 2, ...). */
  readonly servers: readonly ServerEndpoint[];
  /** `amqp_query_timeout_sec/_micro` in milliseconds (rounded up), always > 0. */
  readonly queryTimeoutMs: number;
  /** `amqp_connect_timeout_sec/_micro` in milliseconds (rounded up), always > 0. */
  readonly connectTimeoutMs: number;
  /** One message per dead parameter given; see {@link emitConfigWarnings}. */
  readonly warnings: readonly string[];
}

/** Parameters that have a default (all but the two required ones). */
export type ConfigDefaults = Omit<ResolvedParams, 'node_hostname' | 'amqp_connection'>;

/**
 * The default of every optional parameter: the Kamailio module's defaults (spec §2, from its
 * code where its docs differ), then kazoo-amqp's own.
 */
export const DEFAULTS: Readonly<ConfigDefaults> = Object.freeze({
  amqp_max_channels: 50,
  amqp_consumer_processes: 1,
  amqp_consumer_workers: 8,
  amqp_consumer_event_key: 'Event-Category',
  amqp_consumer_event_subkey: 'Event-Name',
  amqp_query_timeout_sec: 2,
  amqp_query_timeout_micro: 0,
  amqp_query_timeout_avp: null,
  amqp_waitframe_timeout_sec: 0,
  amqp_waitframe_timeout_micro: 100000,
  amqp_interprocess_timeout_sec: 0,
  amqp_interprocess_timeout_micro: 100000,
  amqp_consumer_ack_timeout_sec: 0,
  amqp_consumer_ack_timeout_micro: 100000,
  amqp_internal_loop_count: 5,
  amqp_consumer_loop_count: 10,
  amqp_consumer_ack_loop_count: 20,
  consume_messages_on_reconnect: 1,
  single_consumer_on_reconnect: 1,
  amqp_timer_process_interval: 200,
  amqp_connect_timeout_sec: 0,
  amqp_connect_timeout_micro: 200000,
  amqp_heartbeats: 0,
  amqp_primary_zone: 'local',
  amqp_command_hashtable_size: 2048,
  amqp_result_avp: '$avp(amqp_result)',
  json_escape_char: '%',
  app_name: 'kamailio',
  use_federated_exchange: 0,
  federated_exchange: 'federation',
  amqps_ca_cert: null,
  amqps_cert: null,
  amqps_key: null,
  amqps_verify_peer: 1,
  amqps_verify_hostname: 1,
  db_url: null,
  presentity_table: 'presentity',
  pua_mode: 1,
  pua_include_entity: 1,
  pua_lock_type: 1,
  presence_use_full_entity: 0,
  event_callback: null,
  app_version: packageVersion(),
  amqp_publisher_confirms: 1,
  amqp_consumer_prefetch: 64,
  query_late_replies: 'deliver',
  requeue_on_error: 0,
  amqp_reconnect_min_ms: 100,
  amqp_reconnect_max_ms: 5000,
  encode_compat: 'kazoo',
  logger: null,
} satisfies ConfigDefaults);

/** This package's version, from the nearest kazoo-amqp package.json (source and dist layouts differ). */
function packageVersion(): string {
  let dir = __dirname;
  for (let depth = 0; depth < 5; depth++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'kazoo-amqp' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // not here; look one level up
    }
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return '0.0.0';
}

// ---------------------------------------------------------------------------------------------
// Validation

type Check = (value: unknown, param: string) => unknown;

/** Values in messages go through redactValue: a misplaced URL must not print its password. */
function bad(param: string, expected: string, value: unknown): KazooError {
  return invalid('INVALID_CONFIG', param, expected, redactValue(value));
}

function int(min: number, max: number): Check {
  return (value, param) => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw bad(param, `an integer ${min}..${max}`, value);
    }
    return value;
  };
}

const nonNegativeInt = int(0, 2147483647);
const seconds = int(0, 86400);
const micro = int(0, 999999);

const powerOfTwo: Check = (value, param) => {
  const inRange = typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 1024;
  if (!inRange || (value & (value - 1)) !== 0) {
    throw bad(param, 'a power of two 1..1024', value);
  }
  return value;
};

const flag: Check = (value, param) => {
  if (value === 0 || value === 1) return value;
  if (value === true) return 1;
  if (value === false) return 0;
  throw bad(param, '0, 1, true or false', value);
};

const text: Check = (value, param) => {
  if (typeof value !== 'string' || value === '') throw bad(param, 'a non-empty string', value);
  return value;
};

const optionalText: Check = (value, param) => (value === null ? null : text(value, param));

/** A Kamailio pseudo-variable spec, such as `$avp(name)` or `$var(name)`. */
const pvSpec: Check = (value, param) => {
  if (typeof value !== 'string' || !/^\$[A-Za-z]\w*(\(.+\))?$/.test(value)) {
    throw bad(param, 'a pseudo-variable spec such as "$avp(name)" or "$var(name)"', value);
  }
  return value;
};

const optionalPvSpec: Check = (value, param) => (value === null ? null : pvSpec(value, param));

function oneOf(values: readonly (string | number)[]): Check {
  return (value, param) => {
    if (!values.includes(value as string | number)) {
      throw bad(param, `one of ${values.map((v) => JSON.stringify(v)).join(', ')}`, value);
    }
    return value;
  };
}

/** Zone names go unescaped into hand-written event payloads, so quotes and controls are out. */
const zoneName: Check = (value, param) => {
  if (typeof value !== 'string' || value === '' || /[";\\\x00-\x1f\x7f]/.test(value)) {
    throw bad(param, 'a non-empty string without ", ;, \\ or control characters', value);
  }
  return value;
};

const MAX_NODE_HOSTNAME_BYTES = 200;

const nodeHostname: Check = (value, param) => {
  if (typeof value !== 'string' || value === '' || Buffer.byteLength(value, 'utf8') > MAX_NODE_HOSTNAME_BYTES) {
    throw bad(param, `a non-empty string of at most ${MAX_NODE_HOSTNAME_BYTES} bytes`, value);
  }
  return value;
};

const connectionList: Check = (value, param) => {
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length === 0 || !list.every((entry) => typeof entry === 'string' && entry !== '')) {
    throw bad(param, 'a non-empty URL string or a non-empty array of them', value);
  }
  return [...list];
};

const escapeChar: Check = (value, param) => {
  if (typeof value !== 'string' || !/^[\x00-\x7f]$/.test(value)) {
    throw bad(param, 'a one-character ASCII string', value);
  }
  return value;
};

/** One validator per parameter; the mapped type makes a missing one a compile error. */
const CHECKS: { readonly [K in keyof KazooConfig]-?: Check } = {
  node_hostname: nodeHostname,
  amqp_connection: connectionList,
  amqp_max_channels: int(1, 1024),
  amqp_consumer_processes: int(1, 256),
  amqp_consumer_workers: powerOfTwo,
  amqp_consumer_event_key: text,
  amqp_consumer_event_subkey: text,
  amqp_query_timeout_sec: seconds,
  amqp_query_timeout_micro: micro,
  amqp_query_timeout_avp: optionalPvSpec,
  amqp_waitframe_timeout_sec: seconds,
  amqp_waitframe_timeout_micro: micro,
  amqp_interprocess_timeout_sec: seconds,
  amqp_interprocess_timeout_micro: micro,
  amqp_consumer_ack_timeout_sec: seconds,
  amqp_consumer_ack_timeout_micro: micro,
  amqp_internal_loop_count: nonNegativeInt,
  amqp_consumer_loop_count: nonNegativeInt,
  amqp_consumer_ack_loop_count: nonNegativeInt,
  consume_messages_on_reconnect: flag,
  single_consumer_on_reconnect: flag,
  amqp_timer_process_interval: nonNegativeInt,
  amqp_connect_timeout_sec: int(0, 3600),
  amqp_connect_timeout_micro: micro,
  amqp_heartbeats: int(0, 65535),
  amqp_primary_zone: zoneName,
  amqp_command_hashtable_size: int(1, 16777216),
  amqp_result_avp: pvSpec,
  json_escape_char: escapeChar,
  app_name: text,
  use_federated_exchange: flag,
  federated_exchange: text,
  amqps_ca_cert: optionalText,
  amqps_cert: optionalText,
  amqps_key: optionalText,
  amqps_verify_peer: flag,
  amqps_verify_hostname: flag,
  db_url: optionalText,
  presentity_table: text,
  pua_mode: flag,
  pua_include_entity: flag,
  pua_lock_type: oneOf([0, 1, 2]),
  presence_use_full_entity: flag,
  event_callback: optionalText,
  app_version: text,
  amqp_publisher_confirms: flag,
  amqp_consumer_prefetch: int(1, 65535),
  query_late_replies: oneOf(['deliver', 'drop']),
  requeue_on_error: flag,
  amqp_reconnect_min_ms: int(1, 3600000),
  amqp_reconnect_max_ms: int(1, 3600000),
  encode_compat: oneOf(['kazoo', 'kamailio-x86']),
  logger: checkLogger,
};

const KNOWN_PARAMS: readonly string[] = Object.keys(CHECKS);

/** Parameters accepted for compatibility that change nothing, with the reason given in the warning. */
const NO_EFFECT: Readonly<Partial<Record<keyof KazooConfig, string>>> = (() => {
  const dead = '(dead in the Kamailio module too)';
  const waitframe = '(the Kamailio module uses it only to drain one frame after an unexpected-state error)';
  return {
    amqp_waitframe_timeout_sec: waitframe,
    amqp_waitframe_timeout_micro: waitframe,
    amqp_command_hashtable_size: '(kazoo-amqp keeps pending queries in a table that grows as needed)',
    amqp_query_timeout_avp: '(the KEMI shim that reads it is not built yet; pass options.timeoutMs to query())',
    event_callback: '(the KEMI shim is not built yet; register handlers with eventRoute())',
    db_url: '(presence, the kazoo_pua_* functions, is not built yet)',
    presentity_table: '(presence, the kazoo_pua_* functions, is not built yet)',
    pua_mode: '(presence, the kazoo_pua_* functions, is not built yet)',
    pua_include_entity: '(presence, the kazoo_pua_* functions, is not built yet)',
    pua_lock_type: '(presence, the kazoo_pua_* functions, is not built yet)',
    amqp_consumer_processes:
      '(kazoo-amqp consumes over one connection per server; use amqp_consumer_workers and prefetch for parallelism)',
    amqp_interprocess_timeout_sec: dead,
    amqp_interprocess_timeout_micro: dead,
    amqp_consumer_ack_timeout_sec: dead,
    amqp_consumer_ack_timeout_micro: dead,
    amqp_internal_loop_count: dead,
    amqp_consumer_loop_count: dead,
    amqp_consumer_ack_loop_count: dead,
    consume_messages_on_reconnect: dead,
    single_consumer_on_reconnect: dead,
    amqp_timer_process_interval: dead,
    amqp_result_avp: dead,
    use_federated_exchange: dead,
    federated_exchange: dead,
    presence_use_full_entity: dead,
  };
})();

/**
 * Validates a configuration and applies the defaults.
 *
 * Beyond the per-parameter checks documented on {@link KazooConfig}: unknown keys are rejected
 * (the message suggests the closest parameter name); the total query timeout and the total
 * connect timeout must be above 0; `amqp_reconnect_min_ms` must not exceed
 * `amqp_reconnect_max_ms`; `amqps_cert` and `amqps_key` must be given together (the module
 * silently ignores one without the other). Each dead parameter given adds a message to
 * `warnings` (see {@link emitConfigWarnings}). No message ever contains a password.
 *
 * @throws KazooError `INVALID_CONFIG` with `details.param` naming the parameter at fault (`config`
 *   when `input` is not an object).
 */
export function resolveConfig(input: KazooConfig): ResolvedConfig {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw bad('config', 'an object of kazoo parameters', input);
  }
  const given = input as unknown as Record<string, unknown>;
  const keys = Object.keys(given);
  for (const key of keys) {
    if (!Object.prototype.hasOwnProperty.call(CHECKS, key)) throw unknownParameter(key);
  }

  const out: Record<string, unknown> = { ...DEFAULTS };
  const warnings: string[] = [];
  for (const key of keys) {
    const value = given[key];
    if (value === undefined) continue;
    out[key] = CHECKS[key as keyof KazooConfig](value, key);
    const reason = NO_EFFECT[key as keyof KazooConfig];
    if (reason !== undefined) warnings.push(`kazoo: ${key} has no effect ${reason}`);
  }
  if (given.node_hostname === undefined) throw bad('node_hostname', 'a non-empty string (it is required)', undefined);
  if (given.amqp_connection === undefined) {
    throw bad('amqp_connection', 'a non-empty URL string or a non-empty array of them (it is required)', undefined);
  }

  const resolved = out as { -readonly [K in keyof ResolvedParams]: ResolvedParams[K] };
  const queryTimeoutUs = resolved.amqp_query_timeout_sec * 1e6 + resolved.amqp_query_timeout_micro;
  if (queryTimeoutUs === 0) {
    throw bad(
      'amqp_query_timeout_sec',
      'above 0 when amqp_query_timeout_micro is 0 (a zero query timeout would wait forever)',
      resolved.amqp_query_timeout_sec,
    );
  }
  const connectTimeoutUs = resolved.amqp_connect_timeout_sec * 1e6 + resolved.amqp_connect_timeout_micro;
  if (connectTimeoutUs === 0) {
    throw bad(
      'amqp_connect_timeout_sec',
      'above 0 when amqp_connect_timeout_micro is 0',
      resolved.amqp_connect_timeout_sec,
    );
  }
  if (resolved.amqp_reconnect_min_ms > resolved.amqp_reconnect_max_ms) {
    throw bad(
      'amqp_reconnect_min_ms',
      `at most amqp_reconnect_max_ms (${resolved.amqp_reconnect_max_ms})`,
      resolved.amqp_reconnect_min_ms,
    );
  }
  if ((resolved.amqps_cert === null) !== (resolved.amqps_key === null)) {
    const missing = resolved.amqps_cert === null ? 'amqps_cert' : 'amqps_key';
    const other = missing === 'amqps_cert' ? 'amqps_key' : 'amqps_cert';
    throw bad(missing, `set when ${other} is set (the client certificate needs both)`, null);
  }

  const entries = resolved.amqp_connection;
  const servers = entries.map((entry, index) => parseAmqpConnection(entry, index + 1, resolved.amqp_primary_zone));
  resolved.amqp_connection = entries.map(redactUrl);

  return Object.freeze({
    ...resolved,
    servers: Object.freeze(servers),
    queryTimeoutMs: Math.ceil(queryTimeoutUs / 1000),
    connectTimeoutMs: Math.ceil(connectTimeoutUs / 1000),
    warnings: Object.freeze(warnings),
  });
}

function unknownParameter(key: string): KazooError {
  const suggestion = closestParameter(key);
  const hint = suggestion === null ? '' : ` (did you mean ${suggestion}?)`;
  // The value is deliberately not shown: a misspelt key may well hold a password.
  return new KazooError('INVALID_CONFIG', `kazoo: ${key} is not a kazoo parameter${hint}`, { param: key });
}

/** The known name nearest to `key` (case-insensitive edit distance), if it is plausibly a typo. */
function closestParameter(key: string): string | null {
  const wanted = key.toLowerCase();
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const name of KNOWN_PARAMS) {
    const distance = editDistance(wanted, name);
    if (distance < bestDistance) {
      best = name;
      bestDistance = distance;
    }
  }
  return bestDistance <= Math.max(3, Math.floor(key.length / 3)) ? best : null;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost);
    }
    previous = current;
  }
  return previous[b.length];
}

const emitted = new Set<string>();

/**
 * Reports configuration warnings (from {@link ResolvedConfig.warnings}) through
 * `process.emitWarning(message, { code: 'KAZOO_DEAD_PARAM' })`, each distinct message at most
 * once per process, so that creating many clients does not repeat them; or, when the client has
 * a `logger`, through `logger.warn(message, { code: 'KAZOO_DEAD_PARAM' })` every time (the
 * application chose where its warnings go).
 */
export function emitConfigWarnings(warnings: readonly string[], logger?: KazooLogger): void {
  if (logger) {
    for (const message of warnings) logger.warn(message, { code: 'KAZOO_DEAD_PARAM' });
    return;
  }
  for (const message of warnings) {
    if (emitted.has(message)) continue;
    emitted.add(message);
    process.emitWarning(message, { code: 'KAZOO_DEAD_PARAM' });
  }
}
