/**
 * `KSR.kazoo.*`: the kazoo module's whole function table under its cfg names, with KEMI return
 * conventions (1 success, −1 failure, 0 "no connection" / "dispatched"), values written into the
 * named target PV. The module's KEMI exports only `kazoo_publish` and `kazoo_subscribe`
 * (docs/module-behaviour.md#script-functions); this shim offers query, async query, encode, json,
 * json_keys and the `kazoo_pua_publish*` presence writers as well.
 */
import type { Kazoo } from '../kazoo';
import type { KazooLogger } from '../logger';
import * as native from '../native';
import { normalizeSubscription } from '../subscription';
import { parseHeaders } from '../headers';
import { PvContext, type PvAccess } from './pv';

/** A `{debug, info, warn, error}` logger (console, pino and winston fit): the client's {@link KazooLogger}. */
export type KemiLogger = KazooLogger;

/** What the KSR functions need from the runner: the current context and the script's callbacks. */
export interface KsrHost {
  kazoo: Kazoo;
  pv: PvAccess;
  logger: KemiLogger;
  /** The context of the callback running now. */
  current(): PvContext;
  /** Runs the script function `name` in `ctx` (async-query continuations); false when it does not exist. */
  callFunction(name: string, ctx: PvContext, arg: string): boolean;
  /** Remembers an operation the current callback started (its handler settles after it). */
  track(operation: Promise<unknown>): void;
}

const MAX_KEY_BYTES = 255;

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The JSON text is one object json-c accepts (what publish and query require). */
function validPayload(payload: string): boolean {
  try {
    return /^\s*\{/.test(payload) && native.reserialize(payload).startsWith('{');
  } catch {
    return false;
  }
}

/** Top-level keys of a JSON object text, in document order (JSON.parse would reorder numeric keys). */
export function objectKeys(text: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (depth === 1) {
        let k = j + 1;
        while (k < text.length && /\s/.test(text[k])) k++;
        if (text[k] === ':') keys.push(JSON.parse(text.slice(i, j + 1)) as string);
      }
      i = j;
    } else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
  }
  return keys;
}

/**
 * Builds `KSR.kazoo` for a host. Every function takes strings as the module's "spve" arguments
 * (already expanded by the script: KEMI passes values, not specs), except the target names.
 */
export function createKsrKazoo(host: KsrHost): Record<string, (...args: never[]) => number> {
  const { kazoo, pv, logger } = host;
  const fail = (fn: string, error: unknown): number => {
    logger.error(`${fn}: ${reason(error)}`);
    return -1;
  };
  const checkSend = (fn: string, exchange: string, routingKey: string, payload: string, headers?: string): string | null => {
    if (typeof exchange !== 'string' || typeof routingKey !== 'string' || typeof payload !== 'string') return `${fn} takes strings`;
    if (Buffer.byteLength(exchange) > MAX_KEY_BYTES) return `exchange is longer than 255 bytes`;
    if (Buffer.byteLength(routingKey) > MAX_KEY_BYTES) return `routing key is longer than 255 bytes`;
    if (headers !== undefined) parseHeaders(headers);
    if (!validPayload(payload)) return `payload is not a JSON object: ${payload.slice(0, 80)}`;
    return null;
  };
  /** amqp_query_timeout_avp: a non-zero integer there is the timeout in ms (docs/configuration.md, amqp_query_timeout_avp). */
  const timeoutMs = (): number | undefined => {
    const spec = kazoo.config.amqp_query_timeout_avp;
    if (!spec) return undefined;
    const value = pv.get(host.current(), spec);
    const n = typeof value === 'number' ? value : Number.parseInt(value ?? '', 10);
    return Number.isInteger(n) && n > 0 ? n : undefined;
  };

  function kazoo_publish(exchange: string, routingKey: string, payload: string, headers?: string): number {
    try {
      const problem = checkSend('kazoo_publish', exchange, routingKey, payload, headers);
      if (problem) return fail('kazoo_publish', problem);
    } catch (error) {
      return fail('kazoo_publish', error);
    }
    if (!kazoo.connected) return 0;
    // The module returns once the publisher tried to send; here the handler settles after it.
    host.track(
      kazoo.publish(exchange, routingKey, payload, headers ? { headers } : undefined).catch((error) => {
        logger.error(`kazoo_publish to ${exchange}/${routingKey}: ${reason(error)}`);
      }),
    );
    return 1;
  }

  function kazoo_query(exchange: string, routingKey: string, payload: string, target?: string, headers?: string): number {
    const ctx = host.current();
    ctx.kzR = null;
    try {
      const problem = checkSend('kazoo_query', exchange, routingKey, payload, headers);
      if (problem) return fail('kazoo_query', problem);
      const timeout = timeoutMs();
      const options: { headers?: string; timeoutMs?: number } = {};
      if (headers) options.headers = headers;
      if (timeout !== undefined) options.timeoutMs = timeout;
      const reply = kazoo.querySync(exchange, routingKey, payload, options);
      ctx.kzR = reply.payload;
      // The 2600hz fork passes "flags" as the 4th argument: only a $-spec is a target.
      if (typeof target === 'string' && target.startsWith('$')) pv.set(ctx, target, reply.payload);
      return 1;
    } catch (error) {
      return fail('kazoo_query', error);
    }
  }

  function kazoo_async_query(exchange: string, routingKey: string, payload: string, callback: string, errback: string): number {
    const origin = host.current();
    try {
      const problem = checkSend('kazoo_async_query', exchange, routingKey, payload);
      if (problem) return fail('kazoo_async_query', problem);
      if (typeof callback !== 'string' || typeof errback !== 'string') return fail('kazoo_async_query', 'callback and error function names must be strings');
      const timeout = timeoutMs();
      const pending = kazoo.query(exchange, routingKey, payload, timeout === undefined ? undefined : { timeoutMs: timeout });
      // Continuations carry the caller's $var/$avp, as a suspended transaction keeps its AVPs.
      const ctx = origin.fork();
      const finished = pending.then(
        (reply) => {
          ctx.kzR = reply.payload;
          if (!host.callFunction(callback, ctx, callback)) logger.error(`kazoo_async_query: no function ${callback} in the script`);
        },
        (error) => {
          ctx.kzR = null;
          logger.warn(`kazoo_async_query to ${exchange}/${routingKey}: ${reason(error)}`);
          if (!host.callFunction(errback, ctx, errback)) logger.error(`kazoo_async_query: no function ${errback} in the script`);
        },
      );
      host.track(finished);
      return 0;
    } catch (error) {
      return fail('kazoo_async_query', error);
    }
  }

  function kazoo_subscribe(description: string, type?: string, queue?: string, routing?: string): number {
    try {
      if (type === undefined) {
        if (typeof description !== 'string') return fail('kazoo_subscribe', 'the description must be a JSON string');
        normalizeSubscription(description, kazoo.config);
      } else {
        normalizeSubscription({ exchange: description, type, queue, routing: routing as string }, kazoo.config);
      }
    } catch (error) {
      return fail('kazoo_subscribe', error);
    }
    const p = type === undefined ? kazoo.subscribe(description) : kazoo.subscribe(description, type, queue, routing);
    host.track(
      p.catch((error) => {
        logger.error(`kazoo_subscribe: ${reason(error)}`);
        throw error;
      }),
    );
    return 1;
  }

  function kazoo_encode(input: string, target: string): number {
    try {
      if (typeof input !== 'string' || Buffer.byteLength(input) > MAX_KEY_BYTES) return fail('kazoo_encode', 'input must be a string of at most 255 bytes');
      pv.set(host.current(), target, kazoo.encode(input));
      return 1;
    } catch (error) {
      return fail('kazoo_encode', error);
    }
  }

  function kazoo_json(payload: string, path: string, target: string): number {
    try {
      pv.set(host.current(), target, kazoo.json(String(payload ?? ''), String(path ?? '')));
      return 1;
    } catch (error) {
      return fail('kazoo_json', error);
    }
  }

  function kazoo_json_keys(payload: string, path: string, target: string): number {
    try {
      if (typeof target !== 'string' || !/^\$avp\([^)]+\)$/.test(target)) return fail('kazoo_json_keys', `the target must be an $avp(name), got ${String(target)}`);
      if (typeof path !== 'string' || path === '') return fail('kazoo_json_keys', 'the path must be a non-empty string');
      const value = kazoo.json(String(payload ?? ''), path);
      if (value === null) return 1;
      if (!value.startsWith('{')) return fail('kazoo_json_keys', `the value at ${path} is not an object`);
      const ctx = host.current();
      for (const key of objectKeys(value)) pv.set(ctx, target, key);
      return 1;
    } catch (error) {
      return fail('kazoo_json_keys', error);
    }
  }

  /**
   * The `kazoo_pua_publish*` family: −1 at once when presence is off (`pua_mode` ≠ 1 or no
   * `db_url`) or the payload is not a JSON object, as the module; otherwise 1, and the write
   * runs on the presentity database. The module reports 1 even when its write fails; here the
   * current handler settles after the write and fails with it (logged, nack rules), so a lost
   * presence update is never silent.
   */
  function puaWriter(name: string, write: (payload: string) => Promise<unknown>): (payload: string) => number {
    return (payload: string): number => {
      const c = kazoo.config;
      if (c.pua_mode !== 1 || c.db_url === null) return fail(name, 'presence is disabled (pua_mode is not 1 or db_url is unset)');
      if (typeof payload !== 'string' || !validPayload(payload)) return fail(name, 'the payload must be a JSON object');
      host.track(
        write(payload).catch((error) => {
          logger.error(`${name}: ${reason(error)}`);
          throw error;
        }),
      );
      return 1;
    };
  }

  return {
    kazoo_publish,
    kazoo_query,
    kazoo_async_query,
    kazoo_query_async: kazoo_async_query,
    kazoo_subscribe,
    kazoo_encode,
    kazoo_json,
    kazoo_json_keys,
    kazoo_pua_publish: puaWriter('kazoo_pua_publish', (p) => kazoo.puaPublish(p)),
    kazoo_pua_publish_dialoginfo: puaWriter('kazoo_pua_publish_dialoginfo', (p) => kazoo.puaPublishDialoginfo(p)),
    kazoo_pua_publish_mwi: puaWriter('kazoo_pua_publish_mwi', (p) => kazoo.puaPublishMwi(p)),
    kazoo_pua_publish_presence: puaWriter('kazoo_pua_publish_presence', (p) => kazoo.puaPublishPresence(p)),
  } as unknown as Record<string, (...args: never[]) => number>;
}

/** True for the error KSR.x.exit / KSR.x.drop throw to end a callback. */
export class KsrExit extends Error {
  constructor(readonly how: 'exit' | 'drop') {
    super(`KSR.x.${how}`);
  }
}
