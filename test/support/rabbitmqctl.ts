/**
 * The one `rabbitmqctl` helper of the integration tests: run a command, read `list_*` output as
 * JSON objects or as tab-separated rows, and a queue's message and consumer counts.
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);
const OPTIONS = { maxBuffer: 64 * 1024 * 1024, timeout: 120_000 };

/** Runs `rabbitmqctl ...args` and returns its standard output (rejects on a non-zero exit). */
export async function rabbitmqctl(...args: string[]): Promise<string> {
  const { stdout } = await execFileP('rabbitmqctl', args, OPTIONS);
  return stdout;
}

/** Runs `rabbitmqctl ...args` synchronously, output ignored (for `finally` blocks that must not be skipped). */
export function rabbitmqctlSync(...args: string[]): void {
  execFileSync('rabbitmqctl', args, { stdio: 'ignore', timeout: OPTIONS.timeout });
}

/** One `rabbitmqctl list_*` as JSON objects keyed by column. */
export async function listJson<T>(command: string, ...columns: string[]): Promise<T[]> {
  const text = (await rabbitmqctl(command, ...columns, '--formatter', 'json', '-q')).trim();
  return text === '' ? [] : (JSON.parse(text) as T[]);
}

/** One `rabbitmqctl list_*` as tab-separated rows (full Erlang pids, usable by close_connection). */
export async function listRows(command: string, ...columns: string[]): Promise<string[][]> {
  return (await rabbitmqctl(command, ...columns, '-s'))
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => l.split('\t'));
}

/** A queue's counts as `list_queues` reports them. */
export interface QueueCounts {
  name: string;
  messages: number;
  messages_ready: number;
  messages_unacknowledged: number;
  consumers: number;
}

/** The counts of `queue`, or undefined when the broker has no such queue. */
export async function queueCounts(queue: string): Promise<QueueCounts | undefined> {
  const rows = await listJson<QueueCounts>('list_queues', 'name', 'messages', 'messages_ready', 'messages_unacknowledged', 'consumers');
  return rows.find((r) => r.name === queue);
}
