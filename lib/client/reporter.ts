/**
 * How the client tells the application about things no call is waiting for: the `'connection'`
 * and `'error'` events, with every listener's exception contained so that a throwing listener
 * never costs another listener, the rest of a native batch, or a settlement.
 *
 * Containment rule (docs/errors.md#listener-exceptions): each listener runs in its own
 * try/catch. A `'connection'` listener that throws is reported as a `LISTENER_FAILED` error
 * through the `'error'` path; an `'error'` listener that throws (or any report without an
 * `'error'` listener) goes to `process.emitWarning` with type `KazooWarning`, never back into
 * `'error'` (no loops).
 */
import type { EventEmitter } from 'node:events';
import { KazooError } from '../errors';
import type { ConnectionEvent } from './options';

/**
 * Calls each listener of `event` on `emitter` with `arg` in its own try/catch, in registration
 * order (`once` listeners are removed as by `emit`). Returns how many listeners ran; every
 * exception is passed to `onThrow` after the listener that threw, and the rest still run.
 */
export function emitContained(emitter: EventEmitter, event: string, arg: unknown, onThrow: (error: unknown) => void): number {
  // rawListeners() is a copy, so listeners added or removed meanwhile do not disturb this round;
  // the `once` wrappers it returns remove themselves when called, as emit() does.
  const listeners = emitter.rawListeners(event) as Array<(...args: unknown[]) => unknown>;
  for (const listener of listeners) {
    try {
      Reflect.apply(listener, emitter, [arg]);
    } catch (error) {
      onThrow(error);
    }
  }
  return listeners.length;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Reports connection events and asynchronous errors on the client's emitter. */
export class Reporter {
  constructor(private readonly emitter: EventEmitter) {}

  /** Emits `'connection'`; a listener that throws is reported as LISTENER_FAILED. */
  connection(info: ConnectionEvent): void {
    emitContained(this.emitter, 'connection', info, (error) => {
      const err = new KazooError('LISTENER_FAILED', `kazoo: a 'connection' listener threw: ${messageOf(error)}`, {
        listener: 'connection',
        host: info.host,
      });
      (err as Error & { cause?: unknown }).cause = error;
      this.error(err);
    });
  }

  /**
   * Emits `'error'` with `error`, or, without an `'error'` listener, reports it with
   * `process.emitWarning` (code `KAZOO_<code>`) instead of throwing.
   */
  error(error: KazooError): void {
    if (this.emitter.listenerCount('error') === 0) {
      warn(error.message, error.code);
      return;
    }
    emitContained(this.emitter, 'error', error, (thrown) => {
      warn(`kazoo: an 'error' listener threw: ${messageOf(thrown)} (while reporting: ${error.message})`, 'LISTENER_FAILED');
    });
  }
}

/** `process.emitWarning` with the client's type and a `KAZOO_<code>` code. */
export function warn(message: string, code: string): void {
  process.emitWarning(message, { code: `KAZOO_${code}`, type: 'KazooWarning' });
}
