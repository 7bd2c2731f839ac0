/**
 * What counting costs per message: the stats recorder's hooks, called exactly as the client
 * calls them on the publish, query and delivery paths, timed in a tight loop against the same
 * loop without them. Run after a build: `node dist/bench/stats-cost.js [iterations]`.
 * Prints a Markdown table (ns per message, median of 7 rounds). Not a test: nothing is asserted.
 */
import { performance } from 'node:perf_hooks';
import { parseAmqpConnection } from '../lib/connection-url';
import { LogSink } from '../lib/logger';
import { StatsRecorder } from '../lib/observability/stats-recorder';

const N = Number(process.argv[2] ?? 2_000_000);
const ROUNDS = 7;

const recorder = new StatsRecorder([parseAmqpConnection('amqp://guest:guest@127.0.0.1:5672', 1, 'local')], new LogSink(null), {
  workers: 8,
  backlog: () => 0,
});
recorder.subscribed(1, 'bench-queue');
const waiter = { target: {} };
let sink = 0;

/** One message's worth of hooks per path; `i` stands in for the command id. */
const paths: Record<string, (i: number) => void> = {
  'empty loop (baseline)': (i) => {
    sink += i & 1;
  },
  // What one latency needs at least: the recorder reads the clock once per burst of publishes,
  // once per native batch of confirms, twice per handler run.
  'one clock read (performance.now)': (i) => {
    sink += i & 1;
    sink += recorder.clock() > 0 ? 1 : 0;
  },
  // publish(): sent() after the native call (one event-loop turn here: sends reuse the batch's clock read);
  // confirm batch of 64: batch() once, publishConfirmed() each.
  'publish: sent + confirm': (i) => {
    sink += i & 1;
    recorder.sent(1, i + 1, false);
    if ((i & 63) === 0) recorder.batch();
    recorder.publishConfirmed(1, i + 1);
  },
  'query: sent + answered': (i) => {
    sink += i & 1;
    recorder.sent(1, i + 1, true);
    recorder.queryAnswered(1, 0.8);
  },
  // A no_ack 0 delivery: delivered, handler timed (clock + handled), ack.
  'delivery: delivered + handler timing + ack': (i) => {
    sink += i & 1;
    recorder.delivered(1, 1);
    const t = recorder.clock();
    recorder.handled('kazoo:consumer-event-bench-msg', t);
    recorder.settled(1, 1, true, false);
  },
  'failed publish (nack)': (i) => {
    sink += i & 1;
    recorder.sent(1, i + 1, false);
    recorder.failed(1, i + 1, waiter, { code: 'BROKER_REFUSED' });
  },
};

function time(fn: (i: number) => void): number {
  const start = performance.now();
  for (let i = 0; i < N; i++) fn(i);
  return ((performance.now() - start) * 1e6) / N;
}

const results: Array<[string, number]> = [];
for (const [name, fn] of Object.entries(paths)) {
  time(fn); // warm-up (JIT)
  const samples = Array.from({ length: ROUNDS }, () => time(fn)).sort((a, b) => a - b);
  results.push([name, samples[Math.floor(ROUNDS / 2)]]);
}
const base = results[0][1];
process.stdout.write(`Stats hooks cost (N=${N.toLocaleString('en')}, median of ${ROUNDS} rounds, Node ${process.version})\n\n`);
process.stdout.write('| path | ns per message | hooks alone (ns) |\n|---|---:|---:|\n');
for (const [name, ns] of results) process.stdout.write(`| ${name} | ${ns.toFixed(1)} | ${name.startsWith('empty') ? '—' : (ns - base).toFixed(1)} |\n`);
if (sink === -1) process.stdout.write('\n');
