/**
 * `npm start`: connect to the local RabbitMQ, subscribe to registration events, publish one the
 * way Kamailio's `kazoo_publish` does, and print what went over the wire and what came back.
 *
 * Environment: AMQP_URL (default amqp://guest:guest@127.0.0.1:5672), NODE_HOSTNAME.
 */
import { encode, Kazoo, type KazooEvent } from '../lib';

async function main(): Promise<void> {
  const kazoo = new Kazoo({
    node_hostname: process.env.NODE_HOSTNAME ?? 'sip1.example.com',
    amqp_connection: process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
  });
  kazoo.on('connection', (e) => console.log(`${e.role} connection ${e.event}: ${e.host} (zone ${e.zone})`));

  let received!: (event: KazooEvent) => void;
  const arrived = new Promise<KazooEvent>((resolve) => (received = resolve));
  // event_route[kazoo:consumer-event-directory-reg-success] in a kamailio.cfg
  kazoo.eventRoute('kazoo:consumer-event-directory-reg-success', (event) => received(event));

  await kazoo.connect();
  const { queue } = await kazoo.subscribe({
    exchange: 'kazoo-amqp-example',
    type: 'topic',
    queue: '',
    routing: 'registration.success.#',
    'exchange-def': { type: 'topic', auto_delete: 1 },
  });

  const realm = 'example.com';
  const username = '1000';
  // Kazoo routing keys encode each part: example.com -> example%2Ecom
  const routingKey = `registration.success.${encode(realm)}.${encode(username)}`;
  const payload = { 'Event-Category': 'directory', 'Event-Name': 'reg_success', Realm: realm, Username: username };
  await kazoo.publish('kazoo-amqp-example', routingKey, payload);
  console.log(`published to kazoo-amqp-example with routing key ${routingKey}:`);
  console.log(`  ${JSON.stringify(payload)}`);

  const event = await Promise.race([
    arrived,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no delivery within 5 s')), 5000)),
  ]);
  console.log(`received through ${event.name} (queue ${queue}), as $kzE:`);
  console.log(`  ${event.payload}`);
  console.log(`  Msg-ID ${event.json('Msg-ID')}, Server-ID ${event.json('Server-ID')}`);
  await kazoo.close();
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
