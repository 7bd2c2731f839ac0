/**
 * Loads the compiled addon (build/Release/kazoo_amqp.node) and re-exports it with the types of
 * typings/native.d.ts, the one written contract between lib/ and native code.
 */
import * as path from 'node:path';
import type * as Native from '../typings/native';

function packageRoot(): string {
  // lib/native.ts runs from lib/ (ts-jest) or from dist/lib/ (compiled).
  const here = __dirname;
  return path.basename(path.dirname(here)) === 'dist' ? path.resolve(here, '../..') : path.resolve(here, '..');
}

function load(): typeof Native {
  const file = path.join(packageRoot(), 'build', 'Release', 'kazoo_amqp.node');
  try {
    return require(file) as typeof Native;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`kazoo: cannot load the native addon ${file} (run npm install to build it): ${reason}`);
  }
}

const addon = load();

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
