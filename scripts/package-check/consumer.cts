// Package check, TypeScript CommonJS consumer (compiled with --strict, skipLibCheck false,
// module/moduleResolution node16 and nodenext). Exercises the published types, not behaviour.
import { Kazoo, KazooError, encode, type KazooConfig, type KazooErrorCode, type KazooEvent } from 'kazoo-amqp';
import kazooAmqp = require('kazoo-amqp');
import { readCfg, type CfgDocument } from 'kazoo-amqp/kemi';

const config: KazooConfig = { node_hostname: 'sip1.example.com', amqp_connection: 'amqp://guest:guest@127.0.0.1:5672' };
const kazoo = new Kazoo(config);
kazoo.on('error', (error: KazooError) => {
  const code: KazooErrorCode = error.code;
  console.error(code, error.message);
});
kazoo.eventRoute('kazoo:consumer-event-directory-reg-success', async (event: KazooEvent) => {
  const realm: string | null = event.json('Realm');
  console.log(realm, event.payload);
});

export async function run(): Promise<void> {
  await kazoo.connect();
  await kazoo.publish('registrar', `registration.success.${encode('example.com')}.1000`, { Realm: 'example.com' });
  const reply = await kazoo.query('callmgr', 'call.status_req', { Username: '1000' }, { timeoutMs: 2000 });
  const channels: string | null = reply.json('Channels[0].switch_url');
  console.log(channels, kazooAmqp.encode('a.b'));
  await kazoo.close();
}

/** The `kazoo-amqp/kemi` subpath: the cfg reader's types. */
export function modparams(path: string): number {
  const doc: CfgDocument = readCfg(path);
  return doc.modparams.length;
}
