/**
 * `query`: Kazoo RPC over the `targeted` exchange against a responder process (bench/responder.ts).
 *
 * Requests go to a per-run topic exchange (`kazoo-bench.<run>`) bound to the responder's queue;
 * replies come back on `targeted` with routing key = the request's Server-ID and are correlated
 * by Msg-ID. kazoo-amqp does this in query(); the baselines do it by hand (bench/support/rpc.ts).
 *
 * Measured per repetition, after 20 untimed warm-up queries:
 * - round trip p50 and p99 over M sequential queries (concurrency 1);
 * - replies per second with C queries in flight (C independent loops, M' queries in total).
 */
import { ChildProcess } from 'child_process';
import { QUERY_PAYLOAD } from '../config';
import { startHelper, stopHelper } from '../support/child';
import { cpuMicros, nowNs } from '../support/flow';
import { percentile } from '../support/stats';
import { RunOutput, Scenario, ScenarioState } from '../types';
import { withClient } from './common';

const ROUTING_KEY = 'bench.echo';
const QUERY_TIMEOUT_MS = 5000;
const WARMUP = 20;

let responder: ChildProcess | null = null;

/** The `query` scenario. */
export const query: Scenario = {
  name: 'query',
  title:
    'Kazoo RPC (Msg-ID/Server-ID correlation over `targeted`) against a responder process: round trip at concurrency 1, replies/s at concurrency C.',
  clients: ['kazoo-amqp', 'amqplib', 'amqp-client'],
  metrics: [
    { key: 'p50', label: 'round trip p50 (c=1)', unit: 'µs', better: 'lower' },
    { key: 'p99', label: 'round trip p99 (c=1)', unit: 'µs', better: 'lower' },
    { key: 'rate', label: 'throughput (c=64)', unit: 'replies/s', better: 'higher' },
    { key: 'cpu', label: 'client CPU per query (c=64)', unit: 'µs/query', better: 'lower' },
  ],

  async setup(ctx): Promise<ScenarioState> {
    const exchange = `kazoo-bench.${ctx.runId}`;
    const queue = `kazoo-bench.${ctx.runId}.requests`;
    await ctx.admin.targetedExchange();
    await ctx.admin.exchange(exchange, 'topic');
    await ctx.admin.queue(queue, exchange, [ROUTING_KEY]);
    responder = await startHelper('responder.js', { url: ctx.broker.url, queue }, 15000);
    return { exchange, queue };
  },

  async teardown(ctx, state): Promise<void> {
    if (responder) await stopHelper(responder);
    responder = null;
    if (state.queue) await ctx.admin.deleteQueue(String(state.queue));
    if (state.exchange) await ctx.admin.deleteExchange(String(state.exchange));
  },

  run(task): Promise<RunOutput> {
    const exchange = String(task.state.exchange);
    const { queryLatencyN, queryThroughputN, queryConcurrency } = task.params;
    // Each client as a user configures it by default: kazoo-amqp with amqp_publisher_confirms 1,
    // so its queries go out on their own channel (N+3, no confirm mode); the baselines publish
    // their requests on a plain channel of their own either way (bench/clients/*.ts).
    return withClient(task, true, async (client) => {
      const ask = (): Promise<string> => client.query(exchange, ROUTING_KEY, QUERY_PAYLOAD, QUERY_TIMEOUT_MS);
      for (let i = 0; i < WARMUP; i++) await ask();

      const latencies = new Float64Array(queryLatencyN);
      for (let i = 0; i < queryLatencyN; i++) {
        const t = nowNs();
        await ask();
        latencies[i] = Number(nowNs() - t) / 1e3;
      }

      let issued = 0;
      const loop = async (): Promise<void> => {
        while (issued < queryThroughputN) {
          issued++;
          await ask();
        }
      };
      const c0 = cpuMicros();
      const t0 = nowNs();
      await Promise.all(Array.from({ length: queryConcurrency }, loop));
      const seconds = Number(nowNs() - t0) / 1e9;
      const cpu = (cpuMicros() - c0) / queryThroughputN;
      const all = Array.from(latencies);
      return {
        sample: { p50: percentile(all, 50), p99: percentile(all, 99), rate: queryThroughputN / seconds, cpu },
      };
    });
  },
};
