/**
 * The subject: kazoo-amqp, through its public API only.
 *
 * The library is loaded at run time (from dist/lib, next to dist/bench) so that a missing or
 * half-finished build is reported as "not available" in the results instead of breaking the whole
 * harness. Each feature a scenario needs is checked before use; nothing is ever emulated.
 */
import * as fs from 'fs';
import * as path from 'path';
import type * as KazooLib from '../../lib';
import { FeatureUnavailable } from '../types';
import { windowed } from '../support/flow';
import { AmqpBenchClient, ClientOptions, PublishManyOptions, SubscribeOptions } from './types';

/** The package's exports, typed from lib/ (a type-only import: nothing is loaded at compile time). */
export type KazooModule = typeof KazooLib;
/** A `Kazoo` instance. */
export type KazooInstance = InstanceType<KazooModule['Kazoo']>;

const LIB_ENTRY = path.resolve(__dirname, '..', '..', 'lib', 'index.js');
const ADDON = path.resolve(__dirname, '..', '..', '..', 'build', 'Release', 'kazoo_amqp.node');

let cached: KazooModule | null = null;

/**
 * Loads dist/lib. Throws {@link FeatureUnavailable} when the compiled library or the native addon
 * is missing, or when the package does not export `Kazoo`.
 */
export function loadKazoo(): KazooModule {
  if (cached) return cached;
  if (!fs.existsSync(LIB_ENTRY)) {
    throw new FeatureUnavailable(`kazoo-amqp is not built: ${path.relative(process.cwd(), LIB_ENTRY)} is missing`);
  }
  if (!fs.existsSync(ADDON)) {
    throw new FeatureUnavailable(
      `kazoo-amqp native addon is not built: ${path.relative(process.cwd(), ADDON)} is missing`,
    );
  }
  // Loaded at run time by path, so a missing build is reported instead of failing the import.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(LIB_ENTRY) as Partial<KazooModule>;
  if (typeof mod.Kazoo !== 'function') throw new FeatureUnavailable('kazoo-amqp does not export Kazoo yet');
  cached = mod as KazooModule;
  return cached;
}

/** Throws {@link FeatureUnavailable} unless `obj[name]` is a function. */
export function requireFeature(obj: object, name: string, what: string): void {
  if (typeof (obj as Record<string, unknown>)[name] !== 'function') {
    throw new FeatureUnavailable(`${what} is not implemented yet`);
  }
}

/** kazoo-amqp adapter. */
export class KazooClient implements AmqpBenchClient {
  readonly id = 'kazoo-amqp' as const;

  private constructor(
    private readonly opts: ClientOptions,
    private readonly kz: KazooInstance,
  ) {}

  /** Creates and connects a Kazoo with the module's parameter names. */
  static async connect(opts: ClientOptions): Promise<KazooClient> {
    const { Kazoo } = loadKazoo();
    const kz = new Kazoo({
      node_hostname: opts.nodeHostname,
      amqp_connection: opts.broker.url,
      amqp_publisher_confirms: opts.confirms ? 1 : 0,
      amqp_consumer_prefetch: opts.prefetch,
    });
    requireFeature(kz, 'connect', 'Kazoo.connect()');
    await kz.connect();
    return new KazooClient(opts, kz);
  }

  publishMany(o: PublishManyOptions): Promise<number> {
    requireFeature(this.kz, 'publish', 'Kazoo.publish()');
    const kz = this.kz;
    return windowed({
      count: o.count,
      window: this.opts.window,
      stop: o.stop,
      yieldEvery: o.yieldEvery,
      start: () => kz.publish(o.exchange, o.routingKey, o.body),
    });
  }

  async subscribe(o: SubscribeOptions): Promise<void> {
    requireFeature(this.kz, 'eventRoute', 'Kazoo.eventRoute()');
    requireFeature(this.kz, 'subscribe', 'Kazoo.subscribe()');
    for (const [name, h] of Object.entries(o.routes)) this.kz.eventRoute(name, h);
    await this.kz.subscribe({
      exchange: o.exchange,
      type: 'topic',
      queue: o.queue,
      routing: o.routing,
      // Same flags as the harness and the baselines declare (top level applies to both, docs/module-behaviour.md#subscribe).
      durable: 0,
      auto_delete: 0,
      exclusive: 0,
      no_ack: 0,
      wait_for_consumer_ack: 1,
      prefetch: this.opts.prefetch,
    });
  }

  async query(exchange: string, routingKey: string, payload: string, timeoutMs: number): Promise<string> {
    requireFeature(this.kz, 'query', 'Kazoo.query()');
    const reply = await this.kz.query(exchange, routingKey, payload, { timeoutMs });
    return reply.payload;
  }

  async close(): Promise<void> {
    await this.kz.close();
  }
}
