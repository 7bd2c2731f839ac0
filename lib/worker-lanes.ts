/**
 * Worker lanes: the JS counterpart of the module's `amqp_consumer_workers` processes. Each lane
 * runs its tasks one after another (order is kept per lane); lanes run concurrently, so a slow
 * handler holds up only its own lane, never the I/O thread or the other lanes.
 */

/** A unit of work; a returned promise keeps the lane busy until it settles. */
export type LaneTask = () => void | Promise<void>;

interface Lane {
  tasks: LaneTask[];
  head: number;
  running: boolean;
}

/** A fixed set of serial lanes. */
export class WorkerLanes {
  private readonly lanes: Lane[];
  private roundRobin = 0;
  private idleWaiters: Array<() => void> = [];
  private busy = 0;

  /** @param count number of lanes (`amqp_consumer_workers`, a power of two). */
  constructor(count: number) {
    this.lanes = Array.from({ length: count }, () => ({ tasks: [], head: 0, running: false }));
  }

  /** Number of lanes. */
  get size(): number {
    return this.lanes.length;
  }

  /** Tasks queued in every lane and not started yet (the lane backlog gauge of Kazoo.stats()). */
  get backlog(): number {
    let queued = 0;
    for (const lane of this.lanes) queued += lane.tasks.length - lane.head;
    return queued;
  }

  /** The next lane in round-robin order (the module starts at worker 1). */
  nextLane(): number {
    this.roundRobin = (this.roundRobin + 1) % this.lanes.length;
    return this.roundRobin;
  }

  /** Queues `task` on lane `index`; it runs after the lane's earlier tasks. */
  push(index: number, task: LaneTask): void {
    const lane = this.lanes[index];
    lane.tasks.push(task);
    if (!lane.running) {
      lane.running = true;
      this.busy++;
      void this.run(lane);
    }
  }

  /** Resolves once every lane is idle. */
  idle(): Promise<void> {
    if (this.busy === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async run(lane: Lane): Promise<void> {
    while (lane.head < lane.tasks.length) {
      const task = lane.tasks[lane.head];
      lane.tasks[lane.head++] = undefined as unknown as LaneTask;
      // Compact the consumed prefix now and then instead of shift()ing each task (O(n) each).
      if (lane.head > 1024 && lane.head * 2 > lane.tasks.length) {
        lane.tasks = lane.tasks.slice(lane.head);
        lane.head = 0;
      }
      try {
        const result = task();
        if (result !== undefined && typeof (result as Promise<void>).then === 'function') await result;
      } catch {
        // Tasks handle their own failures; a throw here must not stop the lane.
      }
    }
    lane.tasks = [];
    lane.head = 0;
    lane.running = false;
    if (--this.busy === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }
}
