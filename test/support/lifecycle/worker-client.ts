/**
 * Worker-thread scenario: a connected client with a subscription and a pending query, then
 * 'ready' to the parent, which terminates the worker while all of it is open.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Kazoo } from '../../../lib';

const { url, node } = workerData as { url: string; node: string };

async function main(): Promise<void> {
  const kz = new Kazoo({ node_hostname: node, amqp_connection: url });
  kz.on('error', () => undefined);
  await kz.connect();
  await kz.subscribe({ exchange: `${node}-x`, type: 'topic', queue: '', routing: '#', auto_delete: 1 });
  // Never answered: pending while the worker is terminated.
  kz.query('', `${node}-nobody`, '{"Event-Category":"lifecycle"}', { timeoutMs: 60_000 }).catch(() => undefined);
  await kz.publish('', `${node}-nowhere`, '{"Event-Category":"lifecycle"}');
  parentPort!.postMessage('ready');
}

main().catch((error) => parentPort!.postMessage(`failed: ${error instanceof Error ? error.message : String(error)}`));
