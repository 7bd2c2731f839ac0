/**
 * The event-route dispatch the JS baselines do by hand, following the module's naming rules
 * (docs/module-behaviour.md#event-routes): `kazoo:consumer-event-<cat>-<name>`, lower-cased with `_` → `-`, falling back to
 * `…-<cat>`, `…-<key>-<subkey>`, `…-<key>` and `kazoo:consumer-event`.
 */

/** What a benchmark handler sees; kazoo-amqp's event object has (at least) these members. */
export interface BenchEvent {
  payload: string;
  routingKey: string;
  /** The payload as an object (kazoo-amqp parses it lazily on first access). */
  readonly data: unknown;
}

/** A consumer-event handler. */
export type BenchHandler = (ev: BenchEvent) => void;

function norm(s: string): string {
  return s.toLowerCase().replace(/_/g, '-');
}

function fieldText(v: unknown): string {
  if (v === undefined || v === null) return '';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** Route table for the JS baselines. */
export class JsEventRouter {
  private readonly routes = new Map<string, BenchHandler>();

  constructor(
    private readonly key = 'Event-Category',
    private readonly subkey = 'Event-Name',
  ) {}

  /** Registers `handler` under a full route name such as `kazoo:consumer-event-bench-echo`. */
  on(route: string, handler: BenchHandler): void {
    this.routes.set(route, handler);
  }

  /**
   * Parses `body`, resolves the route and calls its handler. Returns false when the body is not a
   * JSON object or no route matched (the caller then decides what to do with the message).
   */
  dispatch(body: string, routingKey: string): boolean {
    let data: unknown;
    try {
      data = JSON.parse(body);
    } catch {
      return false;
    }
    if (data === null || typeof data !== 'object' || Array.isArray(data)) return false;
    const obj = data as Record<string, unknown>;
    const cat = fieldText(obj[this.key]);
    const name = fieldText(obj[this.subkey]);
    const first = this.routes.get(`kazoo:consumer-event-${norm(cat)}-${norm(name)}`);
    const handler =
      first ??
      this.routes.get(`kazoo:consumer-event-${norm(cat)}`) ??
      this.routes.get(`kazoo:consumer-event-${norm(this.key)}-${norm(this.subkey)}`) ??
      this.routes.get(`kazoo:consumer-event-${norm(this.key)}`) ??
      this.routes.get('kazoo:consumer-event');
    if (handler) {
      handler({ payload: body, routingKey, data });
      return true;
    }
    return false;
  }
}
