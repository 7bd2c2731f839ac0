/** The timing loop of the encode/json micro-benchmarks. */
import { nowNs } from './flow';

/**
 * Calls `fn(inputs[i % inputs.length])` `ops` times after `ops / 10` untimed warm-up calls and
 * returns calls per second. Output lengths are folded into a checksum so the calls cannot be
 * optimized away.
 */
export function opsPerSecond<I>(inputs: readonly I[], ops: number, fn: (input: I) => unknown): number {
  let sink = 0;
  const len = inputs.length;
  const warm = Math.max(1000, Math.floor(ops / 10));
  for (let i = 0; i < warm; i++) sink += String(fn(inputs[i % len]) ?? '').length;
  const t0 = nowNs();
  for (let i = 0; i < ops; i++) {
    const r = fn(inputs[i % len]);
    sink += typeof r === 'string' ? r.length : 1;
  }
  const seconds = Number(nowNs() - t0) / 1e9;
  if (sink === -1) process.stderr.write('unreachable\n');
  return ops / seconds;
}
