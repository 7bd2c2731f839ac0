/**
 * Plain-JS equivalents of kazoo-amqp's `encode` and `json`, the baselines of the micro-benchmarks.
 * They follow the module's rules (docs/module-behaviour.md#routing-key-encoding, #json-paths) closely enough to give the same output on the
 * benchmark inputs; the harness checks that and notes any difference.
 */

const SPECIAL: Record<string, string> = {
  '.': '%2E',
  '!': '%21',
  '*': '%2A',
  "'": '%27',
  '(': '%28',
  ')': '%29',
  '%20': '+',
};

/**
 * Routing-key encoding with `encodeURIComponent`: unreserved characters `A–Z a–z 0–9 - _ ~` are
 * kept, space → `+`, `.` and everything else → `%XX` (proper uppercase hex of the UTF-8 bytes);
 * a lone `#` or `*` is kept; output stops once it reached 255 characters (docs/module-behaviour.md#routing-key-encoding).
 */
export function jsEncode(input: string): string {
  if (input === '#' || input === '*') return input;
  const out = encodeURIComponent(input).replace(/[.!*'()]|%20/g, (m) => SPECIAL[m]);
  if (out.length <= 255) return out;
  let end = 0;
  while (end < out.length && end < 255) end += out[end] === '%' ? 3 : 1;
  return out.slice(0, end);
}

function atoi(s: string): number {
  const v = parseInt(s, 10);
  return Number.isNaN(v) ? 0 : v;
}

/**
 * `JSON.parse` plus the module's path walk: split on `.`, `%` stands for a literal dot, optional
 * `[index]` on array values. Returns null for a missing/null value or invalid JSON; strings are
 * returned raw, other values JSON-serialized (compact, unlike json-c's spaced form).
 */
export function jsJson(payload: string, path: string): string | null {
  let v: unknown;
  try {
    v = JSON.parse(payload);
  } catch {
    return null;
  }
  for (const raw of path.split('.')) {
    if (raw === '') continue;
    const seg = raw.includes('%') ? raw.replace(/%/g, '.') : raw;
    const open = seg.indexOf('[');
    const name = open < 0 ? seg : seg.slice(0, open);
    let index: number | null = null;
    if (open >= 0) {
      const close = seg.indexOf(']', open);
      const text = seg.slice(open + 1, close < 0 ? undefined : close);
      if (text !== '') index = atoi(text);
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return null;
    v = (v as Record<string, unknown>)[name];
    if (v === undefined || v === null) return null;
    if (index !== null && Array.isArray(v)) {
      if (index < 0 || index >= v.length) return null;
      v = v[index];
      if (v === undefined || v === null) return null;
    }
  }
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}
