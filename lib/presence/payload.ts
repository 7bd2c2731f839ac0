/**
 * Reads a `kazoo_pua_publish*` payload (`$kzE` text or an object) as the module reads it: json-c's
 * lenient parser, missing fields as `""`, non-string values in json-c's rendering, json-c's int
 * conversion for `Expires` and `Flush-Level`.
 */
import { describeValue, invalid, KazooError } from '../errors';
import { json, type JsonPathOptions } from '../json';
import * as native from '../native';

// Field reads through json() (the one-pass scanner, json-c for what it cannot prove), with the
// module's escape character.
const JSON_C_PERCENT: JsonPathOptions = { escapeChar: '%' };
import type { PuaFields } from './rows';

const INT32_MAX = 2147483647;
const INT32_MIN = -2147483648;

/**
 * Parses `payload` into a field reader. A JSON value that is not an object (an array, a string…)
 * reads as an object without fields, as in the module.
 * @throws KazooError INVALID_JSON when the text is not JSON even for json-c's lenient parser;
 *   INVALID_ARGUMENT when `payload` is neither a string nor a JSON-serializable object.
 */
export function readPayload(payload: unknown): PuaFields {
  let text: string;
  if (typeof payload === 'string') {
    text = payload;
  } else if (payload !== null && typeof payload === 'object') {
    let serialized: string | undefined;
    try {
      serialized = JSON.stringify(payload);
    } catch {
      serialized = undefined;
    }
    if (typeof serialized !== 'string') throw invalid('INVALID_ARGUMENT', 'payload', 'JSON text or an object that serializes to JSON', '[object]');
    text = serialized;
  } else {
    throw invalid('INVALID_ARGUMENT', 'payload', 'JSON text or an object', payload);
  }

  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // json-c accepts more than JSON.parse (comments, single quotes, trailing commas...).
    let standard: string;
    try {
      standard = native.reserialize(text);
    } catch (error) {
      const e = error as { message?: string; position?: number };
      throw new KazooError('INVALID_JSON', `kazoo: payload must be JSON, got ${describeValue(text)}`, {
        param: 'payload',
        position: e.position,
      });
    }
    text = standard;
    try {
      parsed = JSON.parse(standard);
    } catch {
      parsed = undefined; // NaN/Infinity: every field is read through json-c below
    }
  }
  const object = parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  const viaJsonC = parsed === undefined;

  const raw = (name: string): unknown => (object !== undefined && Object.prototype.hasOwnProperty.call(object, name) ? object[name] : undefined);
  return {
    text(name: string): string {
      if (viaJsonC) return json(text, name, JSON_C_PERCENT) ?? '';
      const value = raw(name);
      if (value === undefined || value === null) return '';
      if (typeof value === 'string') return value;
      if (typeof value === 'boolean') return value ? 'true' : 'false';
      // Numbers keep their original text and containers get json-c's spaced format.
      return json(text, name, JSON_C_PERCENT) ?? '';
    },
    int(name: string): number {
      const value = viaJsonC ? json(text, name, JSON_C_PERCENT) : raw(name);
      return jsonCInt(value);
    },
  };
}

/** json-c's `json_object_get_int`: numbers truncated and clamped, strings by strtoll, booleans 0/1. */
export function jsonCInt(value: unknown): number {
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return 0;
    return Math.max(INT32_MIN, Math.min(INT32_MAX, Math.trunc(value)));
  }
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'string') {
    const m = /^[ \t\n\v\f\r]*([+-]?\d+)/.exec(value);
    if (m === null) return 0;
    const n = Number(m[1]);
    return Math.max(INT32_MIN, Math.min(INT32_MAX, n));
  }
  return 0;
}
