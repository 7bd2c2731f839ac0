/**
 * `kazoo_json` / `{kz.json}` / `{kz.json.count}`: read a value from a JSON payload by the
 * module's path rules (spec §6), with json-c's lenient parser and rendering.
 */
import { invalid } from './errors';
import * as native from './native';

/** Options of {@link json} and {@link jsonCount}. */
export interface JsonPathOptions {
  /** Character that stands for a literal `.` inside a path segment (`json_escape_char`, default `%`). */
  escapeChar?: string;
}

function escapeOf(options: JsonPathOptions | undefined): string {
  const escapeChar = options?.escapeChar ?? '%';
  if (typeof escapeChar !== 'string' || escapeChar.length !== 1) {
    throw invalid('INVALID_ARGUMENT', 'escapeChar', 'a one-character string', escapeChar);
  }
  return escapeChar;
}

/**
 * The value at `path` in `payload`, rendered as the module renders it: strings raw, numbers with
 * their original text, booleans `true`/`false`, objects and arrays in json-c's spaced format.
 * Returns `null` when the value is missing, JSON `null`, or the payload is not valid JSON
 * (Kamailio: `kazoo_json(json, path, target)`; `{kz.json,path}` gives `""` where this gives null).
 * Malformed paths (`.a`, `a..b`, empty) return `null`; the module crashes on them.
 * @throws KazooError INVALID_ARGUMENT when an argument is not a string.
 */
export function json(payload: string, path: string, options?: JsonPathOptions): string | null {
  if (typeof payload !== 'string') throw invalid('INVALID_ARGUMENT', 'payload', 'a string', payload);
  if (typeof path !== 'string') throw invalid('INVALID_ARGUMENT', 'path', 'a string', path);
  return native.json(payload, path, escapeOf(options));
}

/**
 * The length of the array at `path`, 0 when missing, not an array or invalid JSON
 * (Kamailio: `{kz.json.count,path}`).
 * @throws KazooError INVALID_ARGUMENT when an argument is not a string.
 */
export function jsonCount(payload: string, path: string, options?: JsonPathOptions): number {
  if (typeof payload !== 'string') throw invalid('INVALID_ARGUMENT', 'payload', 'a string', payload);
  if (typeof path !== 'string') throw invalid('INVALID_ARGUMENT', 'path', 'a string', path);
  return native.jsonCount(payload, path, escapeOf(options));
}
