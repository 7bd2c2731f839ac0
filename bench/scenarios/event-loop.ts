/**
 * `event-loop`: how much of the client process's event loop the client library takes while it
 * publishes and consumes at full speed.
 *
 * In the worker (one process per client), the client subscribes to a queue (manual ack, prefetch
 * P, dispatch to an event-route handler) and publishes to it in batches of 64 (yielding with
 * setImmediate between batches, under the client's own backpressure) for a warm-up of 20 % of D,
 * then for D. `perf_hooks.monitorEventLoopDelay` (1 ms resolution) samples the loop during D;
 * the reported delay is its p99 minus the 1 ms sampling interval. The messages consumed per
 * second during D are reported too: a client that does less work would otherwise look better.
 */
import { monitorEventLoopDelay } from 'perf_hooks';
import { benchHostname, wireBody, SCRIPT_PAYLOAD } from '../config';
import { BenchEvent } from '../support/routing';
import { RunOutput, Scenario, ScenarioState } from '../types';
import { CONSUME_ROUTE } from './consume';
import { entityName, withClient } from './common';

const ROUTING_KEY = 'bench.loop';
const RESOLUTION_MS = 1;
const BATCH = 64;

/** The `event-loop` scenario. */
export const eventLoop: Scenario = {
  name: 'event-loop',
  title:
    'Event-loop delay p99 (monitorEventLoopDelay, beyond the 1 ms sampling interval) in the client process while it publishes and consumes at full speed for D.',
  clients: ['kazoo-amqp', 'amqplib', 'amqp-client'],
  metrics: [
    { key: 'p99', label: 'event-loop delay p99', unit: 'ms', better: 'lower' },
    { key: 'consumed', label: 'consumed meanwhile', unit: 'msg/s', better: 'higher' },
  ],

  async setup(ctx): Promise<ScenarioState> {
    const x = entityName(ctx.runId, 'event-loop');
    await ctx.admin.exchange(x, 'topic');
    await ctx.admin.queue(x, x, [ROUTING_KEY]);
    return { exchange: x, queue: x };
  },

  async beforeEach(ctx, state): Promise<void> {
    await ctx.admin.purge(String(state.queue));
  },

  async afterEach(ctx, state): Promise<void> {
    await ctx.admin.purge(String(state.queue));
  },

  async teardown(ctx, state): Promise<void> {
    if (state.queue) await ctx.admin.deleteQueue(String(state.queue));
    if (state.exchange) await ctx.admin.deleteExchange(String(state.exchange));
  },

  run(task): Promise<RunOutput> {
    const exchange = String(task.state.exchange);
    const duration = task.params.eventLoopMs;
    const warmup = Math.round(duration * 0.2);
    const body = task.client === 'kazoo-amqp' ? SCRIPT_PAYLOAD : wireBody(benchHostname(task.runId));
    return withClient(task, false, async (client) => {
      let consumed = 0;
      const handler = (ev: BenchEvent): void => {
        if ((ev.data as Record<string, unknown>)['Username'] !== undefined) consumed++;
      };
      await client.subscribe({
        exchange,
        queue: String(task.state.queue),
        routing: [ROUTING_KEY],
        routes: { [CONSUME_ROUTE]: handler },
      });
      const h = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
      let stop = false;
      let consumedAtStart = 0;
      let p99 = NaN;
      let consumedRate = NaN;
      const warmTimer = setTimeout(() => {
        h.reset();
        consumedAtStart = consumed;
      }, warmup);
      const endTimer = setTimeout(() => {
        stop = true;
        h.disable();
        p99 = Math.max(0, h.percentile(99) / 1e6 - RESOLUTION_MS);
        consumedRate = (consumed - consumedAtStart) / (duration / 1000);
      }, warmup + duration);
      h.enable();
      try {
        await client.publishMany({
          exchange,
          routingKey: ROUTING_KEY,
          body,
          count: Infinity,
          stop: () => stop,
          yieldEvery: BATCH,
        });
      } finally {
        clearTimeout(warmTimer);
        clearTimeout(endTimer);
        h.disable();
      }
      return { sample: { p99, consumed: consumedRate } };
    });
  },
};
