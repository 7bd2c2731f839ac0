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
 *
 * With the `logger` option, those last reports go to `logger.error` instead of process warnings
 * (through the client's redacting {@link LogSink}, same `KAZOO_<code>` codes).
 */
import type { EventEmitter } from 'node:events';
import { KazooError } from '../errors';
import { LogSink } from '../logger';
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
  /**
   * @param emitter the client.
   * @param log where reports nobody listens to go: the `logger` option, else process warnings.
   */
  constructor(
    private readonly emitter: EventEmitter,
    private readonly log: LogSink = new LogSink(null),
  ) {}

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
   * `logger.error(message, { code: 'KAZOO_<code>', error })` when the client has a `logger`, else
   * `process.emitWarning` (code `KAZOO_<code>`), instead of throwing.
   */
  error(error: KazooError): void {
    if (this.emitter.listenerCount('error') === 0) {
      this.log.error(error.message, { code: `KAZOO_${error.code}`, error });
      return;
    }
    emitContained(this.emitter, 'error', error, (thrown) => {
      this.log.error(`kazoo: an 'error' listener threw: ${messageOf(thrown)} (while reporting: ${error.message})`, {
        code: 'KAZOO_LISTENER_FAILED',
        error: thrown,
      });
    });
  }

  /** A problem of kazoo-amqp itself (code `KAZOO_<code>`): `logger.warn`, else a process warning. */
  warning(message: string, code: string): void {
    this.log.warn(message, { code: `KAZOO_${code}` });
  }
}
