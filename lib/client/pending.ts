/**
 * Pending operations: every command handed to a native connection gets an id here, and the
 * batch callback settles it (done ids resolve, failures reject with the caller's stack).
 */
import { KazooError } from '../errors';
import type { NativeFailure } from '../native';
import type { StatsRecorder } from '../observability/stats-recorder';
import { WaiterTable } from './waiter-table';

/** Where a publish or query went, added to its rejection's details. */
export interface OperationTarget {
  exchange: string;
  routingKey: string;
}

interface Waiter {
  resolve: (value: unknown) => void;
  reject: (error: KazooError) => void;
  // (The CheckedSend of a publish or query serves as its target as is: one object less per call.)
  /** Stack of the call that created the operation (queries with query_stack_traces), used for its rejection. */
  site?: { stack?: string };
  target?: OperationTarget;
  /** A query (settled by its reply) rather than a publish (settled by its confirm). */
  query: boolean;
}

// The executor of every tracked promise: a module-level function hands its settle functions over
// without allocating a closure per call (a publish is the hot path).
let capturedResolve: (value: unknown) => void = () => undefined;
let capturedReject: (error: KazooError) => void = () => undefined;
function capture(resolve: (value: unknown) => void, reject: (error: KazooError) => void): void {
  capturedResolve = resolve;
  capturedReject = reject;
}

/** Just the exchange and routing key of a target (a CheckedSend carries the payload too). */
function where(target: OperationTarget): OperationTarget {
  return { exchange: target.exchange, routingKey: target.routingKey };
}

/** Command ids and the promises waiting on them. */
export class PendingOperations {
  private readonly waiters = new WaiterTable<Waiter>();
  private nextId = 1;

  /** A fresh command id (wraps before 2^32, as the native side stores it in a uint32). */
  allocateId(): number {
    const id = this.nextId;
    this.nextId = id >= 0xfffffff0 ? 1 : id + 1;
    return id;
  }

  /**
   * A promise settled when command `id` is reported; `target` (where a publish or query went)
   * and `site` (the caller's stack) shape its rejection.
   */
  track(id: number, target?: OperationTarget, query = false, site?: { stack?: string }): Promise<unknown> {
    const promise = new Promise(capture);
    this.waiters.set(id, { resolve: capturedResolve, reject: capturedReject, site, target, query });
    return promise;
  }

  /**
   * Runs `issue(id)` with a fresh id and returns the promise of that command; when `issue`
   * returns false (nothing will be reported) the promise resolves at once.
   */
  command(issue: (id: number) => boolean | void): Promise<unknown> {
    const id = this.allocateId();
    const promise = this.track(id);
    if (issue(id) === false) {
      this.waiters.delete(id);
      return Promise.resolve();
    }
    return promise;
  }

  /** Forgets command `id` without settling it (the native call threw before taking it). */
  forget(id: number): void {
    this.waiters.delete(id);
  }

  /** Where command `id` went, if it is pending and has a target. */
  target(id: number): OperationTarget | undefined {
    const t = this.waiters.get(id)?.target;
    return t && where(t);
  }

  /** True while command `id` waits for its outcome. */
  has(id: number): boolean {
    return this.waiters.has(id);
  }

  /** Resolves command `id` with `value` (ignored when it is not pending). */
  resolve(id: number, value?: unknown): void {
    const waiter = this.waiters.delete(id);
    if (!waiter) return;
    waiter.resolve(value);
  }

  /** What command `id` is (publishes and queries have a target), if it is pending. */
  waiter(id: number): { readonly target?: unknown; readonly query: boolean } | undefined {
    return this.waiters.get(id);
  }

  /**
   * Resolves every id of a batch's `done` list from server `serverId`; each publish among them
   * is counted as confirmed by `recorder` (call `recorder.batch()` first: one clock read per batch).
   */
  resolveAll(done: Uint32Array, recorder: StatsRecorder, serverId: number): void {
    for (let i = 0; i < done.length; i++) {
      const id = done[i];
      const waiter = this.waiters.delete(id);
      if (!waiter) continue;
      if (waiter.target && !waiter.query) recorder.publishConfirmed(serverId, id);
      waiter.resolve(undefined);
    }
  }

  /** Rejects command `id` with a KazooError built from `failure` plus its target. */
  reject(id: number, failure: NativeFailure): void {
    const waiter = this.waiters.delete(id);
    if (!waiter) return;
    const error = KazooError.from(waiter.target ? { ...where(waiter.target), ...failure } : failure);
    const site = waiter.site;
    if (site) {
      // Async rejections carry the caller's stack, not the batch callback's; formatted only when
      // read (formatting thousands of stacks at once delays every other rejection).
      Object.defineProperty(error, 'stack', {
        configurable: true,
        enumerable: false,
        get: () => `${error.name}: ${error.message}\n${(site.stack ?? '').split('\n').slice(1).join('\n')}`,
      });
    }
    waiter.reject(error);
  }

  /** Rejects everything still pending with a fresh `makeError()` each (close()). */
  rejectEverything(makeError: () => KazooError): void {
    for (const [, waiter] of this.waiters.takeAll()) waiter.reject(makeError());
  }
}
