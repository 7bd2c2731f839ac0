/**
 * Shared vocabulary of the benchmark harness: client ids, scenario shape, results.
 *
 * A scenario runs in two places. The harness process (bench/run.ts) owns broker setup, preloads,
 * cleanup and the repetition order; each measured repetition runs in a fresh child process
 * (bench/worker.ts, or the C ceiling binary) so that clients never share an event loop, a heap or
 * a JIT warm-up, and a crashing client cannot take the harness down.
 */
import type { Admin } from './support/broker';

/** Every client the harness knows. `plain-js` is the baseline of the encode/json micro-benchmarks. */
export type ClientId = 'kazoo-amqp' | 'amqplib' | 'amqp-client' | 'ceiling' | 'plain-js';

/** The client every ratio is computed for. */
export const SUBJECT: ClientId = 'kazoo-amqp';

/** One number a scenario reports per repetition. */
export interface MetricSpec {
  /** Short key, e.g. `rate`, `p99`. */
  key: string;
  /** Human label for tables and charts, e.g. `throughput`, `round trip p99`. */
  label: string;
  /** Unit shown next to the numbers, e.g. `msg/s`, `µs`. */
  unit: string;
  /** Whether a bigger number is the better one (drives the ratio wording). */
  better: 'higher' | 'lower';
}

/** Metric values of one repetition, keyed by {@link MetricSpec.key}. */
export type Sample = Record<string, number>;

/** Sizes and durations for one run (quick or full). */
export interface RunParams {
  quick: boolean;
  repetitions: number;
  publishN: number;
  publishConfirmN: number;
  consumeN: number;
  queryLatencyN: number;
  queryThroughputN: number;
  queryConcurrency: number;
  eventLoopMs: number;
  microOps: number;
  /** Promise-based publishers keep at most this many publish() calls unresolved. */
  publishWindow: number;
  /** Prefetch (basic.qos) of every consumer. */
  prefetch: number;
  /** Per-repetition wall-clock limit for a child process. */
  taskTimeoutMs: number;
}

/** Broker coordinates shared by the harness, workers and the ceiling binary. */
export interface BrokerInfo {
  url: string;
  host: string;
  port: number;
  vhost: string;
  user: string;
  password: string;
}

/**
 * Names and values a scenario's harness side hands to every repetition of every client.
 * Plain JSON: it crosses the process boundary as the worker's task.
 */
export type ScenarioState = Record<string, string | number | boolean>;

/** What a child process is asked to do: one repetition of one client in one scenario. */
export interface Task {
  scenario: string;
  client: ClientId;
  repetition: number;
  params: RunParams;
  broker: BrokerInfo;
  state: ScenarioState;
  /** Unique per harness run; used in names (node_hostname, reply queues). */
  runId: string;
}

/** A client could not take part because a feature it needs is missing (not a measurement failure). */
export class FeatureUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FeatureUnavailable';
  }
}

/** The child's answer for one {@link Task}. */
export type TaskResult =
  | { ok: true; sample: Sample; notes?: string[] }
  | { ok: false; kind: 'unavailable' | 'error'; message: string };

/** Context the harness side of a scenario gets. */
export interface HarnessContext {
  /** The harness's management connection. */
  admin: Admin;
  params: RunParams;
  broker: BrokerInfo;
  runId: string;
  /** Prints a line below the progress bar (notes, warnings). */
  log(line: string): void;
}

/**
 * A benchmark scenario. The harness calls, in order: `setup` once, then for every repetition and
 * client (interleaved ABCD ABCD …) `beforeEach` → the measured child run → `afterEach`, and finally
 * `teardown` (always, also after failures).
 */
export interface Scenario {
  name: string;
  /** One sentence for the table heading and docs. */
  title: string;
  /** Clients measured, in table order; the subject first. */
  clients: ClientId[];
  metrics: MetricSpec[];
  setup(ctx: HarnessContext): Promise<ScenarioState>;
  beforeEach?(ctx: HarnessContext, state: ScenarioState, client: ClientId): Promise<void>;
  /** May return notes about the repetition just run (e.g. messages left behind). */
  afterEach?(ctx: HarnessContext, state: ScenarioState, client: ClientId): Promise<string[] | void>;
  teardown(ctx: HarnessContext, state: ScenarioState): Promise<void>;
  /**
   * Runs one measured repetition inside the child process. Not called for `ceiling`: the harness
   * runs the C binary itself through {@link Scenario.ceiling}.
   */
  run(task: Task): Promise<RunOutput>;
  /**
   * Mode and arguments for the ceiling binary, and how to turn its elapsed time into a sample.
   * Present only on scenarios that include `ceiling`.
   */
  ceiling?(task: Task): CeilingPlan;
}

/** What one measured repetition produced. */
export interface RunOutput {
  sample: Sample;
  /** Facts worth printing under the table (e.g. an output mismatch between implementations). */
  notes?: string[];
}

/** How the harness runs the ceiling binary for one repetition. */
export interface CeilingPlan {
  mode: 'publish' | 'publish-confirm' | 'consume';
  args: string[];
  /** `cpuUs`: the ceiling process's user + system CPU over the timed section. */
  toSample(elapsedNs: number, n: number, cpuUs: number): Sample;
}

/** Per-client outcome of a scenario, as stored in the JSON results. */
export interface ClientResult {
  client: ClientId;
  status: 'ok' | 'unavailable' | 'error' | 'skipped';
  /** Why it is not `ok` (first failure). */
  message?: string;
  samples: Sample[];
  notes: string[];
}

/** One scenario's results, as stored in the JSON results. */
export interface ScenarioResult {
  name: string;
  title: string;
  metrics: MetricSpec[];
  clients: ClientResult[];
  /** Set when the scenario as a whole could not run (setup failed). */
  error?: string;
}
