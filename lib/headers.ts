/**
 * AMQP message headers of `kazoo_publish` (4th argument) and `kazoo_query` (5th argument),
 * docs/module-behaviour.md#amqp-headers, in the flat form the native publish takes.
 */

import { describeValue, invalid, KazooError } from './errors';

/** AMQP table keys are short strings. */
const MAX_KEY_BYTES = 255;

const EXPECTED_STRING = '"key=value" pairs separated by ";"';
const EXPECTED_ANY = `a string of ${EXPECTED_STRING}, a record of string values, null or undefined`;

/**
 * Turns the headers argument into a flat `[k1, v1, k2, v2, ...]` list (each header is sent as an
 * AMQP long string, type `S`, in the given order), or `null` when there are none.
 *
 * String form, as the module parses it (docs/module-behaviour.md#amqp-headers): split on `;`, empty pairs skipped, each pair
 * split on `=` with C `strtok` semantics (runs of `=` count as one separator, a leading `=` is
 * skipped), so the key is the first token and the value the second: `a=b=c` gives `a` → `b`.
 * Whitespace around keys and values is kept.
 * Record form: `{ key: value }`, own enumerable keys in insertion order.
 *
 * Deviation from the module: a non-empty pair without a value (`a`, `a=`) is an error instead
 * of being skipped with a log line.
 *
 * @throws KazooError `INVALID_ARGUMENT` (param `headers`) when a pair has no value, a key is
 *   empty or longer than 255 UTF-8 bytes, a record value is not a string, or `headers` is neither
 *   a string, a plain object, `null` nor `undefined`.
 */
export function parseHeaders(headers: string | Record<string, string> | undefined | null): string[] | null {
  if (headers === undefined || headers === null) return null;
  if (typeof headers === 'string') return parseHeaderString(headers);
  if (typeof headers === 'object' && isPlainObject(headers)) return parseHeaderRecord(headers);
  throw fail(EXPECTED_ANY, headers);
}

function parseHeaderString(text: string): string[] | null {
  const flat: string[] = [];
  for (const pair of text.split(';')) {
    if (pair === '') continue;
    const tokens = pair.split('=').filter((token) => token !== '');
    if (tokens.length < 2) throw fail(`${EXPECTED_STRING} (pair ${JSON.stringify(pair)} has no value)`, text);
    checkKey(tokens[0], text);
    flat.push(tokens[0], tokens[1]);
  }
  return flat.length > 0 ? flat : null;
}

function parseHeaderRecord(record: Record<string, unknown>): string[] | null {
  const flat: string[] = [];
  for (const key of Object.keys(record)) {
    const value = record[key];
    if (typeof value !== 'string') {
      throw fail(`a record of string values (header ${JSON.stringify(key)} is ${describeValue(value)})`, record);
    }
    checkKey(key, record);
    flat.push(key, value);
  }
  return flat.length > 0 ? flat : null;
}

function checkKey(key: string, whole: unknown): void {
  if (key === '') throw fail('headers with non-empty names', whole);
  if (key.length > MAX_KEY_BYTES / 3 && Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) {
    throw fail(`headers with names of at most ${MAX_KEY_BYTES} UTF-8 bytes`, whole);
  }
}

function isPlainObject(value: object): boolean {
  if (Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function fail(expected: string, value: unknown): KazooError {
  return invalid('INVALID_ARGUMENT', 'headers', expected, value);
}
