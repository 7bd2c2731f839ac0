/**
 * Event-route naming of the kazoo module: consumer-event candidates (docs/module-behaviour.md#event-routes) and the
 * connection-event payload text (docs/module-behaviour.md#connection-events).
 */

/** Prefix of every consumer-event route name (`event_route[kazoo:consumer-event...]`). */
export const CONSUMER_EVENT_ROUTE = 'kazoo:consumer-event';

/**
 * Normalises an event-route name like the module does before looking it up (docs/module-behaviour.md#event-routes):
 * ASCII letters are lower-cased (C `tolower`; non-ASCII characters are left alone), then every
 * `_` becomes `-`. Nothing else changes: spaces, dots and other characters are kept.
 *
 * Example: `kazoo:consumer-event-call_event-CHANNEL_CREATE` → `kazoo:consumer-event-call-event-channel-create`.
 */
export function normalizeRouteName(name: string): string {
  if (NON_ASCII.test(name)) return name.replace(UPPER_OR_UNDERSCORE, (c) => (c === '_' ? '-' : c.toLowerCase()));
  return name.toLowerCase().replace(UNDERSCORE, '-');
}

const NON_ASCII = /[^\x00-\x7f]/;
const UPPER_OR_UNDERSCORE = /[A-Z_]/g;
const UNDERSCORE = /_/g;

/** Inputs of {@link consumerEventCandidates}. */
export interface ConsumerEventNameInput {
  /** Effective category field name: the binding's `event_key`, else `amqp_consumer_event_key`. */
  key: string;
  /** Effective name field name: the binding's `event_subkey`, else `amqp_consumer_event_subkey`. */
  subkey: string;
  /** The payload's (stringified) value of field `key`; `''` when missing. */
  category: string;
  /** The payload's (stringified) value of field `subkey`; `''` when missing. */
  name: string;
  /** The binding's own `event_key`, when it defines one (a literal fallback category). */
  bindingEventKey?: string;
  /** The binding's own `event_subkey`, when it defines one (a literal fallback name). */
  bindingEventSubkey?: string;
}

/**
 * The five event-route names the module tries, in order, for a consumed message or a
 * connection event (docs/module-behaviour.md#event-routes); the first one that has a handler runs:
 *
 * 1. `kazoo:consumer-event-<CAT>-<NAME>`
 * 2. `kazoo:consumer-event-<CAT>`
 * 3. `kazoo:consumer-event-<KEY>-<SUBKEY>`
 * 4. `kazoo:consumer-event-<KEY>`
 * 5. `kazoo:consumer-event`
 *
 * Candidates 1–4 are normalised with {@link normalizeRouteName}. An empty category falls back to
 * the binding's `event_key` text when the binding defines one (same for the name with
 * `event_subkey`). Empty values are kept, so `kazoo:consumer-event--<name>` and
 * `kazoo:consumer-event-` are real candidates, as in the module. Duplicates are kept too (five
 * entries always), which is harmless for a first-match lookup.
 */
export function consumerEventCandidates(args: ConsumerEventNameInput): string[] {
  const { key, subkey } = args;
  let { category, name } = args;
  if (category === '' && args.bindingEventKey !== undefined) category = args.bindingEventKey;
  if (name === '' && args.bindingEventSubkey !== undefined) name = args.bindingEventSubkey;
  const prefix = `${CONSUMER_EVENT_ROUTE}-`;
  return [
    normalizeRouteName(`${prefix}${category}-${name}`),
    normalizeRouteName(`${prefix}${category}`),
    normalizeRouteName(`${prefix}${key}-${subkey}`),
    normalizeRouteName(`${prefix}${key}`),
    CONSUMER_EVENT_ROUTE,
  ];
}

/**
 * The hand-formatted connection-event payload the module puts in `$kzE` (docs/module-behaviour.md#connection-events), byte for
 * byte (note the `" : "` separators):
 *
 * `{ "<eventKey>" : "connection", "<eventSubkey>" : "<state>", "host" : "<host>", "zone" : "<zone>" }`
 *
 * Deviation: the module inserts the four texts unescaped; here `"`, `\` and control characters
 * are JSON-escaped so the payload is always valid JSON. Ordinary names and hosts are unaffected.
 */
export function connectionEventPayload(
  eventKey: string,
  eventSubkey: string,
  state: 'open' | 'closed',
  host: string,
  zone: string,
): string {
  return (
    `{ "${jsonText(eventKey)}" : "connection", "${jsonText(eventSubkey)}" : "${state}", ` +
    `"host" : "${jsonText(host)}", "zone" : "${jsonText(zone)}" }`
  );
}

const NEEDS_ESCAPE = /["\\\x00-\x1f]/;

function jsonText(text: string): string {
  return NEEDS_ESCAPE.test(text) ? JSON.stringify(text).slice(1, -1) : text;
}
