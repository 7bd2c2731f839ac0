/**
 * The global `KSR` object an app_jsdt-style script sees: `KSR.kazoo.*` (ksr-kazoo.ts),
 * `KSR.pv.*` over the current event's {@link PvContext}, the log functions and `KSR.x`.
 */
import { createKsrKazoo, KsrExit, type KsrHost } from './ksr-kazoo';
import type { PvValue } from './pv';

/** The KSR object. Kamailio: the KEMI interface of app_jsdt. */
export interface Ksr {
  kazoo: Record<string, (...args: never[]) => number>;
  pv: {
    get(spec: string): PvValue;
    gete(spec: string): string | number;
    getw(spec: string): string | number;
    sets(spec: string, value: string): void;
    seti(spec: string, value: number): void;
    unset(spec: string): void;
    is_null(spec: string): boolean;
  };
  x: { exit(): never; drop(): never };
  dbg(message: string): void;
  info(message: string): void;
  notice(message: string): void;
  warn(message: string): void;
  err(message: string): void;
  crit(message: string): void;
  log(level: string, message: string): void;
}

/**
 * Builds KSR for a host. `KSR.pv.sets/seti` on a read-only or unknown PV, and any PV with an
 * unknown transformation, throw KazooError INVALID_ARGUMENT naming it (the script's callback then
 * fails and is logged with file and line).
 */
export function createKsr(host: KsrHost): Ksr {
  const { pv, logger } = host;
  const text = (m: unknown) => String(m).replace(/\n$/, '');
  const log = (level: string, message: string) => {
    const m = text(message);
    switch (level) {
      case 'dbg':
      case 'debug':
        return logger.debug(m);
      case 'info':
      case 'notice':
        return logger.info(m);
      case 'warn':
        return logger.warn(m);
      default:
        return logger.error(m);
    }
  };
  return {
    kazoo: createKsrKazoo(host),
    pv: {
      get: (spec) => pv.get(host.current(), spec),
      gete: (spec) => pv.get(host.current(), spec) ?? '',
      getw: (spec) => pv.get(host.current(), spec) ?? '<null>',
      sets: (spec, value) => pv.set(host.current(), spec, String(value)),
      seti: (spec, value) => pv.set(host.current(), spec, Math.trunc(Number(value))),
      unset: (spec) => pv.unset(host.current(), spec),
      is_null: (spec) => pv.get(host.current(), spec) === null,
    },
    x: {
      exit: () => {
        throw new KsrExit('exit');
      },
      drop: () => {
        throw new KsrExit('drop');
      },
    },
    dbg: (m) => log('dbg', m),
    info: (m) => log('info', m),
    notice: (m) => log('notice', m),
    warn: (m) => log('warn', m),
    err: (m) => log('err', m),
    crit: (m) => log('crit', m),
    log: (level, m) => log(String(level), m),
  };
}
