/**
 * `kazoo_json` / `{kz.json}` / `{kz.json.count}`: read a value from a JSON payload by the
 * module's path rules (docs/module-behaviour.md#json-paths), with json-c's lenient parser and rendering.
 */
import { DEFAULTS } from './config';
import { invalid } from './errors';
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
  const fast = lookupWithV8(payload, path, escapeChar);
  return fast !== undefined ? fast : native.json(payload, path, escapeChar);
}

// ---------------------------------------------------------------------------------------------
// Fast route for the common lookup (a string, boolean or missing value in plain JSON): V8's
// JSON.parse and the module's path rules, without crossing into the addon. Whenever V8 and
// json-c could disagree it answers `undefined` and json-c decides: lenient syntax (JSON.parse
// throws), numbers, objects and arrays (json-c keeps number texts and renders its own format),
// deep nesting (json-c rejects more than 32 levels), keys with \u0000 (json-c cuts them) and lone
// surrogates (json-c writes U+FFFD). test/native/json-fast.test.ts compares both routes.

/** More brackets than this and json-c's depth limit might apply: leave it to json-c. */
const MAX_BRACKETS = 16;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

interface PathSegment {
  name: string;
  index: number | undefined;
}

/** The module's path grammar (see native/core/json_path.cc); null for a malformed path. */
function parsePath(path: string, escapeChar: string): PathSegment[] | null {
  if (path === '' || path[0] === '.' || path.includes('..')) return null;
  const pieces = path.split('.');
  if (pieces[pieces.length - 1] === '') pieces.pop(); // one trailing dot is harmless
  const segments: PathSegment[] = [];
  for (const piece of pieces) {
    let name = escapeChar === '.' ? piece : piece.split(escapeChar).join('.');
    const open = name.indexOf('[');
    let index: number | undefined;
    if (open === 0) return null;
    if (open > 0) {
      const close = name.indexOf(']', open + 1);
      if (close < 0) return null;
      const text = name.slice(open + 1, close);
      index = text === '' ? undefined : atoi(text);
      name = name.slice(0, open);
    }
    if (name.includes('\u0000')) return null;
    segments.push({ name, index });
  }
  return segments;
}

/** C atoi as the module applies it; -1 (never a valid index) outside the int range. */
function atoi(text: string): number {
  const m = /^[ \t\n\v\f\r]*([+-]?)(\d*)/.exec(text);
  if (!m || m[2] === '') return 0;
  const digits = m[2].replace(/^0+(?=\d)/, '');
  if (digits.length > 10 || Number(digits) > 2147483647) return -1;
  return m[1] === '-' ? -Number(digits) : Number(digits);
}

function lookupWithV8(payload: string, path: string, escapeChar: string): string | null | undefined {
  // Counted with indexOf (native, vectorised): a char-by-char loop cost more than the parse.
  let brackets = 0;
  for (const open of ['{', '[']) {
    for (let i = payload.indexOf(open); i !== -1; i = payload.indexOf(open, i + 1)) {
      if (++brackets > MAX_BRACKETS) return undefined;
    }
  }
  if (payload.includes('\\u0000')) return undefined;
  let current: unknown;
  try {
    current = JSON.parse(payload);
  } catch {
    return undefined;
  }
  const segments = parsePath(path, escapeChar);
  if (segments === null) return null;
  for (const { name, index } of segments) {
    if (current === null || typeof current !== 'object' || Array.isArray(current)) return null;
    if (!Object.prototype.hasOwnProperty.call(current, name)) return null;
    current = (current as Record<string, unknown>)[name];
    if (current === null) return null; // a JSON null is "not found" for json-c
    if (index !== undefined && Array.isArray(current)) {
      if (index < 0 || index >= current.length) return null;
      current = current[index];
      if (current === null) return null;
    }
  }
  if (typeof current === 'string') return LONE_SURROGATE.test(current) ? undefined : current;
  if (typeof current === 'boolean') return current ? 'true' : 'false';
  return undefined; // numbers, objects, arrays: json-c's rendering
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
