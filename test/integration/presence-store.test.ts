/**
 * kazoo.puaPublish* against the real databases: PostgreSQL and MariaDB of this machine, and an
 * SQLite file under os.tmpdir(). No broker: the clients never call connect().
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Kazoo, type KazooConfig, type PuaResult } from '../../lib';
import { openTestDb, uniqueTable, type TestDb } from '../support/presentity-db';
import { call, dialog, expectedTable, maskTimes, mwi, presence, SEQUENCE } from '../support/presence-sequence';

const execFileP = promisify(execFile);

function client(db: TestDb, table: string, extra: Partial<KazooConfig> = {}): Kazoo {
  return new Kazoo({ node_hostname: 'presence.test', amqp_connection: 'amqp://guest:guest@127.0.0.1:5672', db_url: db.url, presentity_table: table, ...extra });
}

/** A small XML well-formedness check: declaration, balanced tags, quoted attributes, known entities. */
function wellFormed(xml: string): boolean {
  const decl = '<?xml version="1.0" encoding="UTF-8"?>';
  if (!xml.startsWith(decl)) return false;
  const token = /<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+="[^"<&]*(?:&(?:amp|lt|gt|quot|apos);[^"<&]*)*")*)\s*(\/?)>|[^<&]+|&(?:amp|lt|gt|quot|apos);/y;
  const stack: string[] = [];
  let roots = 0;
  token.lastIndex = decl.length;
  while (token.lastIndex < xml.length) {
    const m = token.exec(xml);
    if (m === null) return false;
    if (m[2] === undefined) continue;
    if (m[1] === '/') {
      if (stack.pop() !== m[2]) return false;
    } else if (m[4] !== '/') {
      if (stack.length === 0) roots++;
      stack.push(m[2]);
    }
  }
  return stack.length === 0 && roots === 1;
}

describe.each(['sqlite', 'postgres', 'mysql'] as const)('kazoo.puaPublish* on %s', (backend) => {
  let db: TestDb;
  const tables: string[] = [];
  const clients: Kazoo[] = [];
  const table = (what: string): string => {
    const t = uniqueTable(what);
    tables.push(t);
    return t;
  };
  const open = (t: string, extra: Partial<KazooConfig> = {}): Kazoo => {
    const k = client(db, t, extra);
    clients.push(k);
    return k;
  };

  beforeAll(async () => {
    db = await openTestDb(backend);
  });

  afterAll(async () => {
    await Promise.all(clients.map((k) => k.close()));
    const q = backend === 'mysql' ? '`' : '"';
    for (const t of tables) {
      await db.exec(`DROP TABLE IF EXISTS ${q}${t}${q}`);
      await db.exec(`DELETE FROM version WHERE table_name = ${backend === 'postgres' ? '$1' : '?'}`, [t]).catch(() => undefined);
    }
    await db.close();
  });

  it('leaves exactly the module table after several dozen updates, creating the table (schema v5)', async () => {
    const t = table('seq');
    const k = open(t);
    const t0 = Math.floor(Date.now() / 1000);
    const results: PuaResult[] = [];
    for (const step of SEQUENCE) results.push(await call(k, step));
    const t1 = Math.floor(Date.now() / 1000);

    expect(results.filter((r) => !r.written).map((r) => (r.written ? '' : r.reason))).toEqual([
      'missing-field', 'missing-field', 'not-update', 'unknown-package', 'not-update', 'missing-field',
    ]);
    const stored = await db.rows(t);
    expect(maskTimes(stored, t0, t1)).toEqual(expectedTable(SEQUENCE).map((r) => ({ ...r, received_time: 0 })));
    // Spot checks that do not go through rows.ts: Expires as now + N, an escaped-free body.
    const callA = stored.find((r) => r.etag === 'call-a');
    expect(callA?.expires).toBe((callA?.received_time ?? 0) + 1);
    expect(callA?.body).toContain('<state>terminated</state>');
    expect(stored.find((r) => r.etag === '')?.body).toContain('<dialog call-id="76001e23e09704ea9e1257ebea85e1f3" direction="initiator">');
    expect(stored.filter((r) => r.event === 'message-summary' && r.username === '1000')).toHaveLength(1);

    const version = await db.exec(`SELECT table_version FROM version WHERE table_name = ${backend === 'postgres' ? '$1' : '?'}`, [t]);
    expect(Number((version[0] as { table_version: unknown }).table_version)).toBe(5);
  });

  it("creates Kamailio's indexes and unique key, also for a schema-qualified table name", async () => {
    const t = table('schema');
    const schema = backend === 'postgres' ? 'public' : backend === 'mysql' ? 'test' : 'main';
    const k = open(t, { presentity_table: `${schema}.${t}` });
    await k.puaPublish(presence('8000', 'early'));
    expect((await db.rows(t)).map((r) => r.username)).toEqual(['8000']);
    const names =
      backend === 'postgres'
        ? (await db.exec('SELECT indexname AS name FROM pg_indexes WHERE tablename = $1', [t])).map((r) => (r as { name: string }).name)
        : backend === 'mysql'
          ? (await db.exec('SELECT DISTINCT INDEX_NAME AS name FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?', [t])).map((r) => (r as { name: string }).name)
          : (await db.exec(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?`, [t])).map((r) => (r as { name: string }).name);
    const expected =
      backend === 'mysql'
        ? ['PRIMARY', 'presentity_idx', 'ruid_idx', 'presentity_expires', 'account_idx']
        : backend === 'postgres'
          ? [`${t}_pkey`, `${t}_presentity_idx`, `${t}_ruid_idx`, `${t}_presentity_expires`, `${t}_account_idx`]
          : [`sqlite_autoindex_${t}_1`, `sqlite_autoindex_${t}_2`, `${t}_presentity_expires`, `${t}_account_idx`];
    expect([...names].sort()).toEqual([...expected].sort());
    // The unique key is Kamailio's: a second row with the same four key values is refused, and
    // refused as a duplicate key (a refusal for any other reason would prove nothing). Matched by
    // the driver's code, not with toThrow(), which only counts errors of this file's realm.
    const q = backend === 'mysql' ? '`' : '"';
    const p = (i: number): string => (backend === 'postgres' ? `$${i}` : '?');
    const insert = `INSERT INTO ${q}${t}${q} (username, domain, event, etag, expires, received_time, body, sender) VALUES (${[1, 2, 3, 4, 5, 6, 7, 8].map(p).join(', ')})`;
    const duplicateKey = backend === 'postgres' ? '23505' : backend === 'mysql' ? 'ER_DUP_ENTRY' : 'SQLITE_CONSTRAINT_UNIQUE';
    await expect(db.exec(insert, ['8000', 'example.com', 'presence', 'pres-8000', 0, 0, Buffer.from('x'), 's'])).rejects.toMatchObject({ code: duplicateKey });
  });

  it('writes dialog bodies without targets under pua_include_entity 0', async () => {
    const t = table('noent');
    const k = open(t, { pua_include_entity: 0 });
    await k.puaPublish(dialog('2000', 'call-x'));
    const [row] = await db.rows(t);
    expect(row.body).not.toContain('<target');
    expect(row.body).toBe(expectedTable([{ entry: 'publish', payload: dialog('2000', 'call-x') }], false)[0].body);
  });

  it('stores XML-special and SQL-special values escaped and intact', async () => {
    const t = table('esc');
    const k = open(t);
    const nasty = `O'Brien "&" <b> \\ '; DROP TABLE x; -- é☃😀`;
    const result = await k.puaPublish(dialog(nasty, nasty, { 'From-Realm': `d'q"` }));
    expect(result).toEqual({ written: true, event: 'dialog', domain: `d'q"`, username: nasty, etag: nasty });
    const [row] = await db.rows(t);
    expect(row.username).toBe(nasty);
    const esc = nasty.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
    expect(row.body).toContain(`call-id="${esc}" local-tag="ft-${esc}"`);
    expect(row.body).toContain(`<identity display="${esc}">sip:${esc}@example.com</identity>`);
    expect(wellFormed(row.body)).toBe(true);
    expect(wellFormed(row.body.replace('&amp;', '&'))).toBe(false);
  });

  it('keeps the last of 1,000 concurrent updates over 50 presentities', async () => {
    const t = table('conc');
    const k = open(t);
    const pending: Array<Promise<PuaResult>> = [];
    for (let i = 0; i < 1000; i++) {
      const user = `u${i % 50}`;
      pending.push(k.puaPublish(dialog(user, `call-${user}`, { 'Dialog-ID': `seq-${i}`, 'Flush-Level': i % 3 === 0 ? 1 : 0 })));
    }
    const results = await Promise.all(pending);
    expect(results.every((r) => r.written)).toBe(true);
    const rows = await db.rows(t);
    expect(rows).toHaveLength(50);
    for (const row of rows) {
      const n = Number(row.username.slice(1));
      expect(row.body).toContain(`<dialog id="seq-${950 + n}"`);
    }
  });

  it('refuses Flush-Level 4 with INVALID_ARGUMENT and deletes nothing', async () => {
    const t = table('flush');
    const k = open(t);
    await k.puaPublish(dialog('3000', 'keep-me'));
    await expect(k.puaPublish(dialog('3001', 'wipe', { 'Flush-Level': 4 }))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(k.puaPublishDialoginfo(dialog('3001', 'wipe', { 'Flush-Level': '9' }))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect((await db.rows(t)).map((r) => r.etag)).toEqual(['keep-me']);
  });

  it('rejects INVALID_JSON and writes nothing', async () => {
    const t = table('json');
    const k = open(t);
    await k.puaPublish(dialog('3000', 'one'));
    await expect(k.puaPublish('{"Event-Name": "update", ')).rejects.toMatchObject({ code: 'INVALID_JSON' });
    expect(await db.rows(t)).toHaveLength(1);
  });

  it('refuses a table that lacks a presentity column, without altering it', async () => {
    const t = table('cols');
    const q = backend === 'mysql' ? '`' : '"';
    await db.exec(`CREATE TABLE ${q}${t}${q} (event VARCHAR(64), domain VARCHAR(64), username VARCHAR(64), etag VARCHAR(64), sender VARCHAR(64), body TEXT, received_time INT, expires INT)`);
    const k = open(t);
    const error = await k.puaPublish(dialog('3000', 'x')).catch((e) => e);
    expect(error.code).toBe('DATABASE_ERROR');
    expect(error.message).toContain('lacks the presentity column(s) priority');
    expect(await db.exec(`SELECT COUNT(*) AS n FROM ${q}${t}${q}`)).toEqual([{ n: backend === 'postgres' ? '0' : 0 }]);
  });

  it('fails one bad write of a batch alone, the others commit', async () => {
    if (backend === 'sqlite') return expect(backend).toBe('sqlite'); // SQLite does not enforce VARCHAR lengths
    const t = table('bad');
    const k = open(t);
    const writes = [k.puaPublish(dialog('4000', 'ok-1')), k.puaPublish(dialog('x'.repeat(100), 'too-long')), k.puaPublish(dialog('4001', 'ok-2'))];
    const settled = await Promise.allSettled(writes);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((settled[1] as PromiseRejectedResult).reason.code).toBe('DATABASE_ERROR');
    expect((await db.rows(t)).map((r) => r.etag)).toEqual(['ok-1', 'ok-2']);
  });

  it('rejects DATABASE_ERROR without DELETE rights and leaves the table as it was', async () => {
    if (backend === 'sqlite') return expect(backend).toBe('sqlite'); // file permissions do not bind root; no SQL rights
    const t = table('rights');
    const owner = open(t);
    await owner.puaPublish(presence('6000', 'early'));
    const before = await db.rows(t);
    const user = `kz_pua_ro_${t.slice(-8)}`;
    if (backend === 'postgres') {
      await db.exec(`CREATE ROLE ${user} LOGIN PASSWORD 'test'`);
      await db.exec(`GRANT SELECT, INSERT ON "${t}" TO ${user}`);
      await db.exec(`GRANT USAGE ON SEQUENCE "${t}_id_seq" TO ${user}`);
    } else {
      await db.exec(`CREATE USER '${user}'@'%' IDENTIFIED BY 'test'`);
      await db.exec(`GRANT SELECT, INSERT ON test.\`${t}\` TO '${user}'@'%'`);
    }
    try {
      for (const lockType of [0, 1] as const) {
        const url = db.url.replace(/\/\/[^@]*@/, `//${user}:test@`);
        const k = open(t, { db_url: url, pua_lock_type: lockType });
        const error = await k.puaPublish(presence('6000', 'confirmed')).catch((e) => e);
        expect(error.code).toBe('DATABASE_ERROR');
        expect(error.message).toMatch(/denied/i);
        expect(error.message).not.toContain(':test@');
        expect(await db.rows(t)).toEqual(before);
      }
    } finally {
      if (backend === 'postgres') {
        await db.exec(`REVOKE ALL ON "${t}" FROM ${user}`);
        await db.exec(`REVOKE ALL ON SEQUENCE "${t}_id_seq" FROM ${user}`);
        await db.exec(`DROP ROLE ${user}`);
      } else {
        await db.exec(`DROP USER '${user}'@'%'`);
      }
    }
  });

  it('reconnects on the next call after the server dropped the connection', async () => {
    if (backend === 'sqlite') return expect(backend).toBe('sqlite'); // no server
    const sessions = async (): Promise<number[]> =>
      backend === 'postgres'
        ? (await db.exec("SELECT pid FROM pg_stat_activity WHERE application_name = 'kazoo-amqp presence'")).map((r) => Number((r as { pid: number }).pid))
        : (await db.exec('SELECT ID AS id FROM information_schema.PROCESSLIST')).map((r) => Number((r as { id: number }).id));
    const before = new Set(await sessions());
    const t = table('drop');
    const k = open(t);
    await k.puaPublish(dialog('7000', 'before'));
    const ours = (await sessions()).filter((id) => !before.has(id));
    expect(ours.length).toBeGreaterThanOrEqual(1);
    for (const id of ours) await db.exec(backend === 'postgres' ? `SELECT pg_terminate_backend(${id})` : `KILL ${id}`).catch(() => undefined);
    // The first call after the drop may fail (the client may not have noticed yet); one of two must land.
    const first = await k.puaPublish(dialog('7001', 'after-1')).catch((e) => e);
    if (!('written' in first)) expect(first.code).toBe('DATABASE_ERROR');
    await expect(k.puaPublish(dialog('7002', 'after-2'))).resolves.toMatchObject({ written: true });
    const etags = (await db.rows(t)).map((r) => r.etag);
    expect(etags).toEqual(expect.arrayContaining(['before', 'after-2']));
  });

  it('lets a process that wrote presence and never called close() exit (uses dist/: npm run build)', async () => {
    const t = table('exit');
    const lib = join(__dirname, '..', '..', 'dist', 'lib', 'index.js');
    expect(existsSync(lib)).toBe(true);
    const script =
      `const { Kazoo } = require(${JSON.stringify(lib)});` +
      `const k = new Kazoo({ node_hostname: 'n', amqp_connection: 'amqp://guest:guest@127.0.0.1:5672', db_url: process.argv[1], presentity_table: process.argv[2] });` +
      `k.puaPublishMwi({ 'From-User': 'exit', 'From-Realm': 'example.com' }).then((r) => console.log(r.written));`;
    const started = Date.now();
    const { stdout } = await execFileP(process.execPath, ['-e', script, db.url, t], { timeout: 15_000 });
    expect(stdout.trim()).toBe('true');
    expect(Date.now() - started).toBeLessThan(15_000);
    expect((await db.rows(t)).map((r) => r.username)).toEqual(['exit']);
  });

  it('opens the database on first use without a broker and closes it in close()', async () => {
    const t = table('life');
    const k = client(db, t);
    expect(k.connected).toBe(false);
    await expect(k.puaPublishMwi(mwi('5000'))).resolves.toMatchObject({ written: true, event: 'message-summary' });
    await k.close();
    await expect(k.puaPublishMwi(mwi('5000'))).rejects.toMatchObject({ code: 'CLOSED' });
  });
});

describe('kazoo.puaPublish* without a usable database', () => {
  const base = { node_hostname: 'presence.test', amqp_connection: 'amqp://guest:guest@127.0.0.1:5672' };

  it('rejects PUA_DISABLED when pua_mode is 0 or db_url is unset', async () => {
    const off = new Kazoo({ ...base, pua_mode: 0, db_url: 'sqlite:///nonexistent/never-opened.db' });
    await expect(off.puaPublish(dialog('1', 'c'))).rejects.toMatchObject({ code: 'PUA_DISABLED', details: { param: 'pua_mode' } });
    const none = new Kazoo(base);
    await expect(none.puaPublish(dialog('1', 'c'))).rejects.toMatchObject({ code: 'PUA_DISABLED', details: { param: 'db_url' } });
    await Promise.all([off.close(), none.close()]);
  });

  it.each([
    ['postgres', 'postgres://kazoo:s3cr3tpw@127.0.0.1:1/test'],
    ['mysql', 'mysql://kazoo:s3cr3tpw@127.0.0.1:1/test'],
    // A folder under a device file can never be created, not even by root.
    ['sqlite', 'sqlite:///dev/null/sub/presence.db'],
  ])('rejects DATABASE_ERROR for an unreachable %s, password hidden, every time', async (_name, url) => {
    const k = new Kazoo({ ...base, db_url: url });
    for (let i = 0; i < 2; i++) {
      const error = await k.puaPublish(dialog('1', 'c')).catch((e) => e);
      expect(error.code).toBe('DATABASE_ERROR');
      expect(error.message).not.toContain('s3cr3tpw');
      expect(`${error.stack} ${JSON.stringify(error.details)}`).not.toContain('s3cr3tpw');
    }
    await k.close();
  });
});
