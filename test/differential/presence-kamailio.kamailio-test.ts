/**
 * Opt-in differential test (`npm run test:kamailio`; not part of `npm test`): the real Kamailio
 * kazoo module (Debian: kamailio, kamailio-kazoo-modules and the postgres/mysql/sqlite DB modules)
 * consumes the shared update sequence from RabbitMQ and writes its presentity table; kazoo-amqp
 * writes the same sequence into a table of its own; both tables must hold the same rows (times
 * compared as "now" and "now + Expires"; our bodies compared after un-escaping XML).
 * Fails, never skips, when Kamailio is not installed.
 */
import * as amqplib from 'amqplib';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kazoo } from '../../lib';
import { createTableStatements } from '../../lib/presence/schema';
import { AMQP_URL } from '../support/broker';
import { call, dialog, maskTimes, mwi, SEQUENCE, sortRows, type Step } from '../support/presence-sequence';
import { openTestDb, uniqueTable, type StoredRow, type TestDb } from '../support/presentity-db';

const KAMAILIO = process.env.KAMAILIO_BIN ?? '/usr/sbin/kamailio';
const MODULES = process.env.KAMAILIO_MODULES ?? '/usr/lib/x86_64-linux-gnu/kamailio/modules';
const DB_MODULE = { sqlite: 'db_sqlite.so', postgres: 'db_postgres.so', mysql: 'db_mysql.so' } as const;

/** The sequence minus what the module cannot take over AMQP (a non-object body), plus XML specials. */
const STEPS: Step[] = [
  ...SEQUENCE.filter((s) => s.payload !== '[1, 2, 3]'),
  { entry: 'publish', payload: dialog('9000', `x&y<z>"q'`, { 'From-Realm': 'special.example', 'To-User': `A&B <c>` }) },
  { entry: 'publish', payload: { ...dialog('9001', 'pres'), 'Event-Package': 'presence', 'From-User': `o'brien&co` } },
];
const SENTINEL: Step = { entry: 'message-summary', payload: mwi('sentinel', { 'From-Realm': 'sentinel.example' }) };

function unescapeXml(body: string): string {
  return body.replace(/&(lt|gt|quot|apos|amp);/g, (_, e: string) => ({ lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' })[e] as string);
}

function config(backend: keyof typeof DB_MODULE, dbUrl: string, table: string, exchange: string, queue: string, port: number): string {
  const subscribe = JSON.stringify({ exchange, type: 'topic', queue, routing: ['#'], auto_delete: 1 });
  return `#!KAMAILIO
debug=2
log_stderror=yes
children=1
disable_tcp=yes
listen=udp:127.0.0.1:${port}
mpath="${MODULES}/"
loadmodule "tm.so"
loadmodule "pv.so"
loadmodule "${DB_MODULE[backend]}"
loadmodule "kazoo.so"
modparam("kazoo", "node_hostname", "kzdiff.test")
modparam("kazoo", "amqp_connection", "${AMQP_URL}")
modparam("kazoo", "amqp_consumer_workers", 1)
modparam("kazoo", "db_url", "${dbUrl}")
modparam("kazoo", "presentity_table", "${table}")

event_route[kazoo:mod-init] {
  kazoo_subscribe('${subscribe}');
}

event_route[kazoo:consumer-event] {
  if ($kzRK == "dialog") {
    kazoo_pua_publish_dialoginfo($kzE);
  } else if ($kzRK == "message-summary") {
    kazoo_pua_publish_mwi($kzE);
  } else if ($kzRK == "presence") {
    kazoo_pua_publish_presence($kzE);
  } else {
    kazoo_pua_publish($kzE);
  }
}

request_route {
  drop;
}
`;
}

async function until<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe.each(['postgres', 'mysql', 'sqlite'] as const)("Kamailio's kazoo module vs kazoo-amqp on %s", (backend) => {
  let db: TestDb;
  let kamailio: ChildProcess | undefined;
  let log = '';
  const tables: string[] = [];

  beforeAll(async () => {
    if (!existsSync(KAMAILIO) || !existsSync(join(MODULES, 'kazoo.so'))) {
      throw new Error(`Kamailio is not installed (${KAMAILIO}, ${MODULES}/kazoo.so): apt-get install kamailio kamailio-kazoo-modules kamailio-postgres-modules kamailio-mysql-modules kamailio-sqlite-modules`);
    }
    db = await openTestDb(backend);
  });

  afterAll(async () => {
    kamailio?.kill('SIGTERM');
    const q = backend === 'mysql' ? '`' : '"';
    for (const t of tables) {
      await db.exec(`DROP TABLE IF EXISTS ${q}${t}${q}`).catch(() => undefined);
      await db.exec(`DELETE FROM version WHERE table_name = ${backend === 'postgres' ? '$1' : '?'}`, [t]).catch(() => undefined);
    }
    await db?.close();
  });

  it('leaves the same presentity table for the same updates', async () => {
    const moduleTable = uniqueTable('kam');
    const ourTable = uniqueTable('ours');
    tables.push(moduleTable, ourTable);
    for (const sql of createTableStatements(backend, moduleTable)) await db.exec(sql);

    const exchange = `kz-diff-${randomUUID().slice(0, 8)}`;
    const queue = `${exchange}-q`;
    const dir = mkdtempSync(join(tmpdir(), 'kz-kamailio-'));
    const cfg = join(dir, 'kamailio.cfg');
    writeFileSync(cfg, config(backend, db.url, moduleTable, exchange, queue, 20000 + Math.floor(Math.random() * 20000)));
    kamailio = spawn(KAMAILIO, ['-f', cfg, '-DD', '-E', '-Y', dir, '-P', join(dir, 'kamailio.pid')], { stdio: ['ignore', 'pipe', 'pipe'] });
    kamailio.stdout?.on('data', (d) => (log += d));
    kamailio.stderr?.on('data', (d) => (log += d));

    const connection = await amqplib.connect(AMQP_URL);
    try {
      const channel = await connection.createChannel();
      await until(`Kamailio's queue ${queue}`, 20_000, async () => {
        const probe = await connection.createChannel();
        probe.on('error', () => undefined);
        const ok = await probe.checkQueue(queue).catch(() => undefined);
        await probe.close().catch(() => undefined);
        return ok?.consumerCount ? true : undefined;
      }).catch((e) => {
        throw new Error(`${(e as Error).message}\n${log}`);
      });
      const t0 = Math.floor(Date.now() / 1000);
      for (const step of [...STEPS, SENTINEL]) {
        const text = typeof step.payload === 'string' ? step.payload : JSON.stringify(step.payload);
        channel.publish(exchange, step.entry, Buffer.from(text), { contentType: 'application/json' });
      }
      const moduleRows = await until('the sentinel row', 30_000, async () => {
        const rows = await db.rows(moduleTable);
        return rows.some((r) => r.domain === 'sentinel.example') ? rows : undefined;
      }).catch((e) => {
        throw new Error(`${(e as Error).message}\n${log}`);
      });
      const t1 = Math.floor(Date.now() / 1000);
      expect(moduleRows.length).toBeGreaterThan(20);

      const ours = new Kazoo({ node_hostname: 'kzdiff.test', amqp_connection: AMQP_URL, db_url: db.url, presentity_table: ourTable });
      try {
        for (const step of [...STEPS, SENTINEL]) await call(ours, step);
      } finally {
        await ours.close();
      }
      const t2 = Math.floor(Date.now() / 1000);
      const ourRows = (await db.rows(ourTable)).map((r): StoredRow => ({ ...r, body: unescapeXml(r.body) }));
      expect(sortRows(maskTimes(ourRows, t1 - 1, t2))).toEqual(sortRows(maskTimes(moduleRows, t0, t1)));
      // The escaping really happened on our side, and only there.
      const special = (await db.rows(ourTable)).find((r) => r.domain === 'special.example');
      expect(special?.body).toContain('call-id="x&amp;y&lt;z&gt;&quot;q&apos;"');
      expect(moduleRows.find((r) => r.domain === 'special.example')?.body).toContain(`call-id="x&y<z>"q'"`);
    } finally {
      await connection.close().catch(() => undefined);
      kamailio.kill('SIGTERM');
    }
  });
});
