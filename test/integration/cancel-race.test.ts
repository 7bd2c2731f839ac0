/**
 * Cancel and channel reuse (issue 8): a subscription cancelled while its deliveries are in
 * flight must not hand them to the next subscription, which would get the consumer channel
 * number back and ack a foreign delivery tag (the broker then closes its channel with 406).
 */
import type * as amqplib from 'amqplib';
import { Kazoo, type KazooError, type KazooEvent } from '../../lib';
import { connectedKazoo, openObserver, uniqueName, waitFor } from '../support/broker';

jest.setTimeout(60_000);

let observer: { connection: amqplib.ChannelModel; channel: amqplib.Channel };
let kz: Kazoo;
const names = { xa: uniqueName('race-xa'), qa: uniqueName('race-qa'), xb: uniqueName('race-xb'), qb: uniqueName('race-qb') };

beforeAll(async () => {
  observer = await openObserver();
});

afterAll(async () => {
  await kz?.close();
  for (const q of [names.qa, names.qb]) await observer.channel.deleteQueue(q).catch(() => undefined);
  for (const x of [names.xa, names.xb]) await observer.channel.deleteExchange(x).catch(() => undefined);
  await observer.connection.close();
});

it('keeps the deliveries of a cancelled subscription away from the next one on the same channel', async () => {
  kz = await connectedKazoo({});
  const errors: KazooError[] = [];
  kz.on('error', (e: KazooError) => errors.push(e));
  const seen: KazooEvent[] = [];
  kz.eventRoute('kazoo:consumer-event', async (ev) => {
    if (ev.exchange === '') return;
    seen.push(ev);
    await new Promise((r) => setTimeout(r, 2)); // deliveries pile up behind a slow handler
  });
  await kz.subscribe({ exchange: names.xa, type: 'direct', queue: names.qa, routing: 'a', no_ack: 0, auto_delete: 0, prefetch: 50 });
  const total = 400;
  for (let i = 0; i < total; i += 1) observer.channel.publish(names.xa, 'a', Buffer.from(JSON.stringify({ Seq: i })));
  await waitFor(() => seen.length > 5, 10_000, 'the first deliveries of A');

  // Cancel A with deliveries in flight and subscribe B at once: B may get A's channel number.
  await kz.unsubscribe(names.qa);
  await kz.subscribe({ exchange: names.xb, type: 'direct', queue: names.qb, routing: 'b', no_ack: 0, auto_delete: 0 });
  const fromA = seen.filter((ev) => ev.exchange === names.xa).length;
  for (let i = 0; i < 50; i += 1) observer.channel.publish(names.xb, 'b', Buffer.from(JSON.stringify({ B: i })));
  await waitFor(() => seen.filter((ev) => ev.exchange === names.xb).length >= 50, 15_000, "B's 50 messages");
  await new Promise((r) => setTimeout(r, 300));

  // No 406 (a foreign tag acked on B's channel), no channel closed under B, nothing of A after.
  expect(errors.map((e) => `${e.code}: ${e.message}`)).toEqual([]);
  expect(seen.filter((ev) => ev.exchange === names.xb)).toHaveLength(50);
  expect(seen.filter((ev) => ev.exchange === names.xa).length).toBeLessThanOrEqual(fromA + 50);
  // Nothing of A is lost: what was not handled (and acked) is back in A's queue.
  const { messageCount } = await observer.channel.checkQueue(names.qa);
  const handledA = seen.filter((ev) => ev.exchange === names.xa).length;
  expect(messageCount + handledA).toBeGreaterThanOrEqual(total);
});
