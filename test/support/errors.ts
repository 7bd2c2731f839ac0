/** Shared assertion helpers for code that throws synchronously. */
import type { KazooError } from '../../lib/errors';

/** The error `fn` throws; fails the test when it does not throw. */
export function errorOf(fn: () => unknown): KazooError {
  try {
    fn();
  } catch (e) {
    return e as KazooError;
  }
  throw new Error('expected a throw');
}
