/**
 * Routing-key encoding: Kamailio's `kazoo_encode(input, $var(out))` and `{kz.encode}`
 * transformation (docs/module-behaviour.md#routing-key-encoding), which is also Kazoo's Erlang `kz_amqp_util:encode/1`.
 */

import { invalid } from './errors';

/**
 * How bytes ≥ 0x80 are rendered.
 *
 * - `'kazoo'`: proper uppercase hex (`é` → `%C3%A9`), as Kazoo's Erlang `encode/1` and
 *   Kamailio on unsigned-char platforms (ARM) produce.
 * - `'kamailio-x86'`: the signed-char quirk of Kamailio on x86-64, where the high "digit" is the
 *   character 0x20 + (byte >> 4) (`é` → `%,3%*9`). Use it to produce the same routing keys as
 *   existing x86 Kamailio nodes.
 */
export type EncodeCompat = 'kazoo' | 'kamailio-x86';

/** Options of {@link encode}. */
export interface EncodeOptions {
  /** Rendering of non-ASCII bytes; default `'kazoo'`. */
  compat?: EncodeCompat;
}

const HEX = '0123456789ABCDEF';

/** 1 for the bytes copied unchanged: `a-z A-Z 0-9 - ~ _`. */
const SAFE = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  if (/[A-Za-z0-9\-~_]/.test(ch)) SAFE[c] = 1;
}

function buildTable(compat: EncodeCompat): readonly string[] {
  const table: string[] = new Array(256);
  for (let b = 0; b < 256; b++) {
    const high = b >= 0x80 && compat === 'kamailio-x86' ? String.fromCharCode(0x20 + (b >> 4)) : HEX[b >> 4];
    table[b] = `%${high}${HEX[b & 0x0f]}`;
  }
  for (let b = 0; b < 128; b++) if (SAFE[b]) table[b] = String.fromCharCode(b);
  table[0x2e] = '%2E';
  table[0x20] = '+';
  return Object.freeze(table);
}

const TABLES: Readonly<Record<EncodeCompat, readonly string[]>> = Object.freeze({
  kazoo: buildTable('kazoo'),
  'kamailio-x86': buildTable('kamailio-x86'),
});

/**
 * Encodes a string for use as one word of an AMQP routing key, exactly like Kamailio's
 * `kazoo_encode` / `{kz.encode}` (docs/module-behaviour.md#routing-key-encoding) applied to the string's UTF-8 bytes:
 *
 * - an input that is exactly `#` or `*` is returned unchanged;
 * - `a-z A-Z 0-9 - ~ _` are kept, `.` becomes `%2E`, space becomes `+`;
 * - every other byte becomes `%XX` (uppercase hex; see {@link EncodeCompat} for bytes ≥ 0x80).
 *
 * Deviation from the module: the output is never truncated at 255 characters (the module drops
 * the rest of the input and can overflow its buffer). The publish path enforces the 255-byte
 * routing-key limit with `ROUTING_KEY_TOO_LONG` instead, so nothing is silently cut.
 * Lone UTF-16 surrogates are encoded as U+FFFD, as Node's UTF-8 conversion does.
 *
 * @throws KazooError `INVALID_ARGUMENT` (param `input`) when `input` is not a string, or
 *   (param `options.compat`) when `compat` is not `'kazoo'` or `'kamailio-x86'`.
 */
export function encode(input: string, options?: EncodeOptions): string {
  if (typeof input !== 'string') throw invalid('INVALID_ARGUMENT', 'input', 'a string', input);
  let table = TABLES.kazoo;
  if (options !== undefined && options !== null && options.compat !== undefined) {
    const compat = options.compat;
    if (compat !== 'kazoo' && compat !== 'kamailio-x86') {
      throw invalid('INVALID_ARGUMENT', 'options.compat', '"kazoo" or "kamailio-x86"', compat);
    }
    table = TABLES[compat];
  }
  const length = input.length;
  if (length === 1 && (input === '#' || input === '*')) return input;

  // Runs of safe characters are copied with one slice; an all-safe input is returned as is.
  let out = '';
  let runStart = 0;
  for (let i = 0; i < length; i++) {
    let c = input.charCodeAt(i);
    if (c < 0x80) {
      if (SAFE[c] === 1) continue;
      if (i > runStart) out += input.slice(runStart, i);
      out += table[c];
    } else {
      if (i > runStart) out += input.slice(runStart, i);
      if (c < 0x800) {
        out += table[0xc0 | (c >> 6)] + table[0x80 | (c & 0x3f)];
      } else {
        if (c >= 0xd800 && c <= 0xdfff) {
          const next = i + 1 < length ? input.charCodeAt(i + 1) : 0;
          if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
            const cp = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
            out +=
              table[0xf0 | (cp >> 18)] +
              table[0x80 | ((cp >> 12) & 0x3f)] +
              table[0x80 | ((cp >> 6) & 0x3f)] +
              table[0x80 | (cp & 0x3f)];
            i++;
            runStart = i + 1;
            continue;
          }
          c = 0xfffd;
        }
        out += table[0xe0 | (c >> 12)] + table[0x80 | ((c >> 6) & 0x3f)] + table[0x80 | (c & 0x3f)];
      }
    }
    runStart = i + 1;
  }
  if (runStart === 0) return input;
  if (runStart < length) out += input.slice(runStart);
  return out;
}
