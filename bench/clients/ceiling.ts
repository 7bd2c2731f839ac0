/**
 * The ceiling: bench/ceiling/ceiling.c, bare rabbitmq-c with no JSON work. Built on demand with
 * the system compiler and run as a child process per repetition.
 */
import { execFile, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { BrokerInfo } from '../types';

/** Project root (dist/bench/clients → ../../..). */
const ROOT = path.resolve(__dirname, '..', '..', '..');
/** The C source. */
export const CEILING_SOURCE = path.join(ROOT, 'bench', 'ceiling', 'ceiling.c');
/** The binary (git-ignored). */
export const CEILING_BINARY = path.join(ROOT, 'bench', 'ceiling', 'ceiling');

/**
 * Builds the ceiling when the binary is missing or older than its source. Returns null on
 * success, or the reason it could not be built (compiler or librabbitmq missing, compile error).
 */
export function buildCeiling(): string | null {
  try {
    if (fs.existsSync(CEILING_BINARY) && fs.statSync(CEILING_BINARY).mtimeMs >= fs.statSync(CEILING_SOURCE).mtimeMs) {
      return null;
    }
  } catch (err) {
    return `cannot stat ${CEILING_SOURCE}: ${(err as Error).message}`;
  }
  const pc = spawnSync('pkg-config', ['--cflags', '--libs', 'librabbitmq'], { encoding: 'utf8' });
  if (pc.error || pc.status !== 0) {
    return `pkg-config --cflags --libs librabbitmq failed (${pc.error?.message ?? pc.stderr.trim()}); install librabbitmq-dev`;
  }
  const flags = pc.stdout.trim().split(/\s+/).filter(Boolean);
  const cc = process.env.CC || 'cc';
  const r = spawnSync(cc, ['-O2', CEILING_SOURCE, '-o', CEILING_BINARY, ...flags], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    return `${cc} failed: ${r.error?.message ?? r.stderr.trim().split('\n').slice(0, 5).join(' ')}`;
  }
  return null;
}

/** Output of one ceiling run. */
export interface CeilingResult {
  elapsedNs: number;
  n: number;
  /** User + system CPU of the timed section (getrusage of the ceiling process), µs. */
  cpuUs: number;
}

/**
 * Runs the ceiling once: `ceiling <mode> host port vhost user ...args`, with the password in the
 * environment (BENCH_AMQP_PASSWORD), not on the command line. Rejects with the program's own
 * error text when it fails or exceeds `timeoutMs`.
 */
export function runCeiling(broker: BrokerInfo, mode: string, args: string[], timeoutMs: number): Promise<CeilingResult> {
  const argv = [mode, broker.host, String(broker.port), broker.vhost, broker.user, ...args];
  const env = { ...process.env, BENCH_AMQP_PASSWORD: broker.password };
  return new Promise((resolve, reject) => {
    execFile(CEILING_BINARY, argv, { timeout: timeoutMs, maxBuffer: 1 << 20, env }, (err, stdout, stderr) => {
      const line = stdout.trim().split('\n').pop() ?? '';
      let parsed: { ok?: boolean; elapsed_ns?: number; n?: number; cpu_us?: number; error?: string } | null = null;
      try {
        parsed = JSON.parse(line);
      } catch {
        parsed = null;
      }
      if (
        parsed &&
        parsed.ok === true &&
        typeof parsed.elapsed_ns === 'number' &&
        typeof parsed.n === 'number' &&
        typeof parsed.cpu_us === 'number'
      ) {
        resolve({ elapsedNs: parsed.elapsed_ns, n: parsed.n, cpuUs: parsed.cpu_us });
        return;
      }
      const why =
        parsed?.error ??
        (err && (err as NodeJS.ErrnoException & { killed?: boolean }).killed
          ? `timed out after ${timeoutMs} ms`
          : err?.message ?? `unexpected output: ${line.slice(0, 200)}`);
      reject(new Error(`ceiling ${mode}: ${why}${stderr.trim() ? ` (${stderr.trim().slice(0, 200)})` : ''}`));
    });
  });
}
