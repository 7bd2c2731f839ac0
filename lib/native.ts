/**
 * Loads the native addon (lib/load-binding.ts: the package's prebuilt binary, else a source
 * build) and re-exports it with the types of typings/native.d.ts, the one written contract
 * between lib/ and native code.
 */
import type * as Native from '../typings/native';
import * as path from 'node:path';
import { loadBinding, packageRoot } from './load-binding';

const addon = loadBinding().binding as typeof Native;

let testingAddon: typeof Native | undefined;
/**
 * The test build of the addon (build/Release/kazoo_amqp_testing.node): the same code plus the
 * test hooks, which the production addon does not carry. Loaded only when a test asks for one.
 */
function loadTesting(): typeof Native {
  if (!testingAddon) {
    const file = path.join(packageRoot(), 'build', 'Release', 'kazoo_amqp_testing.node');
    testingAddon = require(file) as typeof Native;
  }
  return testingAddon;
}

/** Native connection class (one broker connection, one I/O thread). */
export const Connection = addon.Connection;
/** Native `kazoo_json`. */
export const json = addon.json;
/** Native `{kz.json.count}`. */
export const jsonCount = addon.jsonCount;
/**
 * Native json-c lenient parse + spaced serialization. `reference: true` (json-c's own serializer,
 * what the fast one is tested against) is a test hook and runs in the test build of the addon.
 */
export function reserialize(payload: string, reference?: boolean): string {
  return reference ? loadTesting().reserialize(payload, true) : addon.reserialize(payload);
}
/** Forced-route payload rules, for the differential unit tests only (test build of the addon). */
export const testing: typeof Native.testing = {
  publishBody: (...args) => loadTesting().testing.publishBody(...args),
  deliveryView: (...args) => loadTesting().testing.deliveryView(...args),
  errorCodes: () => loadTesting().testing.errorCodes(),
};
export type {
  NativeConnectionOptions,
  NativeEvent,
  NativeFailure,
  NativeSubscription,
  NativeBatchCallback,
} from '../typings/native';
