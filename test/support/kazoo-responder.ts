/**
 * A Kazoo-style responder for query tests, built on amqplib (independent of kazoo-amqp).
 *
 * It consumes requests from its own queue bound to a test exchange and answers the way Kazoo
 * applications do (docs/module-behaviour.md#query): it publishes to the `targeted` exchange with routing key = the
 * request's `Server-ID`, copies the request's `Msg-ID`, and sets only
 * `content_type: application/json`.
 *
 * Behaviour is chosen per request by fields of the request itself:
 * - `"Mode"`: `"echo"` (default) replies after `Delay-Ms`; `"late"` is the same, meant for a delay
 *   longer than the query timeout; `"never"` records the request and never answers; `"reorder"`
 *   holds the request until `reorderBatch` of them are held (or `reorderFlushMs` passed since the
 *   first one) and answers the batch in reverse, then shuffled, order.
 * - `"Delay-Ms"`: delay before answering (echo/late).
 * - `"Token"`: echoed back in the reply, so a test can check each query got its own answer.
 * - `"Reply-Key"`: routing key for the reply instead of the request's `Server-ID` (e.g. another
 *   query's, so that both replies land in the same reply queue, in order).
 * - `"Reply-Raw"`: the exact reply body to send (a Kazoo app's compact JSON); `{{MSG_ID}}` in it is
 *   replaced by the request's `Msg-ID`. Without it the reply is {@link defaultReplyBody}.
 */
import * as amqplib from 'amqplib';
import { AMQP_URL, uniqueName, waitFor } from './broker';

/** The `Server-ID` the responder puts in its replies, as an Erlang Kazoo app would. */
export const RESPONDER_SERVER_ID = 'ecallmgr@fs1.test-<0.123.0>';

/** One request as the responder consumed it. */
export interface ResponderRequest {
  /** Body text exactly as received. */
  raw: string;
  /** Body parsed with JSON.parse. */
  body: Record<string, unknown>;
  routingKey: string;
  exchange: string;
  contentType?: string;
  headers: Record<string, unknown>;
  receivedAt: number;
}

/** One reply the responder published. */
export interface ResponderReply {
  token: unknown;
  msgId: unknown;
  /** Routing key on the `targeted` exchange (the request's Server-ID unless `Reply-Key` said otherwise). */
  routingKey: string;
  body: string;
  /** Resolves once the broker confirmed (routed) the reply. */
  confirmed: Promise<void>;
}

export interface ResponderOptions {
  /** Exchange to declare (non-durable, type `exchangeType`) and bind the request queue to. */
  exchange?: string;
  exchangeType?: 'direct' | 'topic' | 'fanout';
  /** Binding key of the request queue (default `#` for topic, the queue name otherwise). */
  bindingKey?: string;
  /** Size of a reordered batch (default 64). */
  reorderBatch?: number;
  /** A partial reorder batch is flushed this long after its first request (default 25 ms). */
  reorderFlushMs?: number;
}

/** The default reply: a Kazoo-like `query_user_channels_resp` echoing Token and Msg-ID. */
export function defaultReplyBody(request: Record<string, unknown>): string {
  return JSON.stringify({
    'Event-Category': 'call_event',
    'Event-Name': 'query_user_channels_resp',
    'Msg-ID': request['Msg-ID'],
    Token: request.Token ?? null,
    Mode: request.Mode ?? 'echo',
    Channels: [{ switch_url: 'sip:mod_sofia@10.0.0.5:11000' }],
    'App-Name': 'ecallmgr',
    'App-Version': '4.3.0',
    Node: 'ecallmgr@fs1.test',
    'Server-ID': RESPONDER_SERVER_ID,
  });
}

export class KazooResponder {
  readonly exchange: string;
  readonly queue: string;
  readonly bindingKey: string;
  readonly requests: ResponderRequest[] = [];
  readonly replies: ResponderReply[] = [];
  /** Number of reorder batches flushed in an order different from their arrival order. */
  reorderedBatches = 0;
  /** Errors in the responder (bad request bodies, failed publishes): tests assert it stays empty. */
  readonly errors: Error[] = [];

  private connection!: amqplib.ChannelModel;
  private consumeChannel!: amqplib.Channel;
  private replyChannel!: amqplib.ConfirmChannel;
  private readonly exchangeType: 'direct' | 'topic' | 'fanout';
  private readonly reorderBatch: number;
  private readonly reorderFlushMs: number;
  private held: ResponderRequest[] = [];
  private flushTimer?: NodeJS.Timeout;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly replyWaiters = new Map<unknown, Array<(r: ResponderReply) => void>>();
  private stopped = false;
  private flips = 0;

  private constructor(options: ResponderOptions) {
    this.exchange = options.exchange ?? uniqueName('rpc-x');
    this.exchangeType = options.exchangeType ?? 'topic';
    this.queue = uniqueName('rpc-q');
    this.bindingKey = options.bindingKey ?? (this.exchangeType === 'topic' ? '#' : this.queue);
    this.reorderBatch = options.reorderBatch ?? 64;
    this.reorderFlushMs = options.reorderFlushMs ?? 25;
  }

  /** Connects, declares the exchange and request queue, binds and starts consuming. */
  static async start(options: ResponderOptions = {}): Promise<KazooResponder> {
    const r = new KazooResponder(options);
    await r.open();
    return r;
  }

  private async open(): Promise<void> {
    this.connection = await amqplib.connect(AMQP_URL);
    this.connection.on('error', (e: Error) => this.errors.push(e));
    this.consumeChannel = await this.connection.createChannel();
    this.replyChannel = await this.connection.createConfirmChannel();
    await this.consumeChannel.assertExchange(this.exchange, this.exchangeType, { durable: false, autoDelete: false });
    // Kazoo and the module declare `targeted` like this; declaring it here too keeps replies
    // routable even before any kazoo-amqp client connected.
    await this.replyChannel.assertExchange('targeted', 'direct', { durable: false, autoDelete: false });
    await this.consumeChannel.assertQueue(this.queue, { durable: false, exclusive: true, autoDelete: true });
    await this.consumeChannel.bindQueue(this.queue, this.exchange, this.bindingKey);
    await this.consumeChannel.consume(this.queue, (m) => m && this.onRequest(m), { noAck: true });
  }

  private onRequest(m: amqplib.ConsumeMessage): void {
    const raw = m.content.toString('utf8');
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw) as Record<string, unknown>;
    } catch (e) {
      this.errors.push(new Error(`responder: request is not JSON: ${raw.slice(0, 200)} (${String(e)})`));
      return;
    }
    const request: ResponderRequest = {
      raw,
      body,
      routingKey: m.fields.routingKey,
      exchange: m.fields.exchange,
      contentType: m.properties.contentType,
      headers: (m.properties.headers ?? {}) as Record<string, unknown>,
      receivedAt: Date.now(),
    };
    this.requests.push(request);
    const mode = typeof body.Mode === 'string' ? body.Mode : 'echo';
    const delay = typeof body['Delay-Ms'] === 'number' ? body['Delay-Ms'] : 0;
    switch (mode) {
      case 'never':
        return;
      case 'reorder':
        this.held.push(request);
        if (this.held.length >= this.reorderBatch) this.flush();
        else if (!this.flushTimer) this.flushTimer = setTimeout(() => this.flush(), this.reorderFlushMs);
        return;
      case 'echo':
      case 'late':
      default:
        if (delay > 0) {
          const t = setTimeout(() => {
            this.timers.delete(t);
            this.reply(request);
          }, delay);
          this.timers.add(t);
        } else {
          this.reply(request);
        }
    }
  }

  /** Answers the held reorder batch: alternately reversed and shuffled. */
  private flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const batch = this.held;
    this.held = [];
    if (batch.length === 0) return;
    const order = batch.slice();
    if (this.flips++ % 2 === 0) {
      order.reverse();
    } else {
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(Math.random() * (i + 1));
        [order[i], order[j]] = [order[j], order[i]];
      }
    }
    if (order.some((r, i) => r !== batch[i])) this.reorderedBatches++;
    for (const request of order) this.reply(request);
  }

  private reply(request: ResponderRequest): void {
    if (this.stopped) return;
    const { body } = request;
    const serverId = body['Server-ID'];
    // Kazoo copies Msg-ID as it came (kz_api:msg_id/1); a non-string one is copied as is.
    const msgId = body['Msg-ID'];
    if (typeof serverId !== 'string' || msgId === undefined) {
      this.errors.push(new Error(`responder: request without Server-ID/Msg-ID: ${request.raw.slice(0, 200)}`));
      return;
    }
    const text =
      typeof body['Reply-Raw'] === 'string' ? body['Reply-Raw'].split('{{MSG_ID}}').join(String(msgId)) : defaultReplyBody(body);
    let resolveConfirmed!: () => void;
    let rejectConfirmed!: (e: Error) => void;
    const confirmed = new Promise<void>((res, rej) => {
      resolveConfirmed = res;
      rejectConfirmed = rej;
    });
    confirmed.catch((e: Error) => this.errors.push(e));
    const routingKey = typeof body['Reply-Key'] === 'string' ? body['Reply-Key'] : serverId;
    const reply: ResponderReply = { token: body.Token, msgId, routingKey, body: text, confirmed };
    this.replies.push(reply);
    this.replyChannel.publish('targeted', routingKey, Buffer.from(text, 'utf8'), { contentType: 'application/json' }, (err) =>
      err ? rejectConfirmed(err instanceof Error ? err : new Error(String(err))) : resolveConfirmed(),
    );
    const waiters = this.replyWaiters.get(body.Token);
    if (waiters) {
      this.replyWaiters.delete(body.Token);
      for (const w of waiters) w(reply);
    }
  }

  /** Resolves with the reply to the request carrying `token`, once the broker confirmed it. */
  async repliedTo(token: unknown, timeoutMs = 10_000): Promise<ResponderReply> {
    let reply = this.replies.find((r) => r.token === token);
    if (!reply) {
      reply = await new Promise<ResponderReply>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`responder: no reply to token ${String(token)} within ${timeoutMs} ms`)), timeoutMs);
        const list = this.replyWaiters.get(token) ?? [];
        list.push((r) => {
          clearTimeout(t);
          resolve(r);
        });
        this.replyWaiters.set(token, list);
      });
    }
    await reply.confirmed;
    return reply;
  }

  /** Waits until at least `count` requests were consumed. */
  async waitForRequests(count: number, timeoutMs = 15_000): Promise<ResponderRequest[]> {
    await waitFor(() => this.requests.length >= count, timeoutMs, `${count} requests at the responder (have ${this.requests.length})`);
    return this.requests;
  }

  /** The request carrying `token`, if consumed. */
  requestFor(token: unknown): ResponderRequest | undefined {
    return this.requests.find((r) => r.body.Token === token);
  }

  /** Stops answering, deletes the exchange and queue, closes the connection. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const quietly = async (op: () => Promise<unknown>) => {
      try {
        await op();
      } catch {
        /* a closed channel or an already deleted object is fine here */
      }
    };
    await quietly(() => this.replyChannel.waitForConfirms());
    // A channel the broker closed cannot delete anything: use a fresh one.
    await quietly(async () => {
      const ch = await this.connection.createChannel();
      await ch.deleteQueue(this.queue);
      await ch.deleteExchange(this.exchange);
      await ch.close();
    });
    await quietly(() => this.connection.close());
  }
}
