/**
 * The fast route of json() and jsonCount() (lib/json.ts): one pass over the payload (indexOf for
 * the ends of strings, charCodeAt between them) that validates the whole document as json-c would,
 * walks to the value at the path and skips everything else without building it. It answers only
 * where it can prove json-c gives the same answer; everywhere else it answers `undefined` and the
 * caller asks json-c (the addon).
 *
 * Why its answers are json-c's (json-c 0.16, json_tokener.c; docs/module-behaviour.md#json-rules):
 * - What it accepts, json-c accepts with the same tree: strict JSON syntax and whitespace (json-c's
 *   is_ws_char is the same four characters), plus two leniencies of json-c that cost nothing to
 *   share: raw control characters inside strings, and text after the root object (json-c stops
 *   reading there unless it is a `/`, which might open a comment). Every other leniency
 *   (comments, single quotes, trailing commas, any-case literals, NaN, leading zeros...) makes
 *   the scan give up.
 * - A NUL anywhere makes parse_json() reject the payload: that is null, answered up front. So is
 *   a root that is not an object (valid or not, no key can be found in it), unless it is a `/`.
 * - json-c's depth limit (a container 32 levels down cannot hold anything): more than
 *   {@link MAX_NESTING} nested containers give up.
 * - Duplicate keys: json_object_object_add keeps the last value, so the last match wins.
 * - Keys are C strings (strdup): a decoded key is cut at its first \u0000 before comparing.
 * - Lone surrogates become U+FFFD on the way to UTF-8 (raw) or in json-c (escaped, with quirks):
 *   a path with a surrogate or U+FFFD, an escaped surrogate outside a proper escaped pair, or a
 *   returned string with a lone surrogate all give up. With those excluded, a key compares equal
 *   in JS exactly when its UTF-8 bytes equal the path's in json-c.
 * - Numbers: doubles (with `.` or an exponent) keep their source text in json-c
 *   (json_object_new_double_s); integers print with %lld, the same text for strict JSON
 *   integers of up to 18 digits except `-0` (printed `0`); longer integers give up.
 * - Objects and arrays as the answer give up (json-c's spaced rendering); jsonCount counts arrays.
 * test/native/json-fast.test.ts compares this route with json-c.
 */

/** One segment of a path (`name` or `name[index]`) after the module's path rules. */
export interface PathSegment {
  /** Key to look up, escape characters already turned into dots. */
  name: string;
  /** Array index (C atoi of the bracket text), undefined for no index. */
  index: number | undefined;
}

/** Containers nested deeper than this give up (json-c: a container at depth 32 cannot hold values). */
const MAX_NESTING = 31;

// Character codes.
const TAB = 9;
const LF = 10;
const CR = 13;
const SPACE = 32;
const QUOTE = 34;
const PLUS = 43;
const COMMA = 44;
const MINUS = 45;
const DOT = 46;
const SLASH = 47;
const ZERO = 48;
const NINE = 57;
const COLON = 58;
const UPPER_E = 69;
const OPEN_BRACKET = 91;
const BACKSLASH = 92;
const CLOSE_BRACKET = 93;
const LOWER_E = 101;
const LOWER_F = 102;
const LOWER_N = 110;
const LOWER_T = 116;
const LOWER_U = 117;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;

/** A scan function's "give up" instead of a position. */
const GIVE_UP = -1;

// State of the lookup in progress. Module-level so the scan functions allocate nothing; the
// scan is synchronous, so lookups never interleave.
let src = '';
let len = 0;
let segs: readonly PathSegment[] = [];
let counting = false;
/** The answer so far: the value found (rendered), the array length when counting, or null. */
let answer: string | number | null = null;
/** Position of the next backslash at or after the scan, the text's length if none; -1 unknown. */
let nextBackslash = -1;
/** Set by endOfString: the string had a backslash escape. */
let sawEscape = false;
/** Set by endOfNumber: the number had a fraction or an exponent (a json-c double). */
let sawDouble = false;
/** Set by array(): how many elements it held. */
let elements = 0;

/**
 * The character code at `i`, -1 past the end. Every read of the document goes through here: a
 * charCodeAt past the end deoptimises, and V8 then stops inlining that charCodeAt for good (the
 * call site loses speculation), which made every later scan call a builtin per character.
 */
function at(i: number): number {
  return i < len ? src.charCodeAt(i) : -1;
}

function isWs(c: number): boolean {
  return c === SPACE || c === LF || c === CR || c === TAB;
}

function skipWs(i: number): number {
  while (isWs(at(i))) i++;
  return i;
}

function isDigit(c: number): boolean {
  return c >= ZERO && c <= NINE;
}

/** Value of the hex digit `c`, -1 when it is not one. */
function hexDigit(c: number): number {
  if (c >= ZERO && c <= NINE) return c - ZERO;
  const lower = c | 0x20;
  return lower >= 97 && lower <= 102 ? lower - 87 : -1;
}

/** The four hex digits at `i` as a number, -1 when they are not four hex digits. */
function hex4(i: number): number {
  const a = hexDigit(at(i));
  const b = hexDigit(at(i + 1));
  const c = hexDigit(at(i + 2));
  const d = hexDigit(at(i + 3));
  return (a | b | c | d) < 0 ? -1 : (a << 12) | (b << 8) | (c << 4) | d;
}

/**
 * The index of the closing quote of the string whose content starts at `i`, or GIVE_UP. Escapes
 * are validated as json-c does; raw control characters are allowed (json-c keeps them). Quotes
 * and backslashes are found with indexOf (native and vectorised): a charCodeAt loop over the
 * characters measured twice as slow, and the backslash position is reused until passed.
 */
function endOfString(i: number): number {
  sawEscape = false;
  for (;;) {
    const q = src.indexOf('"', i);
    if (q < 0) return GIVE_UP;
    if (nextBackslash < i) {
      nextBackslash = src.indexOf('\\', i);
      if (nextBackslash < 0) nextBackslash = src.length;
    }
    if (nextBackslash > q) return q;
    sawEscape = true;
    i = nextBackslash;
    const e = at(i + 1);
    if (e === LOWER_U) {
      if (hex4(i + 2) < 0) return GIVE_UP;
      i += 6;
    } else if (e === QUOTE || e === BACKSLASH || e === SLASH || e === 98 || e === LOWER_F || e === LOWER_N || e === 114 || e === LOWER_T) {
      i += 2; // \" \\ \/ \b \f \n \r \t
    } else {
      return GIVE_UP;
    }
  }
}

/** Strict JSON number at `i`: the index after it, or GIVE_UP. Sets sawDouble. */
function endOfNumber(i: number): number {
  let c = at(i);
  if (c === MINUS) c = at(++i);
  if (c === ZERO) {
    c = at(++i);
  } else if (c > ZERO && c <= NINE) {
    do c = at(++i);
    while (isDigit(c));
  } else {
    return GIVE_UP;
  }
  sawDouble = false;
  if (c === DOT) {
    sawDouble = true;
    c = at(++i);
    if (!isDigit(c)) return GIVE_UP;
    do c = at(++i);
    while (isDigit(c));
  }
  if (c === LOWER_E || c === UPPER_E) {
    sawDouble = true;
    c = at(++i);
    if (c === PLUS || c === MINUS) c = at(++i);
    if (!isDigit(c)) return GIVE_UP;
    do c = at(++i);
    while (isDigit(c));
  }
  return i;
}

/** The index after the lower-case literal `word` at `i` (its first letter already checked), or GIVE_UP (any-case ones go to json-c). */
function endOfLiteral(i: number, word: string): number {
  // charCodeAt per letter: cheaper than a startsWith call for four or five letters.
  for (let k = 1; k < word.length; k++) {
    if (at(i + k) !== word.charCodeAt(k)) return GIVE_UP;
  }
  return i + word.length;
}

const SIMPLE_ESCAPES: Record<number, string> = { 34: '"', 92: '\\', 47: '/', 98: '\b', 102: '\f', 110: '\n', 114: '\r', 116: '\t' };

/**
 * The content of the (validated) string between `start` and `end` with its escapes decoded, or
 * undefined for an escaped surrogate that is not half of an escaped pair (json-c's U+FFFD rules).
 */
function decode(start: number, end: number): string | undefined {
  let out = '';
  let run = start;
  for (let i = src.indexOf('\\', start); i !== -1 && i < end; i = src.indexOf('\\', i)) {
    out += src.slice(run, i);
    const e = at(i + 1);
    if (e === LOWER_U) {
      const unit = hex4(i + 2);
      i += 6;
      if (unit >= 0xd800 && unit <= 0xdfff) {
        if (unit >= 0xdc00 || at(i) !== BACKSLASH || at(i + 1) !== LOWER_U) return undefined;
        const low = hex4(i + 2);
        if (low < 0xdc00 || low > 0xdfff) return undefined;
        out += String.fromCharCode(unit, low);
        i += 6;
      } else {
        out += String.fromCharCode(unit);
      }
    } else {
      out += SIMPLE_ESCAPES[e];
      i += 2;
    }
    run = i;
  }
  return out + src.slice(run, end);
}

/** Whether `s` has a surrogate that is not part of a pair (UTF-8 conversion makes it U+FFFD). */
function hasLoneSurrogate(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    if (c >= 0xdc00) return true;
    const next = i + 1 < s.length ? s.charCodeAt(i + 1) : -1;
    if (!(next >= 0xdc00 && next <= 0xdfff)) return true;
    i++;
  }
  return false;
}

/** Skips the value at `i` (inside `nesting` containers); the index after it or GIVE_UP. */
function skipValue(i: number, nesting: number): number {
  const c = at(i);
  if (c === QUOTE) {
    const q = endOfString(i + 1);
    return q < 0 ? GIVE_UP : q + 1;
  }
  if (c === OPEN_BRACE) return object(i, nesting + 1, -1);
  if (c === OPEN_BRACKET) return array(i, nesting + 1, -1, -1);
  if (c === LOWER_T) return endOfLiteral(i, 'true');
  if (c === LOWER_F) return endOfLiteral(i, 'false');
  if (c === LOWER_N) return endOfLiteral(i, 'null');
  return endOfNumber(i);
}

/**
 * The object at `i`, the container number `nesting` from the root. With `level` ≥ 0 it is the
 * node segment `level` looks into: `answer` becomes the value its key leads to (null when the key
 * is missing). With `level` -1 it is only skipped.
 */
function object(i: number, nesting: number, level: number): number {
  if (nesting > MAX_NESTING) return GIVE_UP;
  let name = '';
  if (level >= 0) {
    name = segs[level].name;
    answer = null;
  }
  i = skipWs(i + 1);
  if (at(i) === CLOSE_BRACE) return i + 1;
  for (;;) {
    if (at(i) !== QUOTE) return GIVE_UP;
    const q = endOfString(i + 1);
    if (q < 0) return GIVE_UP;
    let match = false;
    if (level >= 0) {
      if (!sawEscape) {
        match = q - i - 1 === name.length && src.startsWith(name, i + 1);
      } else {
        const key = decode(i + 1, q);
        if (key === undefined) return GIVE_UP;
        const nul = key.indexOf('\0');
        match = (nul === -1 ? key : key.slice(0, nul)) === name;
      }
    }
    i = skipWs(q + 1);
    if (at(i) !== COLON) return GIVE_UP;
    i = skipWs(i + 1);
    // Every match is followed, not only the first: the last one's value is json-c's.
    i = match ? member(i, nesting, level) : skipValue(i, nesting);
    if (i < 0) return GIVE_UP;
    i = skipWs(i);
    const c = at(i);
    if (c === CLOSE_BRACE) return i + 1;
    if (c !== COMMA) return GIVE_UP;
    i = skipWs(i + 1);
  }
}

/**
 * The array at `i` (container number `nesting`). Element `index` is the node for segment `level`
 * (`answer` null when there is no such element); with `level` -1 it is only skipped. Sets elements.
 */
function array(i: number, nesting: number, level: number, index: number): number {
  if (nesting > MAX_NESTING) return GIVE_UP;
  if (level >= 0) answer = null;
  i = skipWs(i + 1);
  if (at(i) === CLOSE_BRACKET) {
    elements = 0;
    return i + 1;
  }
  for (let k = 0; ; k++) {
    i = k === index ? node(i, nesting, level) : skipValue(i, nesting);
    if (i < 0) return GIVE_UP;
    i = skipWs(i);
    const c = at(i);
    if (c === CLOSE_BRACKET) {
      elements = k + 1;
      return i + 1;
    }
    if (c !== COMMA) return GIVE_UP;
    i = skipWs(i + 1);
  }
}

/** The value at `i` of the key segment `level` named: applies the segment's index, if any. */
function member(i: number, nesting: number, level: number): number {
  const index = segs[level].index;
  // An index on anything but an array is ignored (json_path_find).
  if (index !== undefined && at(i) === OPEN_BRACKET) return array(i, nesting + 1, level + 1, index);
  return node(i, nesting, level + 1);
}

/** The value at `i` is where segments before `level` lead: look further, or render it. */
function node(i: number, nesting: number, level: number): number {
  if (level === segs.length) return render(i, nesting);
  if (at(i) === OPEN_BRACE) return object(i, nesting + 1, level);
  answer = null; // a key looked up in a non-object (or JSON null) is not found
  return skipValue(i, nesting);
}

/** The value at the end of the path: `answer` becomes its rendering (json()) or length (jsonCount()). */
function render(i: number, nesting: number): number {
  const c = at(i);
  if (counting) {
    if (c !== OPEN_BRACKET) {
      answer = null;
      return skipValue(i, nesting);
    }
    const end = array(i, nesting + 1, -1, -1);
    answer = elements;
    return end;
  }
  if (c === QUOTE) {
    const q = endOfString(i + 1);
    if (q < 0) return GIVE_UP;
    const text = sawEscape ? decode(i + 1, q) : src.slice(i + 1, q);
    if (text === undefined || hasLoneSurrogate(text)) return GIVE_UP;
    answer = text;
    return q + 1;
  }
  if (c === LOWER_T) {
    answer = 'true';
    return endOfLiteral(i, 'true');
  }
  if (c === LOWER_F) {
    answer = 'false';
    return endOfLiteral(i, 'false');
  }
  if (c === LOWER_N) {
    answer = null; // JSON null is "not found"
    return endOfLiteral(i, 'null');
  }
  if (c === MINUS || isDigit(c)) {
    const end = endOfNumber(i);
    if (end < 0) return GIVE_UP;
    const text = src.slice(i, end);
    if (sawDouble) {
      answer = text; // json-c keeps a double's source text
    } else if (text === '-0') {
      answer = '0';
    } else if (end - i - (c === MINUS ? 1 : 0) <= 18) {
      answer = text; // fits int64: %lld prints the same digits
    } else {
      return GIVE_UP;
    }
    return end;
  }
  return GIVE_UP; // objects and arrays: json-c's spaced rendering
}

/**
 * json-c's answer for the path `segments` in `payload`, or undefined when only json-c can tell.
 * With `count` false: the rendered value, null when not found (json()). With `count` true: the
 * length of the array found, null when there is none (jsonCount()).
 */
export function scanJson(payload: string, segments: readonly PathSegment[], count: boolean): string | number | null | undefined {
  if (payload.indexOf('\0') !== -1) return null; // parse_json rejects a NUL byte
  src = payload;
  len = payload.length;
  const start = skipWs(0);
  const first = at(start);
  if (first !== OPEN_BRACE) {
    src = '';
    len = 0;
    // Keys cannot be looked up in a root that is not an object (and an invalid one is null too).
    return first === SLASH ? undefined : null;
  }
  segs = segments;
  nextBackslash = -1;
  counting = count;
  answer = null;
  let end = object(start, 1, 0);
  if (end >= 0 && at(skipWs(end)) === SLASH) end = GIVE_UP; // could open a comment
  src = ''; // do not keep the document alive
  len = 0;
  segs = [];
  return end < 0 ? undefined : answer;
}
