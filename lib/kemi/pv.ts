/**
 * Kamailio pseudo-variables for KEMI scripts: `$kzE`, `$kzR`, `$kzRK`, `$var(...)`, `$avp(...)`,
 * `$shv(...)` (and `$cnt($avp(...))`), read with transformations written as in Kamailio,
 * `$(kzE{kz.json,Path})`: the module's `kz.encode`, `kz.json`, `kz.json.count` (docs/module-behaviour.md#json-paths) and a
 * handful of `s.*`. One {@link PvContext} per event: handlers running in different lanes never
 * see each other's `$kzE`.
 */
import { encode, type EncodeCompat } from '../encode';
import { invalid, KazooError } from '../errors';
import { json, jsonCount } from '../json';

/** A PV value as Kamailio holds it: a string, an integer, or null. */
export type PvValue = string | number | null;

/**
 * The variables one event (or one async-query continuation) sees. `$var` and `$avp` start empty
 * for every event (a Kamailio worker's `$var` outlives a message, but which worker gets a message
 * is not predictable, so scripts cannot rely on it); `$shv` is shared by all events.
 */
export class PvContext {
  /** `$kzE`: the payload of the event being handled, null outside event handling. */
  kzE: string | null = null;
  /** `$kzRK`: the routing key of the delivery being handled. */
  kzRK: string | null = null;
  /** `$kzR`: the last `kazoo_query` reply in this context, or the async query's reply. */
  kzR: string | null = null;
  readonly vars = new Map<string, PvValue>();
  /** Each AVP name holds a stack of values, newest first (`$(avp(x)[0])` is the newest). */
  readonly avps = new Map<string, PvValue[]>();

  constructor(readonly shared: Map<string, PvValue>) {}

  /** A new context carrying this one's `$var` and `$avp` (an async-query continuation). */
  fork(): PvContext {
    const next = new PvContext(this.shared);
    for (const [k, v] of this.vars) next.vars.set(k, v);
    for (const [k, v] of this.avps) next.avps.set(k, [...v]);
    return next;
  }
}

/** Settings the transformations need from the client. */
export interface PvOptions {
  escapeChar: string;
  encodeCompat: EncodeCompat;
}

interface Transformation {
  name: string;
  /** Raw parameter text (kz.json path). */
  param: string;
}

interface ParsedPv {
  cls: 'kzE' | 'kzR' | 'kzRK' | 'var' | 'avp' | 'shv' | 'cnt';
  name: string;
  index: number | null;
  transformations: Transformation[];
  spec: string;
}

const TRANSFORMATIONS = new Set([
  'kz.encode',
  'kz.json',
  'kz.json.count',
  's.len',
  's.int',
  's.tolower',
  's.toupper',
  's.encode.base64',
  's.decode.base64',
]);

const cache = new Map<string, ParsedPv>();

function parseError(spec: string, why: string): KazooError {
  return invalid('INVALID_ARGUMENT', 'pv', `a pseudo-variable kazoo-amqp knows (${why})`, spec);
}

/**
 * Parses a PV spec. Accepted: `$kzE`, `$kzR`, `$kzRK`, `$var(n)`, `$avp(n)`, `$shv(n)`,
 * `$cnt($avp(n))`, and `$(<one of those without $>[index]{tr}{tr}...)`.
 * @throws KazooError INVALID_ARGUMENT naming the spec, or the unknown transformation.
 */
export function parsePv(spec: string): ParsedPv {
  if (typeof spec !== 'string') throw invalid('INVALID_ARGUMENT', 'pv', 'a string such as "$var(x)"', spec);
  const hit = cache.get(spec);
  if (hit) return hit;
  let body: string;
  let trs = '';
  let index: number | null = null;
  if (spec.startsWith('$(') && spec.endsWith(')')) {
    const inner = spec.slice(2, -1);
    const m = /^([A-Za-z]+(?:\([^)]*\))?)(?:\[(-?\d+)\])?((?:\{.*\})*)$/s.exec(inner);
    if (!m) throw parseError(spec, 'cannot parse it');
    body = `$${m[1]}`;
    if (m[2] !== undefined) index = Number(m[2]);
    trs = m[3];
  } else {
    body = spec;
  }
  const m = /^\$(kzE|kzR|kzRK|var|avp|shv|cnt)(?:\((.*)\))?$/.exec(body);
  if (!m) throw parseError(spec, 'one of $kzE, $kzR, $kzRK, $var(...), $avp(...), $shv(...), $cnt($avp(...))');
  const cls = m[1] as ParsedPv['cls'];
  const name = m[2] ?? '';
  const named = cls === 'var' || cls === 'avp' || cls === 'shv' || cls === 'cnt';
  if (named !== (m[2] !== undefined) || (named && name === '')) throw parseError(spec, `$${cls} ${named ? 'needs a (name)' : 'takes no name'}`);
  if (cls === 'cnt' && !/^\$avp\([^)]+\)$/.test(name)) throw parseError(spec, '$cnt takes an $avp(name)');
  const transformations = splitTransformations(trs, spec);
  const parsed: ParsedPv = { cls, name: cls === 'cnt' ? name.slice(5, -1) : name, index, transformations, spec };
  if (cache.size > 4096) cache.clear();
  cache.set(spec, parsed);
  return parsed;
}

function splitTransformations(text: string, spec: string): Transformation[] {
  const out: Transformation[] = [];
  let i = 0;
  while (i < text.length) {
    if (text[i] !== '{') throw parseError(spec, 'transformations must be written {name,param}');
    let depth = 0;
    let j = i;
    for (; j < text.length; j++) {
      if (text[j] === '{') depth++;
      else if (text[j] === '}' && --depth === 0) break;
    }
    const inner = text.slice(i + 1, j);
    const comma = inner.indexOf(',');
    const name = (comma < 0 ? inner : inner.slice(0, comma)).trim().toLowerCase();
    if (!TRANSFORMATIONS.has(name)) {
      throw new KazooError('INVALID_ARGUMENT', `kazoo: unknown transformation {${name}} in ${spec} (known: ${[...TRANSFORMATIONS].join(', ')})`, { param: 'pv' });
    }
    const param = comma < 0 ? '' : inner.slice(comma + 1);
    if ((name === 'kz.json' || name === 'kz.json.count') && comma < 0) {
      throw new KazooError('INVALID_ARGUMENT', `kazoo: transformation {${name}} needs a path, as {${name},Path}, in ${spec}`, { param: 'pv' });
    }
    out.push({ name, param });
    i = j + 1;
  }
  return out;
}

/** Reads and writes PVs of one {@link PvContext}. Kamailio: `KSR.pv.*` over the pv module. */
export class PvAccess {
  constructor(private readonly options: PvOptions) {}

  /** The value of `spec` (transformations applied); null when unset. Kamailio: `KSR.pv.get`. */
  get(ctx: PvContext, spec: string): PvValue {
    const pv = parsePv(spec);
    let value = this.base(ctx, pv);
    for (const tr of pv.transformations) value = this.transform(ctx, tr, value);
    return value;
  }

  /** Sets a writable PV (`$var`, `$avp`, `$shv`). Kamailio: `KSR.pv.sets` / `KSR.pv.seti`. */
  set(ctx: PvContext, spec: string, value: PvValue): void {
    const pv = parsePv(spec);
    if (pv.transformations.length > 0 || pv.index !== null || pv.cls === 'kzE' || pv.cls === 'kzR' || pv.cls === 'kzRK' || pv.cls === 'cnt') {
      throw invalid('INVALID_ARGUMENT', 'pv', 'a writable pseudo-variable ($var, $avp or $shv, without transformations)', spec);
    }
    if (pv.cls === 'var') ctx.vars.set(pv.name, value);
    else if (pv.cls === 'shv') ctx.shared.set(pv.name, value);
    else if (value === null) ctx.avps.delete(pv.name);
    else {
      // Assigning an AVP adds a value on top of the ones it holds, as in Kamailio.
      const stack = ctx.avps.get(pv.name) ?? [];
      stack.unshift(value);
      ctx.avps.set(pv.name, stack);
    }
  }

  /** Unsets a writable PV (every value of an AVP). Kamailio: `KSR.pv.unset`. */
  unset(ctx: PvContext, spec: string): void {
    const pv = parsePv(spec);
    if (pv.cls === 'avp') ctx.avps.delete(pv.name);
    else this.set(ctx, spec, null);
  }

  /** Expands every PV inside `text`, as the module's "spve" arguments are (null renders as ''). */
  expand(ctx: PvContext, text: string): string {
    if (!text.includes('$')) return text;
    return text.replace(/\$\((?:[^(){}]|\([^)]*\)|\{[^}]*\})*\)|\$(?:kzRK|kzR|kzE)|\$(?:var|avp|shv)\([^)]*\)/g, (spec) => {
      const value = this.get(ctx, spec);
      return value === null ? '' : String(value);
    });
  }

  private base(ctx: PvContext, pv: ParsedPv): PvValue {
    switch (pv.cls) {
      case 'kzE':
        return ctx.kzE;
      case 'kzR':
        return ctx.kzR;
      case 'kzRK':
        return ctx.kzRK;
      case 'var':
        return ctx.vars.get(pv.name) ?? null;
      case 'shv':
        return ctx.shared.get(pv.name) ?? null;
      case 'cnt':
        return ctx.avps.get(pv.name)?.length ?? 0;
      case 'avp': {
        const stack = ctx.avps.get(pv.name);
        if (!stack) return null;
        return stack[pv.index === null ? 0 : pv.index < 0 ? stack.length + pv.index : pv.index] ?? null;
      }
    }
  }

  /** The kz.json path parameter: one PV when it starts with `$`, else a literal expanded as spve (docs/module-behaviour.md#json-paths). */
  private path(ctx: PvContext, param: string): string | null {
    const p = param.replace(/^[ \t\n]+/, '');
    if (p.startsWith('$')) {
      const value = this.get(ctx, p);
      return typeof value === 'string' && value !== '' ? value : null;
    }
    return this.expand(ctx, p);
  }

  private transform(ctx: PvContext, tr: Transformation, value: PvValue): PvValue {
    const o = { escapeChar: this.options.escapeChar };
    switch (tr.name) {
      case 'kz.encode':
        // The module's transformation error on a non-string: the PV reads as null.
        return typeof value === 'string' ? encode(value, { compat: this.options.encodeCompat }) : null;
      case 'kz.json': {
        if (typeof value !== 'string') return null;
        const path = this.path(ctx, tr.param);
        return path === null ? null : (json(value, path, o) ?? '');
      }
      case 'kz.json.count': {
        const path = this.path(ctx, tr.param);
        return typeof value === 'string' && path !== null ? jsonCount(value, path, o) : 0;
      }
      case 's.len':
        return value === null ? 0 : Buffer.byteLength(String(value));
      case 's.int': {
        if (typeof value === 'number') return value;
        const n = Number.parseInt(value ?? '', 10);
        return Number.isNaN(n) ? 0 : n;
      }
      case 's.tolower':
        return value === null ? null : String(value).toLowerCase();
      case 's.toupper':
        return value === null ? null : String(value).toUpperCase();
      case 's.encode.base64':
        return value === null ? null : Buffer.from(String(value)).toString('base64');
      case 's.decode.base64':
        return value === null ? null : Buffer.from(String(value), 'base64').toString();
      default:
        throw new KazooError('INVALID_ARGUMENT', `kazoo: unknown transformation {${tr.name}}`, { param: 'pv' });
    }
  }
}
