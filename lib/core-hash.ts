/**
 * Kamailio's `core_hash` (core/hashes.h), as the kazoo module uses it to pick a consumer worker
 * for bindings with `consistent-worker` (docs/module-behaviour.md#worker-selection).
 */

import { invalid } from './errors';

const utf8 = new TextEncoder();

/**
 * Kamailio `core_hash(key, NULL, 0)` over the UTF-8 bytes of `key`, as an unsigned 32-bit
 * integer (docs/module-behaviour.md#worker-selection): big-endian 4-byte blocks summed as `v ^ (v >> 3)`, the 0–3 tail bytes
 * folded the same way (always, even when empty), then `h + (h >> 11) + (h >> 13) + (h >> 23)`.
 *
 * Bytes are taken as unsigned, as the spec states. (An x86 Kamailio build reads them through a
 * signed `char`, so keys with non-ASCII bytes can hash differently there; worker choice is local
 * to this process, so no peer depends on it.)
 *
 * @throws KazooError `INVALID_ARGUMENT` (param `key`) when `key` is not a string.
 */
export function coreHash(key: string): number {
  if (typeof key !== 'string') throw invalid('INVALID_ARGUMENT', 'key', 'a string', key);
  // ASCII keys (the usual routing keys and ids) are hashed straight from the string, without
  // allocating their UTF-8 bytes.
  if (ASCII.test(key)) return hashCodes(key, key.length);
  const bytes = utf8.encode(key);
  return hashCodes(bytes, bytes.length);
}

const ASCII = /^[\x00-\x7f]*$/;

/** One loop for both inputs: a string of ASCII code units or a Uint8Array of UTF-8 bytes. */
function hashCodes(src: string | Uint8Array, length: number): number {
  const at = typeof src === 'string' ? (i: number) => src.charCodeAt(i) : (i: number) => src[i];
  let h = 0;
  let v: number;
  let p = 0;
  for (; p + 4 <= length; p += 4) {
    v = ((at(p) << 24) | (at(p + 1) << 16) | (at(p + 2) << 8) | at(p + 3)) >>> 0;
    h = (h + ((v ^ (v >>> 3)) >>> 0)) >>> 0;
  }
  v = 0;
  for (; p < length; p++) v = ((v << 8) | at(p)) >>> 0;
  h = (h + ((v ^ (v >>> 3)) >>> 0)) >>> 0;
  return (h + (h >>> 11) + (h >>> 13) + (h >>> 23)) >>> 0;
}

/**
 * The worker lane the module's `consistent-worker` dispatch picks for `key`:
 * `core_hash(key) & (workers − 1)` (docs/module-behaviour.md#worker-selection).
 *
 * `workers` must be a power of two (the config enforces it for `amqp_consumer_workers`): with
 * any other count the mask would leave some workers unused, as it does in the module.
 *
 * @throws KazooError `INVALID_ARGUMENT` (param `key`) when `key` is not a string, or
 *   (param `workers`) when `workers` is not a power of two in 1..2^30.
 */
export function consistentWorker(key: string, workers: number): number {
  if (!Number.isInteger(workers) || workers < 1 || workers > 2 ** 30 || (workers & (workers - 1)) !== 0) {
    throw invalid('INVALID_ARGUMENT', 'workers', 'a power of two in 1..1073741824', workers);
  }
  return coreHash(key) & (workers - 1);
}
