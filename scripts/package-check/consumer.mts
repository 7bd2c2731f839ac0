// Package check, TypeScript ES module consumer (compiled with --strict, skipLibCheck false,
// module/moduleResolution node16 and nodenext). Exercises the published types, not behaviour.
import { Kazoo, KazooError, consistentWorker, encode, json, type KazooConfig, type SubscriptionDescription } from 'kazoo-amqp';

const config: KazooConfig = { node_hostname: 'sip1.example.com', amqp_connection: ['amqp://guest:guest@127.0.0.1:5672'] };
const kazoo = new Kazoo(config);
const subscription: SubscriptionDescription = { exchange: 'presence', type: 'topic', queue: 'presence-sip1', routing: ['update.*.*'], no_ack: 0 };

try {
  await kazoo.connect();
  const { queue } = await kazoo.subscribe(subscription);
  console.log(queue, encode('example.com'), json('{"a":1}', 'a'), consistentWorker('key', 8));
} catch (error) {
  if (error instanceof KazooError) console.error(error.code, error.details);
} finally {
  await kazoo.close();
}
