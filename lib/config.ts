/**
 * Configuration: every `modparam("kazoo", ...)` of the Kamailio module under its exact name,
 * plus kazoo-amqp's own parameters, each declared once in {@link PARAMS} (rule, default, docs,
 * origin). Validation, {@link DEFAULTS}, the {@link KazooConfig} and {@link ResolvedConfig}
 * types and the README's parameter table (lib/config-docs.ts) all come from that declaration;
 * this file is the single home of defaults.
 */

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  bad,
  closestName,
  connectionList,
  escapeChar,
  flag,
  int,
  loggerObject,
  micro,
  nodeHostname,
  nonNegativeInt,
  oneOf,
  optional,
  powerOfTwo,
  pvSpec,
  seconds,
  text,
  zoneName,
  type Rule,
} from './config-rules';
import { parseAmqpConnection, redactUrl, type ServerEndpoint } from './connection-url';
import { KazooError } from './errors';
import type { KazooLogger } from './logger';
import { checkTableName, parseDbUrl } from './presence/db-url';

export type { Flag } from './config-rules';

/** One parameter's declaration; see {@link PARAMS}. */
export interface ParamDeclaration<In, Out> {
  /** How a given value is checked, and its type as the docs show it. */
  readonly rule: Rule<In, Out>;
  /** The default (`undefined` only for the required parameters). */
  readonly default?: Out;
  /** Shown instead of the default in the docs when it is computed (e.g. this package's version). */
  readonly defaultText?: string;
  /** Required (`node_hostname`, `amqp_connection`); what the error says a missing one must be. */
  readonly required?: true;
  /** For a required parameter: the `must be` text when it is missing. */
  readonly missing?: string;
  /** One or two sentences: what the parameter does (the README table's Meaning column). */
  readonly doc: string;
  /** `module`: the Kamailio module's parameter of the same name; `ours`: kazoo-amqp's own. */
  readonly origin: 'module' | 'ours';
  /** Accepted for compatibility but changes nothing here: the reason the warning gives. */
  readonly noEffect?: string;
}

interface Extra {
  defaultText?: string;
  noEffect?: string;
}

function module_<In, Out>(rule: Rule<In, Out>, def: Out, doc: string, extra: Extra = {}): ParamDeclaration<In, Out> {
  return { rule, default: def, doc, origin: 'module', ...extra };
}

function ours<In, Out>(rule: Rule<In, Out>, def: Out, doc: string, extra: Extra = {}): ParamDeclaration<In, Out> {
  return { rule, default: def, doc, origin: 'ours', ...extra };
}

function required<In, Out>(rule: Rule<In, Out>, missing: string, doc: string): ParamDeclaration<In, Out> & { required: true } {
  return { rule, required: true, missing, doc, origin: 'module' };
}

const DEAD = '(dead in the Kamailio module too)';
const WAITFRAME = '(the Kamailio module uses it only to drain one frame after an unexpected-state error)';
const dead = { noEffect: DEAD };
/** A presentity database URL (lib/presence/db-url.ts says which). */
const dbUrl: Rule<string> = {
  type: 'str (sqlite:///…, postgres://…, mysql://…)',
  check: (value, param) => {
    const url = text().check(value, param);
    parseDbUrl(url, param);
    return url;
  },
};

/** An SQL table name, optionally schema-qualified. */
const tableName: Rule<string> = { type: 'str (SQL identifier)', check: (value, param) => checkTableName(text().check(value, param), param) };

/**
 * Every parameter, declared once. To add one: add an entry here (Kamailio name as the key, in the
 * module's order; kazoo-amqp's own after them), then `npm run docs:config` and a row in
 * docs/configuration.md (docs/contributing.md#add-a-parameter).
 */
export const PARAMS = {
  node_hostname: required(
    nodeHostname,
    'a non-empty string',
    'Host name of this node, used in `Node` = `kamailio@<node_hostname>`, in `Server-ID` and in the targeted reply queue names. At most 200 UTF-8 bytes.',
  ),
  amqp_connection: required(
    connectionList,
    'a non-empty URL string or a non-empty array of them',
    'Broker URLs, one per server: `[zone=<name>;]amqp://user:pass@host:port/vhost` (also `amqps://`, and `kazoo://` as an alias of `amqp://`), at most 512 bytes each. Server ids are 1-based in this order.',
  ),
  amqp_max_channels: module_(int(1, 1024), 50, 'Publish channels per broker connection (N).'),
  amqp_consumer_processes: module_(
    int(1, 256),
    1,
    "Accepted with a warning and no effect: the module's consumer processes per primary-zone server; kazoo-amqp consumes over one connection per server and runs handlers in `amqp_consumer_workers` lanes.",
    { noEffect: '(kazoo-amqp consumes over one connection per server; use amqp_consumer_workers and prefetch for parallelism)' },
  ),
  amqp_consumer_workers: module_(powerOfTwo, 8, 'Worker lanes (W) that run event routes; deliveries of one lane are handled in order.'),
  amqp_consumer_event_key: module_(text(), 'Event-Category', 'Payload field naming the 1st part of consumer-event route names.'),
  amqp_consumer_event_subkey: module_(text(), 'Event-Name', 'Payload field naming the 2nd part of consumer-event route names.'),
  amqp_query_timeout_sec: module_(seconds, 2, 'Default query timeout, seconds part. The total with `amqp_query_timeout_micro` must be above 0.'),
  amqp_query_timeout_micro: module_(micro, 0, 'Default query timeout, microseconds part.'),
  amqp_query_timeout_avp: module_(
    optional(pvSpec('str (pseudo-variable spec such as `$avp(kz_timeout)`)')),
    null,
    'In the module, a non-zero integer in it is the query timeout **in milliseconds**. Read by the KEMI shim (`kazoo-amqp run`) for `kazoo_query`/`kazoo_async_query`; a plain client passes `timeoutMs` to `query()`.',
  ),
  amqp_waitframe_timeout_sec: module_(seconds, 0, 'No effect here; the module uses it only to drain one frame after an unexpected-state error.', {
    noEffect: WAITFRAME,
  }),
  amqp_waitframe_timeout_micro: module_(micro, 100000, 'No effect here (see `amqp_waitframe_timeout_sec`).', { noEffect: WAITFRAME }),
  amqp_interprocess_timeout_sec: module_(seconds, 0, '*Dead* (2014 SEND sub-loop timeout).', dead),
  amqp_interprocess_timeout_micro: module_(micro, 100000, '*Dead*.', dead),
  amqp_consumer_ack_timeout_sec: module_(seconds, 0, '*Dead* (2014 ACK sub-loop timeout).', dead),
  amqp_consumer_ack_timeout_micro: module_(micro, 100000, '*Dead*.', dead),
  amqp_internal_loop_count: module_(nonNegativeInt, 5, '*Dead* (2014 SEND sub-loop bound).', dead),
  amqp_consumer_loop_count: module_(nonNegativeInt, 10, '*Dead* (2014 CONSUME sub-loop bound).', dead),
  amqp_consumer_ack_loop_count: module_(nonNegativeInt, 20, '*Dead* (2014 ACK sub-loop bound).', dead),
  consume_messages_on_reconnect: module_(flag, 1, '*Dead* (2014: drain all ready messages after a reconnect).', dead),
  single_consumer_on_reconnect: module_(flag, 1, '*Dead* (2014: send messages drained after a reconnect to one worker).', dead),
  amqp_timer_process_interval: module_(int(0, 2147483647, 'int ≥ 0 (ms)'), 200, '*Dead* (interval of a timeout-scanner process no longer forked).', dead),
  amqp_connect_timeout_sec: module_(int(0, 3600), 0, 'Connect timeout, seconds part. The total with `amqp_connect_timeout_micro` must be above 0.'),
  amqp_connect_timeout_micro: module_(micro, 200000, 'Connect timeout, microseconds part (200 ms in all by default).'),
  amqp_heartbeats: module_(int(0, 65535, 'int 0..65535 (s)'), 0, 'Heartbeat interval requested at login on every connection; 0 = off.'),
  amqp_primary_zone: module_(
    zoneName,
    'local',
    'Name of the primary zone: servers without a `zone=` prefix, or with this zone, take normal publishes and queries and consume every binding.',
  ),
  amqp_command_hashtable_size: module_(
    int(1, 16777216),
    2048,
    "Accepted with a warning and no effect: the module's fixed-size pending-query table; kazoo-amqp's grows as needed.",
    { noEffect: '(kazoo-amqp keeps pending queries in a table that grows as needed)' },
  ),
  amqp_result_avp: module_(pvSpec(), '$avp(amqp_result)', '*Dead* (parsed, never used).', dead),
  json_escape_char: module_(escapeChar, '%', 'In JSON paths it stands for a literal `.` in a key.'),
  app_name: module_(text(), 'kamailio', 'Value of the `App-Name` field added to published payloads.'),
  use_federated_exchange: module_(flag, 0, '*Dead* since 2017 (federated exchange on non-primary zones).', dead),
  federated_exchange: module_(text(), 'federation', '*Dead* since 2017 (see `use_federated_exchange`).', dead),
  amqps_ca_cert: module_(optional(text('str (path)')), null, 'CA certificate file for `amqps://` servers.'),
  amqps_cert: module_(optional(text('str (path)')), null, 'Client certificate; must be given together with `amqps_key`.'),
  amqps_key: module_(optional(text('str (path)')), null, 'Client key; must be given together with `amqps_cert`.'),
  amqps_verify_peer: module_(flag, 1, 'TLS peer (certificate chain) verification.'),
  amqps_verify_hostname: module_(flag, 1, 'TLS host name verification.'),
  db_url: module_(optional(dbUrl), null, 'Presentity database of the `kazoo_pua_*` functions: `sqlite:///abs/path.db` (or 2600hz\'s `kazoo:///abs/path.db`, read as SQLite), `postgres://user[:pass]@host[:port]/db`, `mysql://user[:pass]@host[:port]/db` (MariaDB/MySQL). Opened on first use ([presence.md](docs/presence.md)).'),
  presentity_table: module_(tableName, 'presentity', 'Table the `kazoo_pua_*` functions write; created with Kamailio\'s presentity schema (version 5) when missing, never altered.'),
  pua_mode: module_(flag, 1, 'Enables the `kazoo_pua_*` functions (`puaPublish*` reject PUA_DISABLED otherwise).'),
  pua_include_entity: module_(flag, 1, 'Dialog-info bodies with (1) or without (0) `<target uri=.../>`.'),
  pua_lock_type: module_(oneOf([0, 1, 2]), 1, 'Table lock per presentity transaction: 0 none, 1 write, 2 full ([presence.md](docs/presence.md)).'),
  presence_use_full_entity: module_(flag, 0, '*Dead* upstream (used only by the 2600hz fork).', dead),
  event_callback: module_(
    optional(text()),
    null,
    "KEMI mode's event function: the KEMI shim (`kazoo-amqp run`) calls this script function for every event. A plain client registers a catch-all handler with `eventCallback()` instead.",
  ),

  app_version: ours(text(), packageVersion(), 'Value of the `App-Version` field added to payloads.', { defaultText: "this package's version" }),
  amqp_publisher_confirms: ours(flag, 1, 'Publisher confirms: a publish resolves when the broker has confirmed it.'),
  amqp_consumer_prefetch: ours(
    int(1, 65535),
    64,
    "`basic.qos` prefetch of each subscription's channel (a subscription's own `prefetch` overrides it): at most this many deliveries wait for a handler.",
  ),
  amqp_consumer_read_window_ms: ours(
    int(0, 100),
    1,
    'While deliveries stream in (less than 2 ms apart, every subscription with more than half its prefetch free), the consumer connection reads its socket at most once per this many ms, so that each wake-up carries a batch: a delivery in a stream waits at most this long. The first delivery after a pause is never held. In such streams the acks of finished handlers (no_ack: 0) are also held up to 5 ms (or until half the prefetch is unacked) and sent together; close() and unsubscribe() send them first. 0 turns both off (reads and acks at once).',
  ),
  query_late_replies: ours(
    oneOf(['deliver', 'drop']),
    'deliver',
    'A query reply that arrives after its timeout is delivered as a consumer event, as in the module, or dropped.',
  ),
  query_stack_traces: ours(
    flag,
    0,
    "A failed `query()` rejects with an error whose stack is the `query()` call's (1) or the library's reply handling (0). Capturing a stack costs 5 to 12 µs per query on a 2-core VM, about a fifth of a query's client CPU (docs/performance.md); the message names the exchange and routing key either way. Turn it on while debugging.",
  ),
  requeue_on_error: ours(
    flag,
    0,
    'For `no_ack: 0` bindings, a message whose handler failed (or that no route handles) is nacked with requeue (1) or without (0: the broker dead-letters or drops it). A message is requeued at most once.',
  ),
  amqp_reconnect_min_ms: ours(int(1, 3600000), 100, 'First reconnect delay (ms); later attempts back off up to the maximum.'),
  amqp_reconnect_max_ms: ours(int(1, 3600000), 5000, 'Longest reconnect delay (ms); at least `amqp_reconnect_min_ms`.'),
  amqp_publish_buffer_count: ours(
    int(0, 1000000),
    10000,
    'Publishes kept per connection while it is down or reconnecting, sent once it is back (at-least-once: a publish unconfirmed when the connection dropped is sent again with the same Msg-ID). One more rejects at once with `PUBLISH_BUFFER_FULL`.',
  ),
  amqp_publish_buffer_bytes: ours(int(0, 1073741824), 16777216, 'Total body bytes of those kept publishes; past it a publish rejects `PUBLISH_BUFFER_FULL`.'),
  amqp_publish_timeout_ms: ours(
    int(1, 3600000),
    30000,
    'A publish the broker has not confirmed within this many ms (time kept while reconnecting included) rejects with `PUBLISH_TIMEOUT` (it may still arrive).',
  ),
  encode_compat: ours(
    oneOf(['kazoo', 'kamailio-x86']),
    'kazoo',
    'How `Kazoo.encode()` renders non-ASCII bytes: proper hex like Kazoo, or the signed-char quirk of x86 Kamailio (docs/module-behaviour.md#routing-key-encoding).',
  ),
  logger: ours(
    loggerObject,
    null,
    'Where kazoo-amqp logs: any object with `debug/info/warn/error(message, ...args)` (console, pino, winston). Unset: warnings and unheard errors stay process warnings. Lines never contain credentials ([operations.md](docs/operations.md#logging)).',
  ),
} as const;

type Params = typeof PARAMS;
type ParamName = keyof Params;
type InOf<D> = D extends ParamDeclaration<infer I, unknown> ? I : never;
type OutOf<D> = D extends ParamDeclaration<unknown, infer O> ? O : never;
type RequiredName = { [K in ParamName]: Params[K] extends { required: true } ? K : never }[ParamName];

/**
 * Configuration of a kazoo-amqp client. Keys are the Kamailio module's parameter names, exactly
 * as in `modparam("kazoo", "<name>", <value>)`; only `node_hostname` and `amqp_connection` are
 * required. Integers must be given as numbers, not strings. Every key, its type, default and
 * meaning: {@link PARAMS}, the README's configuration table and docs/configuration.md.
 *
 * Parameters without effect here (dead in the module, or for features not built) are accepted
 * and validated, and each one given produces a warning that it has no effect.
 */
export type KazooConfig = { [K in RequiredName]: InOf<Params[K]> } & { [K in Exclude<ParamName, RequiredName>]?: InOf<Params[K]> };

/**
 * Every parameter of {@link KazooConfig} with its final value: defaults applied, flags as 0|1,
 * unset optional strings as `null`. `amqp_connection` holds the entries with their passwords
 * redacted (safe to log); the credentials are in `servers`.
 */
export type ResolvedParams = { readonly [K in ParamName]: OutOf<Params[K]> };

/** The validated configuration that the rest of kazoo-amqp works from. */
export interface ResolvedConfig extends ResolvedParams {
  /** One endpoint per `amqp_connection` entry, in order (`serverId` 1, 2, ...). */
  readonly servers: readonly ServerEndpoint[];
  /** `amqp_query_timeout_sec/_micro` in milliseconds (rounded up), always > 0. */
  readonly queryTimeoutMs: number;
  /** `amqp_connect_timeout_sec/_micro` in milliseconds (rounded up), always > 0. */
  readonly connectTimeoutMs: number;
  /** One message per no-effect parameter given; see {@link emitConfigWarnings}. */
  readonly warnings: readonly string[];
}

/** Parameters that have a default (all but the two required ones). */
export type ConfigDefaults = Omit<ResolvedParams, RequiredName>;

/** The names of every parameter, in declaration order. */
export const PARAM_NAMES = Object.freeze(Object.keys(PARAMS) as ParamName[]);

/** The declaration of parameter `name` with its types erased (for generic code: validation, docs). */
export function declarationOf(name: ParamName): ParamDeclaration<unknown, unknown> {
  return PARAMS[name] as ParamDeclaration<unknown, unknown>;
}

/**
 * The default of every optional parameter, from {@link PARAMS}: the Kamailio module's defaults
 * (from its code where its docs differ), then kazoo-amqp's own.
 */
export const DEFAULTS: Readonly<ConfigDefaults> = Object.freeze(
  Object.fromEntries(PARAM_NAMES.filter((name) => !declarationOf(name).required).map((name) => [name, declarationOf(name).default])) as ConfigDefaults,
);

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

/**
 * Validates a configuration and applies the defaults.
 *
 * Beyond each parameter's rule in {@link PARAMS}: unknown keys are rejected (the message
 * suggests the closest parameter name); the total query timeout and the total connect timeout
 * must be above 0; `amqp_reconnect_min_ms` must not exceed `amqp_reconnect_max_ms`;
 * `amqps_cert` and `amqps_key` must be given together (the module silently ignores one without
 * the other). Each no-effect parameter given adds a message to `warnings` (see
 * {@link emitConfigWarnings}). No message ever contains a password.
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
    if (!Object.prototype.hasOwnProperty.call(PARAMS, key)) throw unknownParameter(key);
  }

  const out: Record<string, unknown> = { ...DEFAULTS };
  const warnings: string[] = [];
  for (const key of keys) {
    const value = given[key];
    if (value === undefined) continue;
    const declaration = declarationOf(key as ParamName);
    out[key] = declaration.rule.check(value, key);
    if (declaration.noEffect !== undefined) warnings.push(`kazoo: ${key} has no effect ${declaration.noEffect}`);
  }
  for (const name of PARAM_NAMES) {
    const declaration = declarationOf(name);
    if (declaration.required && given[name] === undefined) throw bad(name, `${declaration.missing} (it is required)`, undefined);
  }

  const resolved = out as { -readonly [K in keyof ResolvedParams]: ResolvedParams[K] };
  const queryTimeoutUs = resolved.amqp_query_timeout_sec * 1e6 + resolved.amqp_query_timeout_micro;
  if (queryTimeoutUs === 0) {
    throw bad('amqp_query_timeout_sec', 'above 0 when amqp_query_timeout_micro is 0 (a zero query timeout would wait forever)', resolved.amqp_query_timeout_sec);
  }
  const connectTimeoutUs = resolved.amqp_connect_timeout_sec * 1e6 + resolved.amqp_connect_timeout_micro;
  if (connectTimeoutUs === 0) {
    throw bad('amqp_connect_timeout_sec', 'above 0 when amqp_connect_timeout_micro is 0', resolved.amqp_connect_timeout_sec);
  }
  if (resolved.amqp_reconnect_min_ms > resolved.amqp_reconnect_max_ms) {
    throw bad('amqp_reconnect_min_ms', `at most amqp_reconnect_max_ms (${resolved.amqp_reconnect_max_ms})`, resolved.amqp_reconnect_min_ms);
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
  const suggestion = closestName(key, PARAM_NAMES);
  const hint = suggestion === null ? '' : ` (did you mean ${suggestion}?)`;
  // The value is deliberately not shown: a misspelt key may well hold a password.
  return new KazooError('INVALID_CONFIG', `kazoo: ${key} is not a kazoo parameter${hint}`, { param: key });
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
