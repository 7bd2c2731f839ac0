/** Helpers shared by the scenario files. */
import * as amqplib from 'amqplib';
import { benchHostname } from '../config';
import { connectClient, AmqpBenchClient } from '../clients';
import { msSince, nowNs, withTimeout } from '../support/flow';
import { MetricSpec, RunOutput, Task } from '../types';

/**
 * Client CPU (user + system, all threads of the client's process) per message over the timed
 * section: the headline where the broker on the same cores bounds throughput for every client.
 */
export const CPU_PER_MESSAGE: MetricSpec = { key: 'cpu', label: 'client CPU per message', unit: 'µs/msg', better: 'lower' };

/** The shortest pause between two polls of {@link DepthObserver.waitForDepth} (near the end of a run). */
const DEPTH_POLL_PAUSE_MS = 2;
/** Longest pause between two depth polls, while the queue is still far from full. */
const DEPTH_POLL_MAX_PAUSE_MS = 100;

/** Exchange/queue name unique to this run and scenario, e.g. `bench.lx3k9a.publish`. */
export function entityName(runId: string, scenario: string): string {
  return `bench.${runId}.${scenario}`;
}

/** Connects the task's AMQP client with the run's settings. */
export function connectTaskClient(task: Task, confirms: boolean): Promise<AmqpBenchClient> {
  return connectClient(task.client, {
    broker: task.broker,
    confirms,
    nodeHostname: benchHostname(task.runId),
    prefetch: task.params.prefetch,
    window: task.params.publishWindow,
  });
}

/**
 * Closes a client without letting a hanging close() stall the worker: returns a note when close()
 * rejected or did not resolve within 5 s (the worker process exits either way).
 */
export async function closeQuietly(client: AmqpBenchClient | null): Promise<string[]> {
  if (!client) return [];
  try {
    await withTimeout(client.close(), 5000, 'close() did not resolve within 5 s');
    return [];
  } catch (err) {
    return [`close(): ${(err as Error).message}`];
  }
}

/**
 * Connects the task's client, runs `body` with it and closes it (also on failure). Problems
 * closing are appended to the output's notes.
 */
export async function withClient(
  task: Task,
  confirms: boolean,
  body: (client: AmqpBenchClient) => Promise<RunOutput>,
): Promise<RunOutput> {
  let client: AmqpBenchClient | null = null;
  let closeNotes: string[] = [];
  let out: RunOutput;
  try {
    client = await connectTaskClient(task, confirms);
    out = await body(client);
  } finally {
    closeNotes = await closeQuietly(client);
  }
  return { sample: out.sample, notes: [...(out.notes ?? []), ...closeNotes] };
}

/** A separate amqplib connection that reads queue depth (passive queue.declare) for the publish timing. */
export class DepthObserver {
  private constructor(
    private readonly conn: amqplib.ChannelModel,
    private readonly ch: amqplib.Channel,
  ) {}

  static async connect(url: string): Promise<DepthObserver> {
    const conn = await amqplib.connect(url);
    const ch = await conn.createChannel();
    return new DepthObserver(conn, ch);
  }

  /**
   * Polls (one round trip each) until the queue holds at least `n` messages. The observer runs in
   * the measured process, so its CPU counts as the client's: instead of polling every
   * {@link DEPTH_POLL_PAUSE_MS} all along (some 800 round trips, ≈ 1.4 µs per message of a
   * 50,000-message run, a quarter of kazoo-amqp's own cost), it sleeps half the time the queue
   * needs at the fill rate seen so far, so that it polls often only near the end: the last polls
   * are still {@link DEPTH_POLL_PAUSE_MS} apart, and the end of the run is seen as precisely.
   */
  async waitForDepth(queue: string, n: number): Promise<void> {
    const t0 = nowNs();
    let d0 = -1;
    for (;;) {
      const depth = (await this.ch.checkQueue(queue)).messageCount;
      if (depth >= n) return;
      if (d0 < 0) d0 = depth;
      const elapsedMs = msSince(t0);
      const perMs = elapsedMs > 0 ? (depth - d0) / elapsedMs : 0;
      const predictedMs = perMs > 0 ? (n - depth) / perMs : 0;
      await sleep(Math.min(DEPTH_POLL_MAX_PAUSE_MS, Math.max(DEPTH_POLL_PAUSE_MS, predictedMs / 2)));
    }
  }

  async close(): Promise<void> {
    await this.conn.close().catch(() => {});
  }
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
