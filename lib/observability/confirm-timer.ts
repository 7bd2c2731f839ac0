/**
 * Send times of in-flight publishes, for the publish → confirm histogram: a ring of typed arrays
 * indexed by the low bits of the command id, so timing a publish allocates nothing.
 */

const INITIAL_SLOTS = 4096;
/** 1M publishes in flight (12 MB): past that, the oldest lose their timing, never their count. */
const MAX_SLOTS = 1 << 20;

/** Send times keyed by command id (ids are sequential, so live ids rarely share low bits). */
export class ConfirmTimer {
  private ids = new Uint32Array(INITIAL_SLOTS);
  private times = new Float64Array(INITIAL_SLOTS);
  private mask = INITIAL_SLOTS - 1;

  /** Remembers that publish `id` (never 0) was sent at `now` (ms, performance.now()). */
  start(id: number, now: number): void {
    let slot = id & this.mask;
    if (this.ids[slot] !== 0 && this.ids[slot] !== id && this.mask + 1 < MAX_SLOTS) {
      this.grow();
      slot = id & this.mask;
    }
    this.ids[slot] = id;
    this.times[slot] = now;
  }

  /** How long ago publish `id` was sent (ms), forgetting it; -1 when its time was not kept. */
  stop(id: number, now: number): number {
    const slot = id & this.mask;
    if (this.ids[slot] !== id) return -1;
    this.ids[slot] = 0;
    return now - this.times[slot];
  }

  /** Forgets every publish (the client closed: nothing is in flight any more). */
  clear(): void {
    this.ids.fill(0);
  }

  /** Doubles the ring until every live id has a slot of its own (or the cap is reached). */
  private grow(): void {
    for (let size = (this.mask + 1) * 2; size <= MAX_SLOTS; size *= 2) {
      const ids = new Uint32Array(size);
      const times = new Float64Array(size);
      const mask = size - 1;
      let clash = false;
      for (let i = 0; i < this.ids.length; i++) {
        const id = this.ids[i];
        if (id === 0) continue;
        const slot = id & mask;
        if (ids[slot] !== 0) clash = true;
        ids[slot] = id;
        times[slot] = this.times[i];
      }
      if (!clash || size === MAX_SLOTS) {
        this.ids = ids;
        this.times = times;
        this.mask = mask;
        return;
      }
    }
  }
}
