/**
 * The hand-written Kazoo RPC of the JS baselines: inject the common fields, a fresh Msg-ID and our
 * Server-ID into the request, and resolve the pending query whose Msg-ID a reply carries. This is
 * the work kazoo-amqp's query() does natively.
 */
import { randomUUID } from 'crypto';
import { APP_VERSION } from '../config';

interface Pending {
  resolve(body: string): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

/** Correlation state of one baseline client. */
export class JsRpc {
  private readonly pending = new Map<string, Pending>();

  /**
   * @param serverId the routing key of this client's reply queue on `targeted`
   * @param node `Node` field value (`kamailio@<host>` for kazoo-amqp)
   */
  constructor(
    readonly serverId: string,
    private readonly node: string,
  ) {}

  /**
   * Builds the request body for `payload` and registers the query. The returned promise resolves
   * with the reply body or rejects after `timeoutMs`.
   */
  request(payload: string, timeoutMs: number): { body: Buffer; reply: Promise<string> } {
    const obj = JSON.parse(payload) as Record<string, unknown>;
    if (!('App-Name' in obj)) obj['App-Name'] = 'kamailio';
    if (!('App-Version' in obj)) obj['App-Version'] = APP_VERSION;
    if (!('Node' in obj)) obj['Node'] = this.node;
    const msgId = randomUUID();
    obj['Msg-ID'] = msgId;
    obj['Server-ID'] = this.serverId;
    const body = Buffer.from(JSON.stringify(obj));
    const reply = new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(msgId);
        reject(new Error(`query timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(msgId, { resolve, reject, timer });
    });
    return { body, reply };
  }

  /** Hands a delivery from the reply queue to its pending query; unknown Msg-IDs are dropped. */
  onReply(body: string): void {
    let msgId: unknown;
    try {
      msgId = (JSON.parse(body) as Record<string, unknown>)['Msg-ID'];
    } catch {
      return;
    }
    if (typeof msgId !== 'string') return;
    const p = this.pending.get(msgId);
    if (!p) return;
    this.pending.delete(msgId);
    clearTimeout(p.timer);
    p.resolve(body);
  }

  /** Rejects everything still pending (on close). */
  failAll(err: Error): void {
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.pending.clear();
  }
}
