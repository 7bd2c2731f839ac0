/**
 * `publish`: N small Kazoo JSON messages, fire-and-forget, to a topic exchange bound to one queue.
 * Timed from the first publish until a passive queue.declare on a separate connection reports
 * N messages in the queue (polled back to back after the client's last publish call returned).
 *
 * The scenario factory is shared with `publish-confirm` (bench/scenarios/publish-confirm.ts).
 */
import { SCRIPT_PAYLOAD, benchHostname, wireBody } from '../config';
import { cpuMicros, nowNs } from '../support/flow';
import { RunOutput, Scenario, ScenarioState, Task } from '../types';
import { CPU_PER_MESSAGE, DepthObserver, entityName, sleep, withClient } from './common';

const ROUTING_KEY = 'bench.publish';
/** Matches no binding: the broker drops (and, in confirm mode, confirms) warm-up messages. */
const WARMUP_KEY = 'bench.warmup';

function warmupCount(n: number): number {
  return Math.max(100, Math.min(2000, Math.floor(n / 10)));
}

/** The body a client publishes: the script payload for kazoo-amqp, the wire bytes for the others. */
export function bodyFor(task: Task): string {
  return task.client === 'kazoo-amqp' ? SCRIPT_PAYLOAD : wireBody(benchHostname(task.runId));
}

/** Builds `publish` (confirms = false) or `publish-confirm` (confirms = true). */
export function makePublishScenario(confirms: boolean): Scenario {
  const name = confirms ? 'publish-confirm' : 'publish';
  const nOf = (task: { params: Task['params'] }): number =>
    confirms ? task.params.publishConfirmN : task.params.publishN;
  return {
    name,
    title: confirms
      ? 'N small Kazoo JSON messages with publisher confirms (at most W unconfirmed in flight); timed until the last confirm.'
      : 'N small Kazoo JSON messages fire-and-forget to a topic exchange bound to one queue; timed until a passive queue.declare sees all N.',
    clients: ['kazoo-amqp', 'amqplib', 'amqp-client', 'ceiling'],
    metrics: [CPU_PER_MESSAGE, { key: 'rate', label: 'throughput', unit: 'msg/s', better: 'higher' }],

    async setup(ctx): Promise<ScenarioState> {
      const x = entityName(ctx.runId, name);
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

    async run(task): Promise<RunOutput> {
      const exchange = String(task.state.exchange);
      const queue = String(task.state.queue);
      const n = nOf(task);
      const body = bodyFor(task);
      const observer = confirms ? null : await DepthObserver.connect(task.broker.url);
      try {
        return await withClient(task, confirms, async (client) => {
          await client.publishMany({ exchange, routingKey: WARMUP_KEY, body, count: warmupCount(n) });
          await sleep(50);
          const c0 = cpuMicros();
          const t0 = nowNs();
          await client.publishMany({ exchange, routingKey: ROUTING_KEY, body, count: n });
          if (observer) await observer.waitForDepth(queue, n);
          const seconds = Number(nowNs() - t0) / 1e9;
          return { sample: { cpu: (cpuMicros() - c0) / n, rate: n / seconds } };
        });
      } finally {
        await observer?.close();
      }
    },

    ceiling(task) {
      const exchange = String(task.state.exchange);
      const n = nOf(task);
      const body = wireBody(benchHostname(task.runId));
      const warm = String(warmupCount(n));
      return confirms
        ? {
            mode: 'publish-confirm',
            args: [exchange, ROUTING_KEY, String(n), body, WARMUP_KEY, warm, String(task.params.publishWindow)],
            toSample: (ns, count, cpuUs) => ({ cpu: cpuUs / count, rate: count / (ns / 1e9) }),
          }
        : {
            mode: 'publish',
            args: [exchange, ROUTING_KEY, String(task.state.queue), String(n), body, WARMUP_KEY, warm],
            toSample: (ns, count, cpuUs) => ({ cpu: cpuUs / count, rate: count / (ns / 1e9) }),
          };
    },
  };
}

/** The `publish` scenario. */
export const publish: Scenario = makePublishScenario(false);
