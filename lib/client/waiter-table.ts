/**
 * The pending operations' table: command id → entry, for ids handed out in sequence.
 *
 * Why not a Map: with a window of publishes in flight, a Map sees one insert and one delete per
 * message and keeps rehashing (V8's ordered hash tables rebuild themselves as deleted entries
 * pile up), which measured about 700 instructions per publish. Here an entry lives in the slot
 * `id & mask` of a power-of-two ring; since live ids are mostly a contiguous run, they rarely
 * share a slot. When one would, the ring doubles (up to MAX_SLOTS); past that, the rare
 * colliding entry goes to an overflow Map.
 */

const INITIAL_SLOTS = 1024;
/** 64 Ki slots (≈ 0.8 MB): more operations in flight than that share an overflow Map. */
const MAX_SLOTS = 1 << 16;

/** A table of entries keyed by non-zero uint32 ids. */
export class WaiterTable<T> {
  private ids = new Uint32Array(INITIAL_SLOTS);
  private entries: Array<T | undefined> = new Array<T | undefined>(INITIAL_SLOTS).fill(undefined);
  private mask = INITIAL_SLOTS - 1;
  private overflow: Map<number, T> | null = null;
  private count = 0;

  /** Number of entries. */
  get size(): number {
    return this.count;
  }

  /** The entry of `id`, if any. */
  get(id: number): T | undefined {
    const slot = id & this.mask;
    if (this.ids[slot] === id) return this.entries[slot];
    return this.overflow === null ? undefined : this.overflow.get(id);
  }

  /** Whether `id` has an entry. */
  has(id: number): boolean {
    return this.get(id) !== undefined;
  }

  /** Stores `entry` (not undefined) for `id` (non-zero), replacing any entry it had. */
  set(id: number, entry: T): void {
    let slot = id & this.mask;
    if (this.ids[slot] === id) {
      this.entries[slot] = entry;
      return;
    }
    if (this.overflow !== null && this.overflow.has(id)) {
      this.overflow.set(id, entry);
      return;
    }
    if (this.ids[slot] !== 0 && this.mask + 1 < MAX_SLOTS) {
      this.grow();
      slot = id & this.mask;
    }
    if (this.ids[slot] === 0) {
      this.ids[slot] = id;
      this.entries[slot] = entry;
    } else {
      (this.overflow ??= new Map()).set(id, entry);
    }
    this.count++;
  }

  /** Removes and returns the entry of `id`, if any. */
  delete(id: number): T | undefined {
    const slot = id & this.mask;
    if (this.ids[slot] === id) {
      const entry = this.entries[slot];
      this.ids[slot] = 0;
      this.entries[slot] = undefined;
      this.count--;
      return entry;
    }
    if (this.overflow === null) return undefined;
    const entry = this.overflow.get(id);
    if (entry === undefined) return undefined;
    this.overflow.delete(id);
    if (this.overflow.size === 0) this.overflow = null;
    this.count--;
    return entry;
  }

  /** Removes every entry and returns them as [id, entry] pairs, in id order (call order). */
  takeAll(): Array<[number, T]> {
    const all: Array<[number, T]> = [];
    for (let slot = 0; slot < this.ids.length; slot++) {
      if (this.ids[slot] !== 0) all.push([this.ids[slot], this.entries[slot] as T]);
    }
    if (this.overflow !== null) for (const pair of this.overflow) all.push(pair);
    this.ids.fill(0);
    this.entries.fill(undefined);
    this.overflow = null;
    this.count = 0;
    return all.sort((a, b) => a[0] - b[0]);
  }

  /** Doubles the ring until the live ids no longer share slots (or the cap is reached). */
  private grow(): void {
    for (let size = (this.mask + 1) * 2; size <= MAX_SLOTS; size *= 2) {
      const mask = size - 1;
      const ids = new Uint32Array(size);
      const entries = new Array<T | undefined>(size).fill(undefined);
      let clash = false;
      for (let slot = 0; slot < this.ids.length && !clash; slot++) {
        const id = this.ids[slot];
        if (id === 0) continue;
        const to = id & mask;
        if (ids[to] !== 0) clash = true;
        ids[to] = id;
        entries[to] = this.entries[slot];
      }
      if (clash && size < MAX_SLOTS) continue;
      if (clash) return; // at the cap with a clash: keep the ring, the new entry overflows
      this.ids = ids;
      this.entries = entries;
      this.mask = mask;
      return;
    }
  }
}
