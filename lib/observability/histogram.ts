/**
 * Latency histograms with fixed buckets: one typed array of per-bucket counts, so recording a
 * value is a short scan and an increment, never an allocation.
 */

/**
 * Upper bounds (seconds) of every kazoo-amqp latency histogram: 0.5 ms to 10 s, the span between
 * a local broker's confirm and the longest sensible query timeout. `+Inf` is implicit.
 */
export const LATENCY_BUCKETS: readonly number[] = Object.freeze([
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]);

// The same bounds in milliseconds, the unit values are recorded in.
const BOUNDS_MS = Float64Array.from(LATENCY_BUCKETS, (s) => s * 1000);

/** A histogram as {@link Kazoo.stats} shows it (Prometheus semantics: cumulative counts). */
export interface HistogramSnapshot {
  /** Bucket upper bounds in seconds, ascending; the last bucket (`+Inf`) is not listed. */
  readonly buckets: readonly number[];
  /** `counts[i]` = observations ≤ `buckets[i]`; `counts[buckets.length]` = all (`+Inf`). */
  readonly counts: readonly number[];
  /** Sum of all observed values, in seconds. */
  readonly sum: number;
  /** Number of observations (equals the `+Inf` count). */
  readonly count: number;
}

/** One latency histogram (one label set). */
export class LatencyHistogram {
  // counts[0..n-1] per bucket, counts[n] above the last bound; sum in ms at counts[n + 1].
  private readonly counts = new Float64Array(BOUNDS_MS.length + 2);

  /** Records one duration in milliseconds (negative values, from clock skew, count as 0). */
  observe(ms: number): void {
    const counts = this.counts;
    const n = BOUNDS_MS.length;
    let i = 0;
    while (i < n && ms > BOUNDS_MS[i]) i++;
    counts[i]++;
    counts[n + 1] += ms > 0 ? ms : 0;
  }

  /** Cumulative counts, sum and count, in seconds. */
  snapshot(): HistogramSnapshot {
    const n = BOUNDS_MS.length;
    const counts: number[] = new Array(n + 1);
    let running = 0;
    for (let i = 0; i <= n; i++) {
      running += this.counts[i];
      counts[i] = running;
    }
    return { buckets: LATENCY_BUCKETS, counts, sum: this.counts[n + 1] / 1000, count: running };
  }
}
