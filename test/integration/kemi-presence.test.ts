/**
 * The presence role through the KEMI shim: `kazoo-amqp run` on a cfg whose `db_url` is an SQLite
 * file in a folder that does not exist yet, a script that subscribes in mod-init and hands every
 * consumed update to `KSR.kazoo.kazoo_pua_publish*`; the rows land in the presentity table, a
 * non-JSON payload gets −1, a database failure fails the event (logged). Runs dist/.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as amqplib from 'amqplib';
import Database from 'better-sqlite3';
import { AMQP_URL, deleteEntities, openObserver, uniqueName, waitFor } from '../support/broker';
import { requireBuiltCli, startCli, type CliRun } from '../support/cli-run';
import { dialog, mwi, presence } from '../support/presence-sequence';

let dir: string;
let observer: { connection: amqplib.ChannelModel; channel: amqplib.Channel };
const queues = new Set<string>();
const exchanges = new Set<string>();
let run: CliRun | undefined;

beforeAll(async () => {
  requireBuiltCli();
  observer = await openObserver();
  dir = mkdtempSync(join(tmpdir(), 'kazoo-kemi-pua-'));
});

afterAll(async () => {
  if (run && run.child.exitCode === null) run.child.kill('SIGKILL');
  await deleteEntities(observer.connection, queues, exchanges);
  await observer.connection.close();
  rmSync(dir, { recursive: true, force: true });
});

const SCRIPT = (inX: string, inQ: string) => `
var WRITERS = { 'dialog': 'kazoo_pua_publish_dialoginfo', 'message-summary': 'kazoo_pua_publish_mwi', 'presence': 'kazoo_pua_publish_presence' };
function ev(evname) {
  if (evname === 'kazoo:mod-init') {
    KSR.kazoo.kazoo_subscribe(JSON.stringify({ exchange: '${inX}', type: 'topic', queue: '${inQ}', routing: '#', no_ack: 0, wait_for_consumer_ack: 1 }));
    return;
  }
  var pkg = KSR.pv.get('$(kzE{kz.json,Event-Package})');
  if (pkg === '') return;
  if (pkg === 'bad') {
    KSR.info('pua-rc bad ' + KSR.kazoo.kazoo_pua_publish('not json'));
    return;
  }
  var rc = pkg === 'dispatch' ? KSR.kazoo.kazoo_pua_publish(KSR.pv.get('$kzE')) : KSR.kazoo[WRITERS[pkg]](KSR.pv.get('$kzE'));
  KSR.info('pua-rc ' + pkg + ' ' + rc);
}
`;

describe('kazoo_pua_publish* in kazoo-amqp run', () => {
  it('writes consumed updates into the SQLite presentity table of db_url, and says -1 for non-JSON', async () => {
    const inX = uniqueName('kemi-pua');
    const inQ = uniqueName('kemi-puaq');
    exchanges.add(inX);
    queues.add(inQ);
    const db = join(dir, 'fresh', 'folder', 'presence.db');
    writeFileSync(join(dir, 'presence.js'), SCRIPT(inX, inQ));
    writeFileSync(
      join(dir, 'kamailio.cfg'),
      [
        `modparam("kazoo", "node_hostname", "${uniqueName('kemi-pua')}.test")`,
        `modparam("kazoo", "amqp_connection", "${AMQP_URL}")`,
        'modparam("kazoo", "event_callback", "ev")',
        `modparam("kazoo", "db_url", "sqlite://${db}")`,
        'modparam("app_jsdt", "load", "presence.js")',
      ].join('\n'),
    );
    const cli = startCli(['run', '--cfg', join(dir, 'kamailio.cfg')], dir);
    run = cli;
    const explain = (e: Error) => {
      throw new Error(`${e.message}; output:\n${cli.output()}`);
    };
    await waitFor(() => cli.output().includes('kazoo-amqp: running'), 15_000, 'the runner to start').catch(explain);
    // The subscription is declared before mod-init ends, and the runner reports running after it.
    const send = (body: unknown) => observer.channel.publish(inX, 'presence.update', Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)));

    send(dialog('3000', 'kemi-call-1', { 'Event-Package': 'dispatch', 'Event-Name': 'update' }));
    send({ ...dialog('3001', 'kemi-call-2', { State: 'confirmed' }), 'Event-Package': 'dialog' });
    send(mwi('3002'));
    send({ ...presence('3003', 'online'), 'Event-Package': 'presence' });
    send({ 'Event-Category': 'presence', 'Event-Package': 'bad' });

    await waitFor(() => (cli.output().match(/pua-rc /g) ?? []).length >= 5, 15_000, 'five pua results').catch(explain);
    const output = cli.output();
    expect(output).toContain('pua-rc dialog 1');
    expect(output).toContain('pua-rc message-summary 1');
    expect(output).toContain('pua-rc presence 1');
    expect(output).toContain('pua-rc dispatch 1');
    expect(output).toContain('pua-rc bad -1');

    // The dispatcher form reads Event-Package itself: 'dispatch' is no package it knows, so it
    // writes nothing (the module returns 1 there too); the three direct writers each wrote a row.
    const rows = await waitFor(
      () => {
        if (!existsSync(db)) return false;
        const conn = new Database(db, { readonly: true });
        try {
          // The runner's store opens the file before its first transaction creates the table.
          const created = conn.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'presentity'").get();
          if (created === undefined) return false;
          const r = conn.prepare('SELECT username, domain, event FROM presentity ORDER BY username').all() as Array<Record<string, string>>;
          return r.length >= 3 ? r : false;
        } finally {
          conn.close();
        }
      },
      15_000,
      'three presentity rows',
    ).catch(explain);
    expect(rows).toEqual([
      { username: '3001', domain: 'example.com', event: 'dialog' },
      { username: '3002', domain: 'example.com', event: 'message-summary' },
      { username: '3003', domain: 'example.com', event: 'presence' },
    ]);

    cli.child.kill('SIGTERM');
    expect((await cli.exited).code).toBe(0);
  });
});
