/**
 * BLF the way Kazoo's Kamailio configs do it: consume `presence.update` messages and write each
 * into the presentity table with `kazoo_pua_publish` (here `kazoo.puaPublish`). The example
 * publishes one dialog update itself and prints what was written.
 *
 * Run: `npm run build && node dist/examples/presence-blf.js`.
 * Environment: AMQP_URL (default amqp://guest:guest@127.0.0.1:5672), DB_URL (default an SQLite
 * file in the temp directory; also postgres://… or mysql://…), NODE_HOSTNAME.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kazoo, type PuaResult } from '../lib';

async function main(): Promise<void> {
  const kazoo = new Kazoo({
    node_hostname: process.env.NODE_HOSTNAME ?? 'sip1.example.com',
    amqp_connection: process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
    db_url: process.env.DB_URL ?? `sqlite://${join(tmpdir(), 'kazoo-amqp-presence-example.db')}`,
  });

  let written!: (result: PuaResult) => void;
  const done = new Promise<PuaResult>((resolve) => (written = resolve));
  // event_route[kazoo:consumer-event-presence-update] { kazoo_pua_publish($kzE); }
  kazoo.eventRoute('kazoo:consumer-event-presence-update', async (event) => {
    written(await kazoo.puaPublish(event.payload));
  });
  // event_route[kazoo:mod-init] { kazoo_subscribe(...); }
  kazoo.eventRoute('kazoo:mod-init', async () => {
    await kazoo.subscribe({
      exchange: 'kazoo-amqp-example-presence',
      type: 'topic',
      queue: '',
      routing: 'update.#',
      'exchange-def': { type: 'topic', auto_delete: 1 },
    });
  });
  await kazoo.connect();

  // What Kazoo publishes when extension 1000 starts ringing 2000.
  await kazoo.publish('kazoo-amqp-example-presence', 'update.early.example%2Ecom.1000', {
    'Event-Category': 'presence',
    'Event-Name': 'update',
    'Event-Package': 'dialog',
    From: 'sip:1000@example.com',
    'From-User': '1000',
    'From-Realm': 'example.com',
    To: 'sip:2000@example.com',
    'To-User': '2000',
    'Call-ID': 'example-call-1',
    'From-Tag': 'ft1',
    Direction: 'initiator',
    State: 'early',
    Expires: 120,
  });

  const result = await Promise.race([
    done,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no presence update within 5 s')), 5000)),
  ]);
  console.log(`presentity table ${kazoo.config.presentity_table} of ${kazoo.config.db_url?.replace(/:[^:@/]*@/, ':***@')}:`);
  console.log(`  ${JSON.stringify(result)}`);
  await kazoo.close();
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
