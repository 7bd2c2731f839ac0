/** Flow-control and timing helpers shared by the client adapters. */

/** Monotonic clock in nanoseconds. */
export function nowNs(): bigint {
  return process.hrtime.bigint();
}

/**
 * User + system CPU time of this whole process (every thread: the JS thread, libuv's pool and a
 * native client's I/O threads) in microseconds. Differences of two readings give a client's own
 * CPU cost for a timed section, the figure that matters where the broker bounds throughput.
 */
export function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/** Milliseconds between two {@link nowNs} readings, as a float. */
export function msSince(t0: bigint, t1: bigint = nowNs()): number {
  return Number(t1 - t0) / 1e6;
}

/** Options of {@link windowed}. */
export interface WindowedOptions {
  /** How many calls to make; may be Infinity together with `stop`. */
  count: number;
  /** At most this many returned promises unresolved at once. */
  window: number;
  /** Starts call i and returns its completion. */
  start: (i: number) => Promise<unknown>;
  /** Checked before each call; true ends the loop early. */
  stop?: () => boolean;
  /** Yield to the event loop (setImmediate) after every this many calls. */
  yieldEvery?: number;
}

/**
 * Calls `start(i)` for i = 0, 1, … with at most `window` returned promises unresolved at once.
 * When the window is full it waits until half of it has drained (a low-water mark keeps the
 * number of awaits per message small). Resolves when every started promise has resolved; rejects
 * with the first rejection. Returns how many calls were made.
 */
export async function windowed(opts: WindowedOptions): Promise<number> {
  const { count, window, start, stop, yieldEvery } = opts;
  let inflight = 0;
  let failure: unknown = null;
  let failed = false;
  let wake: (() => void) | null = null;
  let wakeBelow = 0;
  const settle = (): void => {
    inflight--;
    if (wake !== null && inflight <= wakeBelow) {
      const w = wake;
      wake = null;
      w();
    }
  };
  const onError = (err: unknown): void => {
    if (!failed) {
      failed = true;
      failure = err;
    }
    settle();
  };
  const waitUntil = (level: number): Promise<void> =>
    new Promise<void>((resolve) => {
      wakeBelow = level;
      wake = resolve;
    });
  let i = 0;
  for (; i < count; i++) {
    if (failed) break;
    if (stop && stop()) break;
    if (inflight >= window) await waitUntil(window >> 1);
    if (failed) break;
    inflight++;
    start(i).then(settle, onError);
    if (yieldEvery && i % yieldEvery === yieldEvery - 1) await yieldToLoop();
  }
  while (inflight > 0) await waitUntil(0);
  if (failed) throw failure;
  return i;
}

/** Resolves on the next turn of the event loop (after I/O), letting other callbacks run. */
export function yieldToLoop(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}

/** Rejects after `ms` with `message` (evaluated then, if a function) unless `p` settles first. */
export function withTimeout<T>(p: Promise<T>, ms: number, message: string | (() => string)): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(typeof message === 'function' ? message() : message)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}
