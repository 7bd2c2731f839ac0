/** Baseline adapter: @cloudamqp/amqp-client (low-level channel API). */
import { AMQPChannel, AMQPClient, AMQPProperties } from '@cloudamqp/amqp-client';
import { JsEventRouter } from '../support/routing';
import { JsRpc } from '../support/rpc';
import { windowed } from '../support/flow';
import { AmqpBenchClient, ClientOptions, PublishManyOptions, SubscribeOptions } from './types';

const PROPS: AMQPProperties = { contentType: 'application/json' };

/** amqp-client baseline: basicPublish promises under the shared window, manual acks. */
export class AmqpClientClient implements AmqpBenchClient {
  readonly id = 'amqp-client' as const;
  private rpc: JsRpc | null = null;
  private rpcReady: Promise<void> | null = null;
  private rpcChannel: AMQPChannel | null = null;

  private constructor(
    private readonly opts: ClientOptions,
    private readonly conn: AMQPClient,
    private readonly pub: AMQPChannel,
  ) {}

  /** Connects and opens the publish channel (in confirm mode when `confirms`). */
  static async connect(opts: ClientOptions): Promise<AmqpClientClient> {
    const conn = new AMQPClient(opts.broker.url);
    await conn.connect();
    const pub = await conn.channel();
    if (opts.confirms) await pub.confirmSelect();
    return new AmqpClientClient(opts, conn, pub);
  }

  publishMany(o: PublishManyOptions): Promise<number> {
    const body = Buffer.from(o.body);
    // basicPublish resolves when written to the socket, or on the broker's confirm in confirm mode.
    return windowed({
      count: o.count,
      window: this.opts.window,
      stop: o.stop,
      yieldEvery: o.yieldEvery,
      start: () => this.pub.basicPublish(o.exchange, o.routingKey, body, PROPS),
    });
  }

  async subscribe(o: SubscribeOptions): Promise<void> {
    const router = new JsEventRouter();
    for (const [name, h] of Object.entries(o.routes)) router.on(name, h);
    const ch = await this.conn.channel();
    await ch.exchangeDeclare(o.exchange, 'topic', { durable: false, autoDelete: false });
    await ch.queueDeclare(o.queue, { durable: false, autoDelete: false, exclusive: false });
    for (const key of o.routing) await ch.queueBind(o.queue, o.exchange, key);
    await ch.basicQos(this.opts.prefetch);
    const onAckError = (): void => {};
    await ch.basicConsume(o.queue, { noAck: false }, (msg) => {
      if (router.dispatch(msg.bodyToString() ?? '', msg.routingKey)) msg.ack().catch(onAckError);
      else msg.nack(false).catch(onAckError);
    });
  }

  private ensureRpc(): Promise<void> {
    if (!this.rpcReady) {
      this.rpcReady = (async () => {
        const host = this.opts.nodeHostname;
        const rpc = new JsRpc(`bench-amqp-client@${host}-<${process.pid}>-targeted-0`, `kamailio@${host}`);
        const ch = await this.conn.channel();
        const q = await ch.queueDeclare(`bench-amqp-client@${host}-<${process.pid}>`, {
          exclusive: true,
          autoDelete: true,
          durable: false,
        });
        await ch.queueBind(q.name, 'targeted', rpc.serverId);
        await ch.basicConsume(q.name, { noAck: true }, (msg) => rpc.onReply(msg.bodyToString() ?? ''));
        this.rpc = rpc;
        this.rpcChannel = ch;
      })();
    }
    return this.rpcReady;
  }

  async query(exchange: string, routingKey: string, payload: string, timeoutMs: number): Promise<string> {
    if (!this.rpc) await this.ensureRpc();
    const { body, reply } = this.rpc!.request(payload, timeoutMs);
    await this.rpcChannel!.basicPublish(exchange, routingKey, body, PROPS);
    return reply;
  }

  async close(): Promise<void> {
    this.rpc?.failAll(new Error('closed'));
    await this.conn.close();
  }
}
