/**
 * Benchmark harness entry point (`npm run bench`).
 *
 * For each selected scenario: set up broker entities, then run every client once per repetition,
 * interleaved (A B C D, A B C D, …), each repetition in a fresh child process (the ceiling binary
 * for `ceiling`), and tear down. Prints a Markdown table per scenario; optionally writes JSON and
 * SVG. Never judges the numbers: the exit status only says whether everything could run.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { FULL, QUICK, brokerFromEnv } from './config';
import { SCENARIOS } from './scenarios';
import { buildCeiling, runCeiling } from './clients/ceiling';
import { parseArgs, USAGE, CliOptions } from './support/args';
import { Admin } from './support/broker';
import { killAllChildren, runWorker } from './support/child';
import { createProgress } from './support/progress';
import { renderScenarioSvg } from './support/svg';
import { renderHeadlines } from './support/headline';
import { renderScenarioTable } from './support/table';
import { summarize } from './support/stats';
import {
  BrokerInfo,
  ClientId,
  ClientResult,
  HarnessContext,
  RunParams,
  Scenario,
  ScenarioResult,
  ScenarioState,
  Task,
  TaskResult,
} from './types';

const ROOT = path.resolve(__dirname, '..', '..');
const ALL_CLIENTS: ClientId[] = ['kazoo-amqp', 'amqplib', 'amqp-client', 'ceiling', 'plain-js'];

/** Facts about the machine and software of this run (printed and stored in the JSON). */
interface Environment {
  date: string;
  runId: string;
  mode: 'quick' | 'full';
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  os: string;
  node: string;
  broker: string;
  rabbitmqC: string;
  kazooAmqp: string;
  amqplib: string;
  amqpClient: string;
}

function pkgVersion(dir: string): string {
  try {
    return (JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version?: string }).version ?? '?';
  } catch {
    return '?';
  }
}

function environment(runId: string, params: RunParams, brokerVersion: string): Environment {
  let rabbitmqC = 'unknown';
  try {
    rabbitmqC = execFileSync('pkg-config', ['--modversion', 'librabbitmq'], { encoding: 'utf8' }).trim();
  } catch {
    // pkg-config missing: the ceiling will say so too
  }
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    runId,
    mode: params.quick ? 'quick' : 'full',
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    broker: `RabbitMQ ${brokerVersion}`,
    rabbitmqC,
    kazooAmqp: pkgVersion(ROOT),
    amqplib: pkgVersion(path.join(ROOT, 'node_modules', 'amqplib')),
    amqpClient: pkgVersion(path.join(ROOT, 'node_modules', '@cloudamqp', 'amqp-client')),
  };
}

function describeEnvironment(env: Environment, params: RunParams): string {
  return [
    `## kazoo-amqp benchmarks (${env.mode} run, ${env.date})`,
    '',
    `- Machine: ${env.cpus} × ${env.cpuModel}, ${env.memoryGiB} GiB, ${env.os}`,
    `- Software: Node ${env.node}, ${env.broker}, rabbitmq-c ${env.rabbitmqC}, kazoo-amqp ${env.kazooAmqp}, amqplib ${env.amqplib}, @cloudamqp/amqp-client ${env.amqpClient}`,
    `- Sizes: publish N=${params.publishN}, publish-confirm N=${params.publishConfirmN}, consume N=${params.consumeN}, ` +
      `query ${params.queryLatencyN} sequential + ${params.queryThroughputN} at c=${params.queryConcurrency}, ` +
      `event-loop D=${params.eventLoopMs} ms, micro ${params.microOps} ops; window W=${params.publishWindow}, prefetch P=${params.prefetch}; ` +
      `${params.repetitions} interleaved repetitions per client`,
    '',
  ].join('\n');
}

function makeTask(scenario: Scenario, client: ClientId, rep: number, ctx: HarnessContext, state: ScenarioState): Task {
  return { scenario: scenario.name, client, repetition: rep, params: ctx.params, broker: ctx.broker, state, runId: ctx.runId };
}

async function runCeilingTask(scenario: Scenario, task: Task): Promise<TaskResult> {
  if (!scenario.ceiling) return { ok: false, kind: 'error', message: `${scenario.name} has no ceiling variant` };
  const plan = scenario.ceiling(task);
  try {
    const r = await runCeiling(task.broker, plan.mode, plan.args, task.params.taskTimeoutMs);
    return { ok: true, sample: plan.toSample(r.elapsedNs, r.n, r.cpuUs) };
  } catch (err) {
    return { ok: false, kind: 'error', message: (err as Error).message };
  }
}

function makeRunId(): string {
  return `${Date.now().toString(36)}${Math.floor(Math.random() * 36 ** 3).toString(36)}`;
}

async function main(opts: CliOptions): Promise<number> {
  const base = opts.quick ? QUICK : FULL;
  const params: RunParams = { ...base, repetitions: opts.repetitions ?? base.repetitions };

  let scenarios: Scenario[] = [...SCENARIOS];
  if (opts.only) {
    const unknown = opts.only.filter((n) => !SCENARIOS.some((s) => s.name === n));
    if (unknown.length) throw new UsageError(`bench: unknown scenario(s) ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`);
    scenarios = SCENARIOS.filter((s) => opts.only!.includes(s.name));
  }
  let clientFilter: ClientId[] | null = null;
  if (opts.clients) {
    const unknown = opts.clients.filter((c) => !ALL_CLIENTS.includes(c as ClientId));
    if (unknown.length) throw new UsageError(`bench: unknown client(s) ${unknown.join(', ')}; known: ${ALL_CLIENTS.join(', ')}`);
    clientFilter = opts.clients as ClientId[];
  }
  const clientsOf = (s: Scenario): ClientId[] => s.clients.filter((c) => !clientFilter || clientFilter.includes(c));

  let broker: BrokerInfo;
  try {
    broker = brokerFromEnv();
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const runId = makeRunId();
  let admin: Admin;
  try {
    admin = await Admin.connect(broker);
  } catch (err) {
    process.stderr.write(`bench: cannot reach the broker at ${broker.host}:${broker.port}: ${(err as Error).message}\n`);
    return 1;
  }

  const needsCeiling = scenarios.some((s) => clientsOf(s).includes('ceiling'));
  const ceilingError = needsCeiling ? buildCeiling() : null;
  const env = environment(runId, params, admin.brokerVersion());

  const progress = createProgress();
  const ctx: HarnessContext = { admin, params, broker, runId, log: (l) => progress.log(l) };
  let interrupted = false;
  const onSignal = (): void => {
    if (interrupted) process.exit(130);
    interrupted = true;
    progress.log('bench: interrupted; cleaning up (interrupt again to quit at once)…');
    // The run loop notices the flag, tears the scenario down and deletes what it declared.
    killAllChildren();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const total = scenarios.reduce((sum, s) => sum + clientsOf(s).length * params.repetitions, 0);
  progress.start(total);
  const results: ScenarioResult[] = [];

  for (const scenario of scenarios) {
    if (interrupted) break;
    const clients = clientsOf(scenario);
    const result: ScenarioResult = {
      name: scenario.name,
      title: scenario.title,
      metrics: scenario.metrics,
      clients: clients.map((client): ClientResult => ({ client, status: 'ok', samples: [], notes: [] })),
    };
    results.push(result);
    if (clients.length === 0) continue;
    const byClient = new Map(result.clients.map((c) => [c.client, c]));
    if (ceilingError && byClient.has('ceiling')) {
      const c = byClient.get('ceiling')!;
      c.status = 'error';
      c.message = `could not build bench/ceiling: ${ceilingError}`;
    }

    let state: ScenarioState = {};
    try {
      progress.update({ scenario: scenario.name, client: 'setup', rep: 0, reps: params.repetitions });
      state = await scenario.setup(ctx);
    } catch (err) {
      result.error = `setup failed: ${(err as Error).message}`;
      for (const c of result.clients) {
        c.status = 'error';
        c.message = result.error;
      }
      for (let i = 0; i < clients.length * params.repetitions; i++) progress.tick();
      await scenario.teardown(ctx, state).catch(() => {});
      continue;
    }
    try {
      for (let rep = 1; rep <= params.repetitions; rep++) {
        for (const client of clients) {
          const cr = byClient.get(client)!;
          if (interrupted) break;
          if (cr.status !== 'ok') {
            progress.tick();
            continue;
          }
          progress.update({ scenario: scenario.name, client, rep, reps: params.repetitions });
          const task = makeTask(scenario, client, rep, ctx, state);
          let r: TaskResult;
          try {
            await scenario.beforeEach?.(ctx, state, client);
            r = client === 'ceiling' ? await runCeilingTask(scenario, task) : await runWorker(task);
            const notes = await scenario.afterEach?.(ctx, state, client);
            if (notes) cr.notes.push(...notes);
          } catch (err) {
            r = { ok: false, kind: 'error', message: `harness step failed: ${(err as Error).message}` };
          }
          if (r.ok) {
            cr.samples.push(r.sample);
            if (r.notes) cr.notes.push(...r.notes);
          } else {
            cr.status = r.kind;
            cr.message = r.message;
            ctx.log(`${scenario.name} / ${client}: ${r.kind === 'unavailable' ? 'NOT AVAILABLE' : 'FAILED'}: ${r.message}`);
          }
          progress.tick();
        }
      }
    } finally {
      await scenario.teardown(ctx, state).catch((err: Error) => ctx.log(`${scenario.name}: teardown failed: ${err.message}`));
    }
  }
  progress.stop();
  await admin.cleanupAndClose();
  if (interrupted) {
    process.stderr.write('bench: interrupted; broker entities of this run were deleted\n');
    return 130;
  }

  const out: string[] = [describeEnvironment(env, params)];
  const headlines = renderHeadlines(results);
  if (headlines) out.push(headlines);
  for (const r of results) out.push(renderScenarioTable(r));
  process.stdout.write(out.join('\n'));

  if (opts.json) {
    const doc = {
      environment: env,
      params,
      scenarios: results.map((r) => ({
        ...r,
        summary: Object.fromEntries(
          r.clients.map((c) => [
            c.client,
            Object.fromEntries(r.metrics.map((m) => [m.key, summarize(c.samples.map((s) => s[m.key]))])),
          ]),
        ),
      })),
    };
    fs.mkdirSync(path.dirname(path.resolve(opts.json)), { recursive: true });
    fs.writeFileSync(opts.json, JSON.stringify(doc, null, 2) + '\n');
    process.stderr.write(`bench: wrote ${opts.json}\n`);
  }
  if (opts.svg) {
    fs.mkdirSync(opts.svg, { recursive: true });
    for (const r of results) {
      const svg = renderScenarioSvg(r);
      if (svg) fs.writeFileSync(path.join(opts.svg, `${r.name}.svg`), svg);
    }
    process.stderr.write(`bench: wrote SVG charts to ${opts.svg}\n`);
  }

  const failed = results.some((r) => r.error || r.clients.some((c) => c.status !== 'ok'));
  if (failed) process.stderr.write('bench: some scenarios or clients could not run (see the tables)\n');
  return failed ? 1 : 0;
}

class UsageError extends Error {}

let opts: CliOptions;
try {
  opts = parseArgs(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n\n${USAGE}\n`);
  process.exit(2);
}
if (opts.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
main(opts).then(
  (code) => process.exit(code),
  (err: Error) => {
    killAllChildren();
    if (err instanceof UsageError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`bench: ${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);
