/**
 * `consume`: N messages preloaded in a queue (untimed, by the harness), consumed with manual acks
 * at prefetch P and dispatched by Event-Category/Event-Name to a handler.
 *
 * Timed from the subscribe call (exchange/queue declare, bind, qos, consume: the same steps for
 * every client) until the handler has returned for the N-th message. Because the prefetch bounds
 * unacked deliveries, every ack but the last ≤ P is inside the timed window. After the client
 * closed, the harness checks that the queue is empty (a non-empty queue is noted under the table).
 */
import { benchHostname, wireBody } from '../config';
import { cpuMicros, nowNs, withTimeout } from '../support/flow';
import { BenchEvent } from '../support/routing';
import { RunOutput, Scenario, ScenarioState } from '../types';
import { CPU_PER_MESSAGE, entityName, withClient } from './common';

const ROUTING_KEY = 'bench.consume';
/** The route the preloaded `directory` / `reg_success` messages resolve to. */
export const CONSUME_ROUTE = 'kazoo:consumer-event-directory-reg-success';

/** The `consume` scenario. */
export const consume: Scenario = {
  name: 'consume',
  title:
    'N preloaded messages consumed with manual ack (prefetch P), dispatched by Event-Category/Event-Name to a handler; timed until the handler returned for all N.',
  clients: ['kazoo-amqp', 'amqplib', 'amqp-client', 'ceiling'],
  metrics: [CPU_PER_MESSAGE, { key: 'rate', label: 'throughput', unit: 'msg/s', better: 'higher' }],

  async setup(ctx): Promise<ScenarioState> {
    const x = entityName(ctx.runId, 'consume');
    await ctx.admin.exchange(x, 'topic');
    await ctx.admin.queue(x, x, [ROUTING_KEY]);
    return { exchange: x, queue: x };
  },

  async beforeEach(ctx, state): Promise<void> {
    await ctx.admin.purge(String(state.queue));
    await ctx.admin.preload(String(state.exchange), ROUTING_KEY, wireBody(benchHostname(ctx.runId)), ctx.params.consumeN);
  },

  async afterEach(ctx, state): Promise<string[]> {
    const left = await ctx.admin.depth(String(state.queue));
    await ctx.admin.purge(String(state.queue));
    return left > 0 ? [`${left} message(s) were still in the queue after the client closed (not acked)`] : [];
  },

  async teardown(ctx, state): Promise<void> {
    if (state.queue) await ctx.admin.deleteQueue(String(state.queue));
    if (state.exchange) await ctx.admin.deleteExchange(String(state.exchange));
  },

  run(task): Promise<RunOutput> {
    const n = task.params.consumeN;
    return withClient(task, false, async (client) => {
      let count = 0;
      let withUser = 0;
      let finish: () => void = () => {};
      const done = new Promise<void>((resolve) => (finish = resolve));
      const handler = (ev: BenchEvent): void => {
        // Touch the parsed payload, as a real handler would.
        if ((ev.data as Record<string, unknown>)['Username'] !== undefined) withUser++;
        if (++count === n) finish();
      };
      const c0 = cpuMicros();
      const t0 = nowNs();
      await client.subscribe({
        exchange: String(task.state.exchange),
        queue: String(task.state.queue),
        routing: [ROUTING_KEY],
        routes: { [CONSUME_ROUTE]: handler },
      });
      await withTimeout(done, task.params.taskTimeoutMs, () => `only ${count} of ${n} messages reached the handler`);
      const seconds = Number(nowNs() - t0) / 1e9;
      const cpu = (cpuMicros() - c0) / n;
      const notes = withUser === n ? [] : [`${n - withUser} event(s) lacked the Username field`];
      return { sample: { cpu, rate: n / seconds }, notes };
    });
  },

  ceiling(task) {
    return {
      mode: 'consume',
      args: [
        String(task.state.exchange),
        String(task.state.queue),
        ROUTING_KEY,
        String(task.params.consumeN),
        String(task.params.prefetch),
      ],
      toSample: (ns, count, cpuUs) => ({ cpu: cpuUs / count, rate: count / (ns / 1e9) }),
    };
  },
};
