/**
 * Loads the native addon (lib/load-binding.ts: the package's prebuilt binary, else a source
 * build) and re-exports it with the types of typings/native.d.ts, the one written contract
 * between lib/ and native code.
 */
import type * as Native from '../typings/native';
import { loadBinding } from './load-binding';

const addon = loadBinding().binding as typeof Native;

/** Native connection class (one broker connection, one I/O thread). */
export const Connection = addon.Connection;
/** Native `kazoo_json`. */
export const json = addon.json;
/** Native `{kz.json.count}`. */
export const jsonCount = addon.jsonCount;
/** Native json-c lenient parse + spaced serialization. */
export const reserialize = addon.reserialize;
/** Forced-route payload rules, for the differential unit tests only. */
export const testing = addon.testing;
export type {
  NativeConnectionOptions,
  NativeEvent,
  NativeFailure,
  NativeSubscription,
  NativeBatchCallback,
} from '../typings/native';
