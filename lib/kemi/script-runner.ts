/**
 * Runs an app_jsdt-style script against a Kazoo client: evaluates it in a node:vm context with a
 * global `KSR`, and makes its `event_callback` function the client's KEMI catch-all
 * (`Kazoo.eventCallback`, docs/module-behaviour.md#kemi-mode), called with the event name and `$kzE`/`$kzRK` set for
 * that event only. A script exception fails the handler (the nack rules of routes apply) with a
 * message naming the script's file and line; the client keeps going.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import * as vm from 'node:vm';
import { KazooError } from '../errors';
import type { Kazoo, KazooEvent } from '../kazoo';
import { LogSink } from '../logger';
import { createKsr, type Ksr } from './ksr';
import { KsrExit, type KemiLogger, type KsrHost } from './ksr-kazoo';
import { PvAccess, PvContext, type PvValue } from './pv';

/** Options of {@link KemiScript}. */
export interface KemiScriptOptions {
  /**
   * Where KSR.info/warn/err/... and the runner's own messages go. Default: the client's
   * `kazoo.logger` when it has a `logger` option, else console. Every line is redacted either way
   * (the configured passwords and URL credentials become `***`).
   */
  logger?: KemiLogger;
  /**
   * The function that receives events; default the client's `event_callback` parameter, else
   * `ksr_kazoo_event`.
   */
  eventCallback?: string;
}

/**
 * The script's logger: `given` or console behind the client's redaction, or the client's own
 * sink when it has a `logger` option (already redacting).
 */
function kemiLogger(kazoo: Kazoo, given: KemiLogger | undefined): KemiLogger {
  if (given === undefined && kazoo.config.logger !== null) return kazoo.logger;
  if (given instanceof LogSink) return given;
  return new LogSink(given ?? console, kazoo.config.servers.map((s) => s.password));
}

/** An error thrown by the script, located in it. */
function located(error: unknown, file: string, fn: string): KazooError {
  // Errors made inside the script's context are not instances of this realm's Error.
  const e = error as { stack?: unknown; name?: unknown; message?: unknown } | null;
  const isError = e !== null && typeof e === 'object' && typeof e.message === 'string';
  const stack = isError && typeof e.stack === 'string' ? e.stack : '';
  const escaped = file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const at = new RegExp(`${escaped}:(\\d+)(?::(\\d+))?`).exec(stack);
  const where = at ? `${file}:${at[1]}` : file;
  const what = isError ? `${String(e.name)}: ${String(e.message)}` : String(error);
  const out = new KazooError('HANDLER_FAILED', `kazoo: ${where}: ${fn}() threw ${what}`, { file, line: at ? Number(at[1]) : undefined });
  (out as Error & { cause?: unknown }).cause = error;
  return out;
}

/**
 * One loaded script bound to one client. Kamailio: app_jsdt's `load` script with the kazoo
 * module's `event_callback`.
 */
export class KemiScript {
  /** The script's KSR. */
  readonly ksr: Ksr;
  /** Absolute path of the script. */
  readonly file: string;
  private readonly context: vm.Context;
  private readonly module: { exports: Record<string, unknown> };
  private readonly logger: KemiLogger;
  private readonly shared = new Map<string, PvValue>();
  private readonly pv: PvAccess;
  private readonly stack: Array<{ ctx: PvContext; tracked: Promise<unknown>[] }> = [];
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly outside: PvContext;
  private callbackName = '';

  /**
   * Loads and evaluates `file` (top-level code runs now).
   * @throws KazooError INVALID_CONFIG when the file cannot be read, HANDLER_FAILED (with file and
   *   line) when its top-level code throws.
   */
  constructor(
    readonly kazoo: Kazoo,
    file: string,
    private readonly options: KemiScriptOptions = {},
  ) {
    this.file = resolve(file);
    this.logger = kemiLogger(kazoo, options.logger);
    this.pv = new PvAccess({ escapeChar: kazoo.config.json_escape_char, encodeCompat: kazoo.config.encode_compat });
    this.outside = new PvContext(this.shared);
    const host: KsrHost = {
      kazoo,
      pv: this.pv,
      logger: this.logger,
      current: () => (this.stack.length > 0 ? this.stack[this.stack.length - 1].ctx : this.outside),
      callFunction: (name, ctx, arg) => this.callDetached(name, ctx, arg),
      track: (operation) => this.track(operation),
    };
    this.ksr = createKsr(host);
    let source: string;
    try {
      source = readFileSync(this.file, 'utf8');
    } catch (error) {
      throw new KazooError('INVALID_CONFIG', `kazoo: cannot read script ${this.file}: ${(error as Error).message}`, { file: this.file });
    }
    this.module = { exports: {} };
    this.context = vm.createContext({
      KSR: this.ksr,
      console,
      module: this.module,
      exports: this.module.exports,
      require: createRequire(this.file),
    });
    try {
      new vm.Script(source, { filename: this.file }).runInContext(this.context);
    } catch (error) {
      throw located(error, this.file, '(top level)');
    }
  }

  /** The script function `name` (module.exports first, then globals), if any. */
  fn(name: string): ((...args: unknown[]) => unknown) | undefined {
    const exported = this.module.exports[name] ?? (this.context.module as { exports: Record<string, unknown> }).exports?.[name];
    if (typeof exported === 'function') return exported as (...args: unknown[]) => unknown;
    const global = (this.context as Record<string, unknown>)[name];
    return typeof global === 'function' ? (global as (...args: unknown[]) => unknown) : undefined;
  }

  /**
   * Makes the script's event function the client's KEMI catch-all (kazoo:mod-init and every
   * kazoo:consumer-event). Call before `connect()`.
   * @throws KazooError INVALID_CONFIG when the script has no such function.
   */
  attach(): this {
    const name = this.options.eventCallback ?? this.kazoo.config.event_callback ?? 'ksr_kazoo_event';
    if (!this.fn(name)) {
      throw new KazooError(
        'INVALID_CONFIG',
        `kazoo: event_callback must name a function of ${this.file}, got ${JSON.stringify(name)} (set modparam("kazoo", "event_callback", "<function>"))`,
        { param: 'event_callback' },
      );
    }
    this.callbackName = name;
    this.kazoo.eventCallback((event) => this.handle(event));
    return this;
  }

  /** Settles once every publish, subscription and async query the script started has settled. */
  async idle(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  private handle(event: KazooEvent): void | Promise<void> {
    const ctx = new PvContext(this.shared);
    if (event.name !== 'kazoo:mod-init') {
      ctx.kzE = event.payload;
      ctx.kzRK = event.routingKey === '' ? null : event.routingKey;
    }
    const tracked = this.invoke(this.callbackName, ctx, event.name);
    // The handler settles once what the script sent has: acks follow the publishes (as the module
    // acks after its publisher tried to send), mod-init ends once subscriptions are declared.
    if (tracked.length > 0) return Promise.all(tracked).then(() => undefined);
  }

  /** Runs `name(arg)` with `ctx` current; throws the script's error, located. */
  private invoke(name: string, ctx: PvContext, arg: string): Promise<unknown>[] {
    const fn = this.fn(name);
    if (!fn) throw new KazooError('HANDLER_FAILED', `kazoo: ${this.file}: no function ${name}`);
    const frame = { ctx, tracked: [] as Promise<unknown>[] };
    this.stack.push(frame);
    try {
      fn(arg);
    } catch (error) {
      if (!(error instanceof KsrExit)) throw located(error, this.file, name);
    } finally {
      this.stack.pop();
    }
    return frame.tracked;
  }

  /** Continuations (async query callbacks): errors are logged, nothing to settle. */
  private callDetached(name: string, ctx: PvContext, arg: string): boolean {
    if (!this.fn(name)) return false;
    try {
      this.invoke(name, ctx, arg);
    } catch (error) {
      this.logger.error((error as Error).message);
    }
    return true;
  }

  private track(operation: Promise<unknown>): void {
    const frame = this.stack[this.stack.length - 1];
    if (frame) frame.tracked.push(operation);
    this.inflight.add(operation);
    const done = () => this.inflight.delete(operation);
    operation.then(done, done);
  }
}
