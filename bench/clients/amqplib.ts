/** Baseline adapter: amqplib (promise API), used the way its documentation recommends. */
import * as amqplib from 'amqplib';
import { JsEventRouter } from '../support/routing';
import { JsRpc } from '../support/rpc';
import { yieldToLoop } from '../support/flow';
import { AmqpBenchClient, ClientOptions, PublishManyOptions, SubscribeOptions } from './types';

const PROPS: amqplib.Options.Publish = { contentType: 'application/json' };

/** amqplib baseline: one connection, one publish channel, one channel per consumer / RPC. */
export class AmqplibClient implements AmqpBenchClient {
  readonly id = 'amqplib' as const;
  private rpc: JsRpc | null = null;
  private rpcReady: Promise<void> | null = null;
  private rpcChannel: amqplib.Channel | null = null;
  /** Channels opened besides the publish channel; closed before the connection (see close()). */
  private readonly channels: amqplib.Channel[] = [];

  private constructor(
    private readonly opts: ClientOptions,
    private readonly conn: amqplib.ChannelModel,
    private readonly pub: amqplib.Channel | amqplib.ConfirmChannel,
  ) {}

  /** Connects and opens the publish channel (a ConfirmChannel when `confirms`). */
  static async connect(opts: ClientOptions): Promise<AmqplibClient> {
    const conn = await amqplib.connect(opts.broker.url);
    const pub = opts.confirms ? await conn.createConfirmChannel() : await conn.createChannel();
    return new AmqplibClient(opts, conn, pub);
  }

  private drain(): Promise<void> {
    return new Promise<void>((resolve) => this.pub.once('drain', resolve));
  }

  async publishMany(o: PublishManyOptions): Promise<number> {
    const content = Buffer.from(o.body);
    const yieldEvery = o.yieldEvery ?? 0;
    if (!this.opts.confirms) {
      // Fire-and-forget: amqplib's own backpressure (publish() === false until 'drain').
      let i = 0;
      for (; i < o.count; i++) {
        if (o.stop && o.stop()) break;
        if (!this.pub.publish(o.exchange, o.routingKey, content, PROPS)) await this.drain();
        if (yieldEvery && i % yieldEvery === yieldEvery - 1) await yieldToLoop();
      }
      return i;
    }
    // Confirms: the same window as every confirm publisher, plus amqplib's drain signal.
    const ch = this.pub as amqplib.ConfirmChannel;
    const window = this.opts.window;
    let inflight = 0;
    let failure: Error | null = null;
    let wake: (() => void) | null = null;
    let wakeBelow = 0;
    const onConfirm = (err: unknown): void => {
      if (err && !failure) failure = err instanceof Error ? err : new Error(`publish nacked: ${String(err)}`);
      inflight--;
      if (wake && inflight <= wakeBelow) {
        const w = wake;
        wake = null;
        w();
      }
    };
    const waitUntil = (level: number): Promise<void> =>
      new Promise<void>((resolve) => {
        wakeBelow = level;
        wake = resolve;
      });
    let i = 0;
    for (; i < o.count; i++) {
      if (failure) break;
      if (o.stop && o.stop()) break;
      if (inflight >= window) await waitUntil(window >> 1);
      inflight++;
      if (!ch.publish(o.exchange, o.routingKey, content, PROPS, onConfirm)) await this.drain();
      if (yieldEvery && i % yieldEvery === yieldEvery - 1) await yieldToLoop();
    }
    while (inflight > 0) await waitUntil(0);
    if (failure) throw failure;
    return i;
  }

  async subscribe(o: SubscribeOptions): Promise<void> {
    const router = new JsEventRouter();
    for (const [name, h] of Object.entries(o.routes)) router.on(name, h);
    const ch = await this.conn.createChannel();
    this.channels.push(ch);
    await ch.assertExchange(o.exchange, 'topic', { durable: false, autoDelete: false });
    await ch.assertQueue(o.queue, { durable: false, autoDelete: false, exclusive: false });
    for (const key of o.routing) await ch.bindQueue(o.queue, o.exchange, key);
    await ch.prefetch(this.opts.prefetch);
    await ch.consume(
      o.queue,
      (msg) => {
        if (!msg) return;
        if (router.dispatch(msg.content.toString(), msg.fields.routingKey)) ch.ack(msg);
        else ch.nack(msg, false, false);
      },
      { noAck: false },
    );
  }

  private ensureRpc(): Promise<void> {
    if (!this.rpcReady) {
      this.rpcReady = (async () => {
        const host = this.opts.nodeHostname;
        const rpc = new JsRpc(`bench-amqplib@${host}-<${process.pid}>-targeted-0`, `kamailio@${host}`);
        const ch = await this.conn.createChannel();
        this.channels.push(ch);
        const q = await ch.assertQueue(`bench-amqplib@${host}-<${process.pid}>`, {
          exclusive: true,
          autoDelete: true,
          durable: false,
        });
        await ch.bindQueue(q.queue, 'targeted', rpc.serverId);
        await ch.consume(q.queue, (msg) => msg && rpc.onReply(msg.content.toString()), { noAck: true });
        this.rpc = rpc;
        this.rpcChannel = ch;
      })();
    }
    return this.rpcReady;
  }

  async query(exchange: string, routingKey: string, payload: string, timeoutMs: number): Promise<string> {
    if (!this.rpc) await this.ensureRpc();
    const { body, reply } = this.rpc!.request(payload, timeoutMs);
    this.rpcChannel!.publish(exchange, routingKey, body, PROPS);
    return reply;
  }

  async close(): Promise<void> {
    this.rpc?.failAll(new Error('closed'));
    // amqplib multiplexes channel streams, so a connection.close can overtake acks still queued
    // on a channel; closing each channel first flushes them (channel.close is ordered after them).
    for (const ch of [...this.channels, this.pub]) await ch.close().catch(() => {});
    await this.conn.close();
  }
}
