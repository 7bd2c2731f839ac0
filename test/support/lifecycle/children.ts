/**
 * Runs the lifecycle children (test/integration/lifecycle.test.ts): a node process or worker
 * thread that loads lib/ from source through ts-register.js and runs one scenario file.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

const REGISTER = join(__dirname, '..', 'ts-register.js');

/** How a child process ended. */
export interface ChildResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Wall time from spawn to exit, ms. */
  elapsedMs: number;
}

/**
 * Runs scenario `name` (test/support/lifecycle/<name>.ts) in a new node process with
 * `nodeArgs`, killing it after `timeoutMs`; resolves with how it ended.
 */
export function runChild(name: string, args: string[], nodeArgs: string[] = [], timeoutMs = 30_000): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, [...nodeArgs, '-r', REGISTER, join(__dirname, `${name}.ts`), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr, elapsedMs: Date.now() - started });
    });
  });
}

/** Starts scenario `name` in a worker thread with `workerData`. */
export function startWorker(name: string, workerData: unknown): Worker {
  const code = `require(${JSON.stringify(REGISTER)}); require(${JSON.stringify(join(__dirname, `${name}.ts`))});`;
  return new Worker(code, { eval: true, workerData });
}
