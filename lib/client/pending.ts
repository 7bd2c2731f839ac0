/**
 * Pending operations: every command handed to a native connection gets an id here, and the
 * batch callback settles it (done ids resolve, failures reject with the caller's stack).
 */
import { KazooError } from '../errors';
import type { NativeFailure } from '../native';
import type { StatsRecorder } from '../observability/stats-recorder';

/** Where a publish or query went, added to its rejection's details. */
export interface OperationTarget {
  exchange: string;
  routingKey: string;
}

interface Waiter {
  resolve: (value: unknown) => void;
  reject: (error: KazooError) => void;
  /** Stack of the call that created the operation (queries), used for its rejection. */
  site?: { stack?: string };
  target?: OperationTarget;
}

/** Command ids and the promises waiting on them. */
export class PendingOperations {
  private readonly waiters = new Map<number, Waiter>();
  private nextId = 1;

  /** A fresh command id (wraps before 2^32, as the native side stores it in a uint32). */
  allocateId(): number {
    const id = this.nextId;
    this.nextId = id >= 0xfffffff0 ? 1 : id + 1;
    return id;
  }

  /** A promise settled when command `id` is reported; `site` and `target` shape its rejection. */
  track(id: number, site?: { stack?: string }, target?: OperationTarget): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.waiters.set(id, { resolve, reject, site, target });
    });
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
    return this.waiters.get(id)?.target;
  }

  /** True while command `id` waits for its outcome. */
  has(id: number): boolean {
    return this.waiters.has(id);
  }

  /** Resolves command `id` with `value` (ignored when it is not pending). */
  resolve(id: number, value?: unknown): void {
    const waiter = this.waiters.get(id);
    if (!waiter) return;
    this.waiters.delete(id);
    waiter.resolve(value);
  }

  /** What command `id` is (a publish has a target and no call site), if it is pending. */
  waiter(id: number): { readonly target?: unknown; readonly site?: unknown } | undefined {
    return this.waiters.get(id);
  }

  /**
   * Resolves every id of a batch's `done` list from server `serverId`; each publish among them
   * is counted as confirmed by `recorder` (call `recorder.batch()` first: one clock read per batch).
   */
  resolveAll(done: Uint32Array, recorder: StatsRecorder, serverId: number): void {
    for (let i = 0; i < done.length; i++) {
      const id = done[i];
      const waiter = this.waiters.get(id);
      if (!waiter) continue;
      this.waiters.delete(id);
      if (waiter.target && !waiter.site) recorder.publishConfirmed(serverId, id);
      waiter.resolve(undefined);
    }
  }

  /** Rejects command `id` with a KazooError built from `failure` plus its target. */
  reject(id: number, failure: NativeFailure): void {
    const waiter = this.waiters.get(id);
    if (!waiter) return;
    this.waiters.delete(id);
    const error = KazooError.from(waiter.target ? { ...waiter.target, ...failure } : failure);
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
    for (const [id, waiter] of this.waiters) {
      this.waiters.delete(id);
      waiter.reject(makeError());
    }
  }
}
