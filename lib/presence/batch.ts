/**
 * Folds a batch of presentity writes (each a DELETE on a key prefix, then an INSERT) into one
 * DELETE per key depth and one multi-row INSERT with the same end state: a row inserted by
 * write j is kept only if no later write's DELETE matches it. Two statements per batch instead of
 * two per write is what lets the network backends keep up with Kazoo. Pure.
 */
import { KEY_COLUMNS, type PresentityRow, type PresentityWrite } from './types';

/** The folded batch. */
export interface FoldedBatch {
  /** Distinct key prefixes to delete, per depth (1..4 key columns). */
  deletes: Map<1 | 2 | 3 | 4, string[][]>;
  /** Rows to insert, in write order; their 4-column keys are distinct. */
  inserts: PresentityRow[];
}

function prefix(row: PresentityRow, depth: number, fold: (s: string) => string): string {
  let key = '';
  for (let i = 0; i < depth; i++) key += `${fold(row[KEY_COLUMNS[i]])}\u0000`;
  return key;
}

const exact = (s: string): string => s;

/**
 * MariaDB/MySQL's usual collations compare case-, accent- and trailing-space-insensitively; this
 * is a coarse superset of that, used only to detect batches whose folding could depend on it.
 */
export const foldCollation = (s: string): string =>
  s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase().replace(/ +$/, '');

function survivors(writes: readonly PresentityWrite[], fold: (s: string) => string): boolean[] {
  const later: Array<Set<string>> = [new Set(), new Set(), new Set(), new Set()];
  const keep = new Array<boolean>(writes.length);
  for (let j = writes.length - 1; j >= 0; j--) {
    const { row, keyColumns } = writes[j];
    let kept = true;
    for (let depth = 1; depth <= 4 && kept; depth++) {
      if (later[depth - 1].size > 0 && later[depth - 1].has(prefix(row, depth, fold))) kept = false;
    }
    keep[j] = kept;
    later[keyColumns - 1].add(prefix(row, keyColumns, fold));
  }
  return keep;
}

/**
 * Folds `writes`. With `collation` given, returns `null` when the result would differ between
 * exact comparison and that collation's (the caller then runs the writes one by one).
 */
export function foldBatch(writes: readonly PresentityWrite[], collation?: (s: string) => string): FoldedBatch | null {
  const keep = survivors(writes, exact);
  if (collation !== undefined) {
    const loose = survivors(writes, collation);
    if (loose.some((k, i) => k !== keep[i])) return null;
  }
  const deletes = new Map<1 | 2 | 3 | 4, string[][]>();
  const seen = new Set<string>();
  for (const { row, keyColumns } of writes) {
    const key = `${keyColumns}\u0000${prefix(row, keyColumns, exact)}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const values = KEY_COLUMNS.slice(0, keyColumns).map((c) => row[c]);
    const list = deletes.get(keyColumns);
    if (list) list.push(values);
    else deletes.set(keyColumns, [values]);
  }
  return { deletes, inserts: writes.filter((_, i) => keep[i]).map((w) => w.row) };
}
