/**
 * The value rules configuration parameters are declared with (lib/config.ts): each rule knows
 * how the docs show its type and how to check a value, failing with `INVALID_CONFIG` in the
 * house format. Also the "did you mean" suggestion for unknown parameter names.
 */
import { redactValue } from './connection-url';
import { invalid, type KazooError } from './errors';
import { checkLogger, type KazooLogger } from './logger';

/**
 * A value rule: `check` returns the value as the client uses it (type `Out`) or throws;
 * `In` is what a configuration may give (e.g. `true` for a 0|1 flag).
 */
export interface Rule<In, Out = In> {
  /** The type as the generated docs show it, e.g. `int 1..1024`. */
  readonly type: string;
  /** Checks `value` of parameter `param`. @throws KazooError INVALID_CONFIG. */
  readonly check: (value: unknown, param: string) => Out;
  /** Type-level only: what a configuration may give. */
  readonly input?: In;
}

/** A 0/1 switch, as the module's int parameters take it; `true`/`false` are accepted too. */
export type Flag = 0 | 1 | boolean;

/** The INVALID_CONFIG error; values in messages go through redactValue (a misplaced URL must not print its password). */
export function bad(param: string, expected: string, value: unknown): KazooError {
  return invalid('INVALID_CONFIG', param, expected, redactValue(value));
}

function rule<In, Out = In>(type: string, check: (value: unknown, param: string) => Out): Rule<In, Out> {
  return { type, check };
}

/** An integer in `min..max`; `type` overrides how the docs show it. */
export function int(min: number, max: number, type = max === 2147483647 ? 'int ≥ 0' : `int ${min}..${max}`): Rule<number> {
  return rule(type, (value, param) => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) throw bad(param, `an integer ${min}..${max}`, value);
    return value;
  });
}

/** Any non-negative 32-bit integer. */
export const nonNegativeInt = int(0, 2147483647);
/** Seconds part of a timeout. */
export const seconds = int(0, 86400);
/** Microseconds part of a timeout. */
export const micro = int(0, 999999);

/** A power of two 1..1024 (worker lanes are picked with a mask). */
export const powerOfTwo: Rule<number> = rule('int, a power of two 1..1024', (value, param) => {
  const inRange = typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 1024;
  if (!inRange || (value & (value - 1)) !== 0) throw bad(param, 'a power of two 1..1024', value);
  return value;
});

/** 0|1, also given as a boolean. */
export const flag: Rule<Flag, 0 | 1> = rule('0\\|1', (value, param) => {
  if (value === 0 || value === 1) return value;
  if (value === true) return 1;
  if (value === false) return 0;
  throw bad(param, '0, 1, true or false', value);
});

/** A non-empty string; `type` overrides how the docs show it. */
export function text(type = 'str'): Rule<string> {
  return rule(type, (value, param) => {
    if (typeof value !== 'string' || value === '') throw bad(param, 'a non-empty string', value);
    return value;
  });
}

/** `rule`, or `null` for unset. */
export function optional<In, Out>(inner: Rule<In, Out>): Rule<In | null, Out | null> {
  return { type: inner.type, check: (value, param) => (value === null ? null : inner.check(value, param)) };
}

/** A Kamailio pseudo-variable spec, such as `$avp(name)` or `$var(name)`. */
export function pvSpec(type = 'str (pseudo-variable spec)'): Rule<string> {
  return rule(type, (value, param) => {
    if (typeof value !== 'string' || !/^\$[A-Za-z]\w*(\(.+\))?$/.test(value)) {
      throw bad(param, 'a pseudo-variable spec such as "$avp(name)" or "$var(name)"', value);
    }
    return value;
  });
}

/** One of `values`. */
export function oneOf<const T extends string | number>(values: readonly T[]): Rule<T> {
  const type = values.map((v) => (typeof v === 'string' ? `'${v}'` : String(v))).join(' \\| ');
  return rule(type, (value, param) => {
    if (!values.includes(value as T)) throw bad(param, `one of ${values.map((v) => JSON.stringify(v)).join(', ')}`, value);
    return value as T;
  });
}

/** Zone names go unescaped into hand-written event payloads, so quotes and controls are out. */
export const zoneName: Rule<string> = rule('str', (value, param) => {
  if (typeof value !== 'string' || value === '' || /[";\\\x00-\x1f\x7f]/.test(value)) {
    throw bad(param, 'a non-empty string without ", ;, \\ or control characters', value);
  }
  return value;
});

const MAX_NODE_HOSTNAME_BYTES = 200;

/** node_hostname: queue names built from it must stay AMQP short strings. */
export const nodeHostname: Rule<string> = rule('str', (value, param) => {
  if (typeof value !== 'string' || value === '' || Buffer.byteLength(value, 'utf8') > MAX_NODE_HOSTNAME_BYTES) {
    throw bad(param, `a non-empty string of at most ${MAX_NODE_HOSTNAME_BYTES} bytes`, value);
  }
  return value;
});

/** amqp_connection: one URL or a list of them (parsed later, with the primary zone known). */
export const connectionList: Rule<string | string[], string[]> = rule('str or str[]', (value, param) => {
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length === 0 || !list.every((entry) => typeof entry === 'string' && entry !== '')) {
    throw bad(param, 'a non-empty URL string or a non-empty array of them', value);
  }
  return [...list];
});

/** json_escape_char. */
export const escapeChar: Rule<string> = rule('one ASCII character', (value, param) => {
  if (typeof value !== 'string' || !/^[\x00-\x7f]$/.test(value)) throw bad(param, 'a one-character ASCII string', value);
  return value;
});

/** The name in `known` nearest to `key` (case-insensitive edit distance), if it is plausibly a typo. */
export function closestName(key: string, known: readonly string[]): string | null {
  const wanted = key.toLowerCase();
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const name of known) {
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

/**
 * The `logger` option: unset (`null`) or an object whose `debug`, `info`, `warn` and `error` are
 * functions; INVALID_CONFIG names the missing method (`logger.error`).
 */
export const loggerObject: Rule<KazooLogger | null> = rule('object (`debug/info/warn/error`)', checkLogger);
