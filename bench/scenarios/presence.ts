/**
 * `presence`: kazoo_pua_publish throughput into a presentity table, per backend. In the worker,
 * kazoo-amqp (never connected to a broker) writes U dialog updates over P presentities (the
 * module reference: 5,000 over 500) into a fresh table on SQLite (a file under the temp dir),
 * PostgreSQL (PG_URL) and MariaDB (MYSQL_URL), keeping W updates in flight: W = 256, as a
 * consumer whose handlers do not wait for the write, and W = 8, as 8 workers (the module's
 * default, and 8 lanes) that each wait for theirs. It then checks that every presentity's row
 * holds its last update (any miss is a note) and drops the table.
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { loadKazoo } from '../clients/kazoo';
import { nowNs } from '../support/flow';
import { RunOutput, Scenario, ScenarioState, Task } from '../types';

const PG_URL = process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const MYSQL_URL = process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
const BACKENDS = ['sqlite', 'postgres', 'mysql'] as const;
type Backend = (typeof BACKENDS)[number];
const WINDOWS = [256, 8] as const;

/** One Kazoo dialog update, as Kazoo publishes it (presence.update, Event-Package dialog). */
export function dialogUpdate(i: number, presentities: number): string {
  const user = `u${i % presentities}`;
  return JSON.stringify({
    'Event-Category': 'presence', 'Event-Name': 'update', 'Event-Package': 'dialog',
    From: `sip:${user}@bench.example`, 'From-User': user, 'From-Realm': 'bench.example',
    To: 'sip:2000@bench.example', 'To-User': '2000', 'To-Realm': 'bench.example',
    'Call-ID': `call-${user}`, 'From-Tag': `ft-${user}`, 'To-Tag': `tt-${user}`, 'Dialog-ID': `seq-${i}`,
    Direction: 'initiator', State: i % 2 === 0 ? 'early' : 'confirmed', Expires: 120,
    'Msg-ID': `msg-${i}`, 'App-Name': 'bench', 'App-Version': '1.0', Node: 'bench@local', 'Server-ID': 'bench',
  });
}

interface Db {
  url: string;
  bodies(table: string): Promise<Map<string, string>>;
  drop(table: string): Promise<void>;
  close(): Promise<void>;
}

async function openDb(backend: Backend, dir: string): Promise<Db> {
  if (backend === 'sqlite') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- optional driver, loaded only when its backend is used
    const Database = require('better-sqlite3') as typeof import('better-sqlite3');
    const file = join(dir, 'presence.db');
    const db = new Database(file);
    return {
      url: `sqlite://${file}`,
      async bodies(table) {
        const rows = db.prepare(`SELECT username, body FROM "${table}"`).all() as Array<{ username: string; body: Buffer }>;
        return new Map(rows.map((r) => [r.username, r.body.toString('utf8')]));
      },
      async drop(table) {
        db.exec(`DROP TABLE IF EXISTS "${table}"`);
      },
      async close() {
        db.close();
      },
    };
  }
  if (backend === 'postgres') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- optional driver, loaded only when its backend is used
    const { Client } = require('pg') as typeof import('pg');
    const client = new Client({ connectionString: PG_URL });
    await client.connect();
    return {
      url: PG_URL,
      async bodies(table) {
        const { rows } = await client.query(`SELECT username, body FROM "${table}"`);
        return new Map(rows.map((r: { username: string; body: Buffer }) => [r.username, r.body.toString('utf8')]));
      },
      async drop(table) {
        await client.query(`DROP TABLE IF EXISTS "${table}"`);
        await client.query('DELETE FROM version WHERE table_name = $1', [table]);
      },
      async close() {
        await client.end();
      },
    };
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- optional driver, loaded only when its backend is used
  const mysql = require('mysql2/promise') as typeof import('mysql2/promise');
  const conn = await mysql.createConnection({ uri: MYSQL_URL });
  return {
    url: MYSQL_URL,
    async bodies(table) {
      const [rows] = await conn.query(`SELECT username, body FROM \`${table}\``);
      return new Map((rows as Array<{ username: string; body: Buffer }>).map((r) => [r.username, r.body.toString('utf8')]));
    },
    async drop(table) {
      await conn.query(`DROP TABLE IF EXISTS \`${table}\``);
      await conn.query('DELETE FROM version WHERE table_name = ?', [table]);
    },
    async close() {
      await conn.end();
    },
  };
}

/** Runs `updates` updates with `window` in flight into a fresh table; returns updates/s and notes. */
async function measure(task: Task, db: Db, backend: Backend, window: number, updates: number, presentities: number): Promise<{ rate: number; notes: string[] }> {
  const { Kazoo } = loadKazoo();
  const table = `kzb_${task.runId}_${task.repetition}_${backend.slice(0, 2)}${window}`.replace(/[^A-Za-z0-9_]/g, '_');
  const kz = new Kazoo({ node_hostname: 'bench.local', amqp_connection: task.broker.url, db_url: db.url, presentity_table: table });
  const payloads = Array.from({ length: updates }, (_, i) => dialogUpdate(i, presentities));
  const notes: string[] = [];
  try {
    // Untimed: opens the connection and creates the table.
    await kz.puaPublish(dialogUpdate(0, presentities));
    let next = 0;
    let failed = 0;
    const t0 = nowNs();
    await Promise.all(
      Array.from({ length: window }, async () => {
        while (next < updates) {
          const i = next++;
          const r = await kz.puaPublish(payloads[i]).catch(() => null);
          if (r === null || !r.written) failed++;
        }
      }),
    );
    const seconds = Number(nowNs() - t0) / 1e9;
    const bodies = await db.bodies(table);
    let stale = 0;
    for (let p = 0; p < presentities; p++) {
      const last = updates - presentities + p; // the last i with i % presentities === p
      if (!bodies.get(`u${p}`)?.includes(`<dialog id="seq-${last}"`)) stale++;
    }
    if (failed > 0) notes.push(`${backend} W=${window}: ${failed} of ${updates} updates failed`);
    if (stale > 0 || bodies.size !== presentities) {
      notes.push(`${backend} W=${window}: ${stale} presentities without their last update, ${bodies.size} rows for ${presentities}`);
    }
    return { rate: updates / seconds, notes };
  } finally {
    await kz.close();
    await db.drop(table).catch(() => undefined);
  }
}

/** The `presence` scenario. */
export const presenceScenario: Scenario = {
  name: 'presence',
  title:
    'kazoo_pua_publish: dialog updates written per second into a fresh presentity table (U updates over P presentities), per backend, with W updates in flight.',
  clients: ['kazoo-amqp'],
  metrics: BACKENDS.flatMap((backend) =>
    WINDOWS.map((w) => ({ key: `${backend}${w}`, label: `${backend === 'mysql' ? 'MariaDB' : backend === 'postgres' ? 'PostgreSQL' : 'SQLite'} W=${w}`, unit: 'updates/s', better: 'higher' as const })),
  ),

  async setup(): Promise<ScenarioState> {
    return {};
  },
  async teardown(): Promise<void> {},

  async run(task): Promise<RunOutput> {
    const updates = task.params.quick ? 500 : 5000;
    const presentities = task.params.quick ? 50 : 500;
    const dir = mkdtempSync(join(tmpdir(), 'kz-bench-presence-'));
    const sample: Record<string, number> = {};
    const notes: string[] = [];
    try {
      for (const backend of BACKENDS) {
        const db = await openDb(backend, dir);
        try {
          for (const w of WINDOWS) {
            const r = await measure(task, db, backend, w, updates, presentities);
            sample[`${backend}${w}`] = r.rate;
            notes.push(...r.notes);
          }
        } finally {
          await db.close();
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    return { sample, notes };
  },
};
