/** Child processes of the harness: one worker per measured repetition, and helper processes. */
import { ChildProcess, fork } from 'child_process';
import * as path from 'path';
import { Task, TaskResult } from '../types';

/** dist/bench/worker.js */
const WORKER = path.resolve(__dirname, '..', 'worker.js');

/** Every live child, so an interrupted run can end them (by pid, ours only). */
const live = new Set<ChildProcess>();

/** Sends SIGKILL to every child this harness started that is still running. */
export function killAllChildren(): void {
  for (const c of live) c.kill('SIGKILL');
  live.clear();
}

function track(child: ChildProcess): ChildProcess {
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/**
 * Runs one task in a fresh worker process and returns its result. A crash, a non-result exit or
 * exceeding the task's time limit becomes an `error` result carrying the tail of the worker's stderr.
 */
export function runWorker(task: Task): Promise<TaskResult> {
  return new Promise((resolve) => {
    const child = track(fork(WORKER, [], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] }));
    let stderr = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (d: string) => {
      stderr = (stderr + d).slice(-4000);
    });
    let result: TaskResult | null = null;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, task.params.taskTimeoutMs);
    child.on('message', (m: TaskResult) => {
      result = m;
    });
    child.once('error', (err) => {
      result ??= { ok: false, kind: 'error', message: `could not start worker: ${err.message}` };
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (result) {
        resolve(result);
        return;
      }
      const tail = stderr.trim().split('\n').slice(-6).join(' | ');
      const how = timedOut
        ? `timed out after ${task.params.taskTimeoutMs} ms`
        : `worker exited (code ${code}, signal ${signal}) without a result`;
      resolve({ ok: false, kind: 'error', message: tail ? `${how}: ${tail}` : how });
    });
    child.send(task);
  });
}

/**
 * Starts a long-lived helper (e.g. dist/bench/responder.js), sends it `start` and waits for its
 * `{ ready: true }` message. Rejects with its error, or after `timeoutMs`.
 */
export function startHelper(script: string, start: object, timeoutMs: number): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = track(fork(path.resolve(__dirname, '..', script), [], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] }));
    let stderr = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (d: string) => {
      stderr = (stderr + d).slice(-2000);
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} not ready after ${timeoutMs} ms ${stderr.trim()}`));
    }, timeoutMs);
    child.once('message', (m: { ready?: boolean; error?: string }) => {
      clearTimeout(timer);
      if (m.ready) resolve(child);
      else {
        child.kill('SIGKILL');
        reject(new Error(`${script}: ${m.error ?? 'failed to start'}`));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited with code ${code} ${stderr.trim()}`));
    });
    child.send(start);
  });
}

/** Ends a helper started with {@link startHelper} and waits for it to exit. */
export function stopHelper(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    if (child.connected) child.disconnect();
    else child.kill('SIGTERM');
  });
}
