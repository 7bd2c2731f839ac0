/**
 * Child-process scenario: process.exit(7) while a client is connected, subscribed, and waits
 * for a query reply and for publishes in flight. The process must end with status 7, no abort.
 */
import { Kazoo } from '../../../lib';

const [url, node] = process.argv.slice(2);

async function main(): Promise<void> {
  const kz = new Kazoo({ node_hostname: node, amqp_connection: url });
  kz.on('error', () => undefined);
  await kz.connect();
  await kz.subscribe({ exchange: `${node}-x`, type: 'topic', queue: '', routing: '#', auto_delete: 1 });
  kz.query('', `${node}-nobody`, '{"Event-Category":"lifecycle"}', { timeoutMs: 60_000 }).catch(() => undefined);
  for (let i = 0; i < 1000; i++) kz.publish('', `${node}-nowhere`, { Seq: i }).catch(() => undefined);
  process.stdout.write('pending\n');
  process.exit(7);
}

main().catch((error) => {
  process.stderr.write(`scenario failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
