/**
 * `kazoo_json` / `{kz.json}` / `{kz.json.count}`: read a value from a JSON payload by the
 * module's path rules (docs/module-behaviour.md#json-paths), with json-c's lenient parser and rendering.
 */
import { DEFAULTS } from './config';
import { invalid } from './errors';
import { PathSegment, scanJson } from './json-scan';
import * as native from './native';

/** Options of {@link json} and {@link jsonCount}. */
export interface JsonPathOptions {
  /** Character that stands for a literal `.` inside a path segment (`json_escape_char`, default `%`). */
  escapeChar?: string;
}

function escapeOf(options: JsonPathOptions | undefined): string {
  const escapeChar = options?.escapeChar ?? DEFAULTS.json_escape_char;
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
  const escapeChar = escapeOf(options);
  const segments = parsePath(path, escapeChar);
  if (segments === null) return null;
  if (segments !== undefined) {
    const fast = scanJson(payload, segments, false);
    if (fast !== undefined) return fast as string | null;
  }
  return native.json(payload, path, escapeChar);
}

// ---------------------------------------------------------------------------------------------
// Fast route: lib/json-scan.ts answers from one pass over the payload in JS, without crossing into
// the addon, whenever it can prove json-c would give the same answer; otherwise json-c decides.
// test/native/json-fast.test.ts compares both routes.

const DOT = 46;

/**
 * The module's path grammar (see native/core/json_path.cc); null for a malformed path, undefined
 * for one only json-c can follow. Hand-written without regular expressions: it runs on every call
 * and the regexp version cost half as much as scanning the document.
 */
function parsePath(path: string, escapeChar: string): PathSegment[] | null | undefined {
  const n = path.length;
  if (n === 0 || path.charCodeAt(0) === DOT) return null;
  // The addon replaces the escape character's first UTF-8 byte, not the character: a non-ASCII
  // one is json-c's to follow.
  if (escapeChar.charCodeAt(0) > 0x7f) return undefined;
  const segments: PathSegment[] = [];
  let start = 0;
  while (start < n) {
    let dot = path.indexOf('.', start);
    if (dot === -1) dot = n;
    if (dot === start) return null; // `a..b`; one trailing dot ends the loop instead
    for (let i = start; i < dot; i++) {
      const c = path.charCodeAt(i);
      // json-c compares UTF-8, where a lone surrogate became U+FFFD: leave those paths to it.
      if (c >= 0xd800 && (c <= 0xdfff || c === 0xfffd)) return undefined;
    }
    let name = path.slice(start, dot);
    // A NUL escape character is "no escaping" in the addon (a C string's end).
    if (escapeChar !== '.' && escapeChar !== '\u0000' && name.includes(escapeChar)) name = name.split(escapeChar).join('.');
    const open = name.indexOf('[');
    let index: number | undefined;
    if (open === 0) return null;
    if (open > 0) {
      const close = name.indexOf(']', open + 1);
      if (close < 0) return null;
      index = close === open + 1 ? undefined : atoi(name, open + 1, close);
      name = name.slice(0, open);
    }
    // json-c keys are C strings: a name with a NUL never matches.
    if (name.includes('\u0000')) return null;
    segments.push({ name, index });
    start = dot + 1;
  }
  return segments;
}

/** C atoi of `text` from `start` to `end`, as the module applies it; -1 (never a valid index) outside the int range. */
function atoi(text: string, start: number, end: number): number {
  let i = start;
  let c = text.charCodeAt(i);
  while (i < end && (c === 32 || (c >= 9 && c <= 13))) c = text.charCodeAt(++i);
  const negative = i < end && c === 45;
  if (i < end && (c === 43 || c === 45)) c = text.charCodeAt(++i);
  let value = 0;
  for (; i < end && c >= 48 && c <= 57; c = text.charCodeAt(++i)) {
    value = value * 10 + (c - 48);
    if (value > 2147483647) return -1;
  }
  return negative ? -value : value;
}

/**
 * The length of the array at `path`, 0 when missing, not an array or invalid JSON
 * (Kamailio: `{kz.json.count,path}`).
 * @throws KazooError INVALID_ARGUMENT when an argument is not a string.
 */
export function jsonCount(payload: string, path: string, options?: JsonPathOptions): number {
  if (typeof payload !== 'string') throw invalid('INVALID_ARGUMENT', 'payload', 'a string', payload);
  if (typeof path !== 'string') throw invalid('INVALID_ARGUMENT', 'path', 'a string', path);
  const escapeChar = escapeOf(options);
  const segments = parsePath(path, escapeChar);
  if (segments === null) return 0;
  if (segments !== undefined) {
    const fast = scanJson(payload, segments, true);
    if (fast !== undefined) return fast === null ? 0 : (fast as number);
  }
  return native.jsonCount(payload, path, escapeChar);
}
