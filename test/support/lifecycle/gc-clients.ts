/**
 * Child-process scenario (node --expose-gc): clients dropped without close(), then collected.
 *
 * `closed`: 20 clients that never connected and one that connected and closed are dropped;
 * after gc() every one must have been finalized, and the process must then end on its own.
 * `open`: a connected, subscribed client is dropped without close(); gc() runs while its I/O
 * thread is live. Like an open socket it must stay alive: not collected, and its route still gets
 * what a fresh client publishes afterwards; then process.exit(0) must end the process cleanly.
 * Prints one JSON line: `{ collected, registered, delivered? }`.
 */
import { Kazoo } from '../../../lib';

declare const gc: () => void;
const [mode, url, node] = process.argv.slice(2);

let collected = 0;
const registry = new FinalizationRegistry<string>(() => collected++);
const settle = () => new Promise((r) => setTimeout(r, 10));

async function collect(until: () => boolean, rounds: number): Promise<void> {
  for (let i = 0; i < rounds && !until(); i++) {
    gc();
    await settle();
  }
}

async function dropClosed(): Promise<number> {
  for (let i = 0; i < 20; i++) registry.register(new Kazoo({ node_hostname: node, amqp_connection: url }), `unconnected-${i}`);
  const kz = new Kazoo({ node_hostname: node, amqp_connection: url });
  await kz.connect();
  await kz.close();
  registry.register(kz, 'closed');
  return 21;
}

/** Payloads the dropped client's route received (the route is all that still refers to it). */
const delivered: string[] = [];

async function dropOpen(exchange: string): Promise<number> {
  const kz = new Kazoo({ node_hostname: node, amqp_connection: url });
  kz.on('error', () => undefined);
  kz.eventRoute('kazoo:consumer-event-lifecycle-gc', (event) => void delivered.push(event.json('Seq') ?? ''));
  await kz.connect();
  await kz.subscribe({ exchange, type: 'topic', queue: '', routing: '#', auto_delete: 1 });
  registry.register(kz, 'open');
  return 1;
}

async function main(): Promise<void> {
  if (typeof gc !== 'function') throw new Error('run with --expose-gc');
  if (mode === 'closed') {
    const registered = await dropClosed();
    await collect(() => collected === registered, 200);
    process.stdout.write(`${JSON.stringify({ collected, registered })}\n`);
    return; // nothing may keep the process alive now
  }
  const exchange = `${node}-x`;
  const registered = await dropOpen(exchange);
  await collect(() => collected === registered, 50);
  // Its own node name: reply queues are exclusive per node_hostname.
  const fresh = new Kazoo({ node_hostname: `fresh-${node}`, amqp_connection: url });
  await fresh.connect();
  await fresh.publish(exchange, 'gc', { 'Event-Category': 'lifecycle', 'Event-Name': 'gc', Seq: 1 });
  for (let i = 0; i < 500 && delivered.length === 0; i++) await settle();
  process.stdout.write(`${JSON.stringify({ collected, registered, delivered })}\n`);
  process.exit(0);
}

main().catch((error) => {
  process.stderr.write(`scenario failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
