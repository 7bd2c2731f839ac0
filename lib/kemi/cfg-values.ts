/**
 * What 2600hz's Kamailio build evaluates inside `#!substdef` values and `modparamx` arguments:
 * `$def(NAME)`, `$defn(NAME)`, `$env(NAME)`, `$HN(f|n|d|i)` and `$(version(num){re.subst,/re/repl/})`,
 * plus the host facts `$HN` reads.
 */
import { hostname, networkInterfaces } from 'node:os';

/** This host as Kamailio's `$HN` sees it. */
export interface HostInfo {
  /** `$HN(f)`: fully qualified name. */
  fqdn: string;
  /** `$HN(n)`: the name up to the first dot. */
  name: string;
  /** `$HN(d)`: the domain after the first dot ('' when the name has none). */
  domain: string;
  /** `$HN(i)`: the first non-internal IPv4 address (127.0.0.1 when there is none). */
  ip: string;
}

/**
 * The Kamailio version `$version(num)` reports in the shim: the newest series whose
 * `dispatcher-role-<major>.cfg` kazoo-configs-kamailio ships.
 */
export const EMULATED_KAMAILIO_VERSION = '5.7.4';

/** Reads this host's `$HN` facts from `os.hostname()` and the network interfaces. */
export function localHostInfo(): HostInfo {
  const fqdn = hostname();
  const dot = fqdn.indexOf('.');
  let ip = '127.0.0.1';
  for (const list of Object.values(networkInterfaces())) {
    const found = (list ?? []).find((a) => a.family === 'IPv4' && !a.internal);
    if (found) {
      ip = found.address;
      break;
    }
  }
  return { fqdn, name: dot < 0 ? fqdn : fqdn.slice(0, dot), domain: dot < 0 ? '' : fqdn.slice(dot + 1), ip };
}

/** A define's value as `$def` gives it: surrounding double quotes removed. */
export function unquote(value: string): string {
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
}

/**
 * Expands the pseudo-variables above in `text`; anything else (e.g. `$avp(x)`, `$ru`) is kept
 * as written. An undefined `$def(NAME)` gives '' (Kamailio's null).
 * @param throwError builds the error for a malformed expression (the caller adds file and line).
 */
export function expandCfgValue(
  text: string,
  defines: ReadonlyMap<string, string>,
  host: HostInfo,
  throwError: (message: string) => never,
): string {
  return text.replace(/\$\(version\(num\)\{re\.subst,(.)(.*?)\1(.*?)\1([gi]*)\}\)|\$(def|defn|env|HN)\(([^)]*)\)/g, (whole, d, re, repl, flags, fn, arg) => {
    if (d !== undefined) return reSubst(EMULATED_KAMAILIO_VERSION, re, repl, flags, throwError);
    switch (fn) {
      case 'def':
        return defines.has(arg) ? unquote(defines.get(arg) as string) : '';
      case 'defn': {
        const n = Number.parseInt(unquote(defines.get(arg) ?? ''), 10);
        return Number.isNaN(n) ? '0' : String(n);
      }
      case 'env':
        return process.env[arg] ?? '';
      case 'HN':
        if (arg === 'f') return host.fqdn;
        if (arg === 'n') return host.name;
        if (arg === 'd') return host.domain;
        if (arg === 'i') return host.ip;
        return throwError(`$HN(${arg}) must be $HN(f), $HN(n), $HN(d) or $HN(i)`);
      default:
        return whole;
    }
  });
}

/** Kamailio's `{re.subst,/re/repl/flags}` on one value: POSIX-ish regex, `\N` back-references. */
export function reSubst(input: string, re: string, repl: string, flags: string, throwError: (m: string) => never): string {
  let regex: RegExp;
  try {
    regex = new RegExp(re, flags.includes('i') ? (flags.includes('g') ? 'gi' : 'i') : flags.includes('g') ? 'g' : '');
  } catch (error) {
    return throwError(`invalid regular expression /${re}/: ${(error as Error).message}`);
  }
  return input.replace(regex, (...groups: unknown[]) =>
    repl.replace(/\\(\d)/g, (_, n: string) => String(groups[Number(n)] ?? '')),
  );
}
