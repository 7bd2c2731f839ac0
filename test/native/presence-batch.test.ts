import { resolveConfig } from '../../lib/config';
import { foldBatch, foldCollation } from '../../lib/presence/batch';
import { checkTableName, parseDbUrl, redactDbUrl } from '../../lib/presence/db-url';
import { jsonCInt, readPayload } from '../../lib/presence/payload';
import { KEY_COLUMNS, type PresentityRow, type PresentityWrite } from '../../lib/presence/types';
import { errorOf } from '../support/errors';

function row(event: string, domain: string, username: string, etag: string, body: string): PresentityRow {
  return { event, domain, username, etag, sender: 's', body, received_time: 1, expires: 0, priority: 0 };
}

type Table = PresentityRow[];
const matches = (r: PresentityRow, key: PresentityRow, depth: number, fold: (s: string) => string = (s) => s): boolean =>
  KEY_COLUMNS.slice(0, depth).every((c) => fold(r[c]) === fold(key[c]));

/** The module's semantics, one write after the other. */
function sequential(table: Table, writes: PresentityWrite[], fold?: (s: string) => string): Table {
  let t = [...table];
  for (const w of writes) t = [...t.filter((r) => !matches(r, w.row, w.keyColumns, fold)), w.row];
  return t;
}

function folded(table: Table, writes: PresentityWrite[]): Table {
  const f = foldBatch(writes);
  if (f === null) throw new Error('not folded');
  let t = [...table];
  for (const [depth, keys] of f.deletes) {
    t = t.filter((r) => !keys.some((k) => KEY_COLUMNS.slice(0, depth).every((c, i) => r[c] === k[i])));
  }
  return [...t, ...f.inserts];
}

const sortRows = (t: Table): string[] => t.map((r) => JSON.stringify(r)).sort();

describe('foldBatch()', () => {
  it('leaves the same table as the writes one by one (random batches)', () => {
    let seed = 7;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const pick = <T>(xs: T[]): T => xs[rnd(xs.length)];
    for (let round = 0; round < 500; round++) {
      const table: Table = Array.from({ length: rnd(6) }, (_, i) => row(pick(['dialog', 'presence']), pick(['a', 'b']), pick(['1', '2']), `init${i}`, 'i'));
      const writes: PresentityWrite[] = Array.from({ length: 1 + rnd(20) }, (_, i) => ({
        row: row(pick(['dialog', 'presence']), pick(['a', 'b']), pick(['1', '2', '3']), pick(['e1', 'e2', 'init0']), `w${i}`),
        keyColumns: pick([1, 2, 3, 4, 4, 4, 3] as const),
      }));
      expect(sortRows(folded(table, writes))).toEqual(sortRows(sequential(table, writes)));
      const f = foldBatch(writes);
      const keys = f!.inserts.map((r) => KEY_COLUMNS.map((c) => r[c]).join('|'));
      expect(new Set(keys).size).toBe(keys.length);
    }
  });

  it('keeps only the last of several updates to one key', () => {
    const writes: PresentityWrite[] = [1, 2, 3].map((i) => ({ row: row('dialog', 'd', 'u', 'e', `b${i}`), keyColumns: 4 }));
    expect(foldBatch(writes)!.inserts.map((r) => r.body)).toEqual(['b3']);
  });

  it('declines to fold when a case-insensitive collation would decide differently', () => {
    const writes: PresentityWrite[] = [
      { row: row('presence', 'd', 'User', 'e1', 'x'), keyColumns: 4 },
      { row: row('presence', 'd', 'user', 'e2', 'y'), keyColumns: 3 },
    ];
    expect(foldBatch(writes, foldCollation)).toBeNull();
    expect(foldBatch(writes)).not.toBeNull();
    expect(foldBatch([writes[1]], foldCollation)).not.toBeNull();
  });
});

describe('parseDbUrl()', () => {
  it('reads the three backends and the 2600hz kazoo:// SQLite form', () => {
    expect(parseDbUrl('sqlite:///var/lib/k/p.db')).toEqual({ backend: 'sqlite', path: '/var/lib/k/p.db', redacted: 'sqlite:///var/lib/k/p.db' });
    expect(parseDbUrl('kazoo:///etc/kazoo/kamailio/db/kazoo.db')).toMatchObject({ backend: 'sqlite', path: '/etc/kazoo/kamailio/db/kazoo.db' });
    expect(parseDbUrl('postgres://kamailio:s%40cret@db.example:6432/kam')).toEqual({
      backend: 'postgres', host: 'db.example', port: 6432, user: 'kamailio', password: 's@cret', database: 'kam',
      redacted: 'postgres://kamailio:***@db.example:6432/kam',
    });
    expect(parseDbUrl('postgresql://root@127.0.0.1/test')).toMatchObject({ backend: 'postgres', port: 5432, password: undefined });
    expect(parseDbUrl('mysql://root@127.0.0.1/test')).toMatchObject({ backend: 'mysql', port: 3306, user: 'root', database: 'test' });
  });

  it.each(['sqlite://relative.db', 'sqlite://', 'oracle://u@h/db', 'postgres://host/db', 'mysql://u@h/', 'nonsense'])(
    'rejects %s with INVALID_CONFIG',
    (url) => {
      const error = errorOf(() => parseDbUrl(url));
      expect(error.code).toBe('INVALID_CONFIG');
      expect(error.details.param).toBe('db_url');
    },
  );

  it('never shows the password of a bad URL', () => {
    const error = errorOf(() => parseDbUrl('postgres://u:hunter2@h:notaport/db'));
    expect(error.message).not.toContain('hunter2');
    expect(redactDbUrl('mysql://u:p@h/db')).toBe('mysql://u:***@h/db');
  });

  it('accepts plain identifiers as presentity_table, nothing that needs quoting', () => {
    expect(checkTableName('presentity')).toBe('presentity');
    expect(checkTableName('kamailio.presentity')).toBe('kamailio.presentity');
    for (const bad of ['', 'a b', 'p;drop', 'a.b.c', '1abc', 'x"y']) expect(errorOf(() => checkTableName(bad)).code).toBe('INVALID_CONFIG');
  });
});

describe('readPayload()', () => {
  it('reads missing and null fields as "", stringifies non-strings as json-c does', () => {
    const f = readPayload('{"A":"x","N":42,"D":1.50,"B":true,"Z":null,"O":{"k":1},"L":[1,"a"]}');
    expect(['A', 'N', 'D', 'B', 'Z', 'O', 'L', 'Missing'].map((n) => f.text(n))).toEqual(['x', '42', '1.50', 'true', '', '{ "k": 1 }', '[ 1, "a" ]', '']);
  });

  it('accepts json-c lenient JSON and objects', () => {
    expect(readPayload("{'A': 'x', /* c */ 'N': 2,}").text('A')).toBe('x');
    expect(readPayload({ A: 'x', N: 7 }).int('N')).toBe(7);
  });

  it('reads a non-object JSON value as an object without fields', () => {
    expect(readPayload('[1,2]').text('From')).toBe('');
    expect(readPayload('"update"').text('Event-Name')).toBe('');
  });

  it('rejects invalid JSON with INVALID_JSON and other types with INVALID_ARGUMENT', () => {
    expect(errorOf(() => readPayload('{"From": ')).code).toBe('INVALID_JSON');
    expect(errorOf(() => readPayload(42)).code).toBe('INVALID_ARGUMENT');
    expect(errorOf(() => readPayload(null)).code).toBe('INVALID_ARGUMENT');
  });

  it('converts ints as json_object_get_int does', () => {
    expect([jsonCInt(60), jsonCInt(59.9), jsonCInt(-3.7), jsonCInt('120'), jsonCInt(' 12abc'), jsonCInt('x'), jsonCInt(true), jsonCInt(null), jsonCInt(1e12)]).toEqual([
      60, 59, -3, 120, 12, 0, 1, 0, 2147483647,
    ]);
  });
});

describe('presence parameters in resolveConfig()', () => {
  const base = { node_hostname: 'n', amqp_connection: 'amqp://guest:guest@127.0.0.1' };

  it('takes db_url, presentity_table and pua_* without a no-effect warning', () => {
    const c = resolveConfig({ ...base, db_url: 'mysql://root@127.0.0.1/test', presentity_table: 'kam.presentity', pua_mode: 1, pua_include_entity: 0, pua_lock_type: 2 });
    expect(c.warnings).toEqual([]);
    expect([c.db_url, c.presentity_table, c.pua_include_entity, c.pua_lock_type]).toEqual(['mysql://root@127.0.0.1/test', 'kam.presentity', 0, 2]);
  });

  it('rejects a bad db_url at construction with INVALID_CONFIG, password hidden', () => {
    const error = errorOf(() => resolveConfig({ ...base, db_url: 'oracle://kam:topsecret@h/db' }));
    expect(error.code).toBe('INVALID_CONFIG');
    expect(error.details.param).toBe('db_url');
    expect(error.message).toContain('oracle://kam:***@h/db');
    expect(error.message).not.toContain('topsecret');
    expect(errorOf(() => resolveConfig({ ...base, presentity_table: 'presentity; DROP' })).details.param).toBe('presentity_table');
  });
});
