/**
 * Runs the `kazoo-amqp` command (bin/kazoo-amqp.js, over dist/) as a child process for the
 * command's integration tests, collecting stdout and stderr together.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

/** The command's entry file. */
export const BIN = resolve(__dirname, '../../bin/kazoo-amqp.js');

/** A running `kazoo-amqp` child. */
export interface CliRun {
  child: ChildProcess;
  /** Everything it printed so far (stdout and stderr, interleaved as received). */
  output: () => string;
  /** Its exit, with the time it happened. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

/** Throws unless dist/ has the command's code (the tests run the compiled command). */
export function requireBuiltCli(): void {
  if (!existsSync(resolve(__dirname, '../../dist/lib/kemi/cli.js'))) throw new Error('dist/ is missing: run npm run build first');
}

/** Starts `kazoo-amqp <args>` in `cwd`. */
export function startCli(args: string[], cwd: string): CliRun {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout?.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (text += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((r) =>
    child.on('exit', (code, signal) => r({ code, signal, at: Date.now() })),
  );
  return { child, output: () => text, exited };
}
