/**
 * Child-process entry: runs one measured repetition ({@link Task}) and sends back a
 * {@link TaskResult} over IPC, then exits. Started by bench/support/child.ts, one per repetition.
 */
import { scenarioByName } from './scenarios';
import { FeatureUnavailable, Task, TaskResult } from './types';

function describe(err: unknown): string {
  if (err instanceof FeatureUnavailable) return err.message;
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    const prefix = typeof code === 'string' || typeof code === 'number' ? `${err.name} ${code}: ` : `${err.name}: `;
    return prefix + err.message;
  }
  return String(err);
}

async function runTask(task: Task): Promise<TaskResult> {
  const scenario = scenarioByName(task.scenario);
  if (!scenario) return { ok: false, kind: 'error', message: `unknown scenario ${task.scenario}` };
  try {
    const out = await scenario.run(task);
    return { ok: true, sample: out.sample, notes: out.notes };
  } catch (err) {
    return { ok: false, kind: err instanceof FeatureUnavailable ? 'unavailable' : 'error', message: describe(err) };
  }
}

process.on('unhandledRejection', (err) => {
  process.stderr.write(`unhandled rejection: ${describe(err)}\n`);
});

process.once('message', (task: Task) => {
  runTask(task).then((result) => {
    // Exit once the result is out: a client that keeps the loop alive after close() must not
    // stall the run (close() problems are reported as notes by the scenario).
    process.send?.(result, () => process.exit(0));
  });
});
