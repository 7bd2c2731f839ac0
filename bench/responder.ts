/**
 * Kazoo-style responder for the `query` scenario, run by the harness as its own Node process.
 *
 * Consumes requests (no_ack) from the queue named in the IPC start message and replies as a Kazoo
 * application does: publish to exchange `targeted` with routing key = the request's `Server-ID`,
 * copying `Msg-ID`, content_type application/json. It echoes whatever Server-ID/Msg-ID it gets,
 * so it serves every client alike. Sends `{ ready: true }` once consuming, exits when the
 * harness disconnects.
 */
import * as amqplib from 'amqplib';

/** The harness's start message. */
export interface ResponderStart {
  url: string;
  queue: string;
}

const CONTENT = { contentType: 'application/json' };

async function main(start: ResponderStart): Promise<void> {
  const conn = await amqplib.connect(start.url);
  const ch = await conn.createChannel();
  const me = `bench-responder@${process.pid}`;
  let served = 0;
  await ch.consume(
    start.queue,
    (msg) => {
      if (!msg) return;
      let req: Record<string, unknown>;
      try {
        req = JSON.parse(msg.content.toString()) as Record<string, unknown>;
      } catch {
        return;
      }
      const serverId = req['Server-ID'];
      if (typeof serverId !== 'string' || serverId === '') return;
      const reply = {
        'Event-Category': 'bench',
        'Event-Name': 'echo_resp',
        'Msg-ID': req['Msg-ID'],
        Served: ++served,
        'App-Name': 'bench-responder',
        'App-Version': '1.0.0',
        Node: me,
        'Server-ID': me,
      };
      ch.publish('targeted', serverId, Buffer.from(JSON.stringify(reply)), CONTENT);
    },
    { noAck: true },
  );
  process.send?.({ ready: true });
}

process.once('message', (start: ResponderStart) => {
  main(start).catch((err: Error) => {
    process.send?.({ ready: false, error: err.message });
    process.exit(1);
  });
});
process.on('disconnect', () => process.exit(0));
