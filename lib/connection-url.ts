/**
 * One `amqp_connection` entry (docs/module-behaviour.md#broker-urls, #zones): the optional `zone=<name>;` prefix and the
 * broker URL, parsed with rabbitmq-c's `amqp_parse_url` rules, and URL redaction for logs.
 */

import { inspect } from 'node:util';
import { invalid, KazooError } from './errors';

/** One configured broker: one `amqp_connection` entry, after parsing. */
export interface ServerEndpoint {
  /** 1-based position among all `amqp_connection` entries (the module's server id, `<S>`). */
  serverId: number;
  /** Zone name: the `zone=<name>;` prefix, else the primary zone's name. */
  zone: string;
  /** True when the zone is the primary zone (`amqp_primary_zone`). */
  primary: boolean;
  /** Canonical URL with the password replaced by `***`; safe to log. */
  url: string;
  /** Host name or address (IPv6 without brackets), percent-decoded. */
  host: string;
  port: number;
  /** Virtual host, percent-decoded: no path → `/`, path `/` → `""`, `/%2F` → `/`. */
  vhost: string;
  user: string;
  /** Never log this; log {@link ServerEndpoint.url}. */
  password: string;
  /** `amqps://`. */
  tls: boolean;
}

/** Longest accepted entry, zone prefix included (the module's `KZ_URL_MAX_SIZE`). */
export const MAX_CONNECTION_LENGTH = 512;

const PARAM = 'amqp_connection';
const SHAPE = 'amqp://[user[:password]@]host[:port][/vhost] or amqps://...';

/**
 * Parses one `amqp_connection` entry: `[zone=<name>;]<url>` (docs/module-behaviour.md#broker-urls, #zones).
 *
 * - `kazoo://` is rewritten to `amqp://` (2014 compatibility).
 * - The URL follows rabbitmq-c's `amqp_parse_url`: `amqp://[user[:password]@]host[:port][/vhost]`
 *   or `amqps://`; defaults `guest`/`guest`/`localhost`, port 5672 (amqps 5671), vhost `/`.
 *   Every component is percent-decoded, but only `%01`–`%7F`; IPv6 hosts are written `[addr]`;
 *   `?`, `#`, `[`/`]` outside an IPv6 host, a `:` or `@` in the vhost, and unknown schemes are
 *   rejected. `amqp://h/` selects the vhost `""`; the root vhost is `amqp://h` or `amqp://h/%2F`.
 * - A server without a zone prefix, or whose zone equals `primaryZone`, is primary. Unlike the
 *   module, the prefix is compared with the final `amqp_primary_zone`, so order does not matter.
 *
 * Stricter than rabbitmq-c (each of these connects nowhere useful there): an empty host after
 * `@`, an empty `[]` host, port 0, a port with sign or spaces, two `:port` parts, `%00`, and a
 * zone name containing `"`, `\` or control characters are rejected too.
 *
 * @throws KazooError `INVALID_CONFIG` (param `amqp_connection`) naming the problem; the message
 *   shows the entry with its password redacted. `INVALID_ARGUMENT` (param `serverId` /
 *   `primaryZone`) when those are not a positive integer / a string.
 */
export function parseAmqpConnection(entry: string, serverId: number, primaryZone: string): ServerEndpoint {
  if (typeof entry !== 'string' || entry === '') {
    throw invalid('INVALID_CONFIG', PARAM, 'a non-empty URL string', redactValue(entry));
  }
  if (!Number.isInteger(serverId) || serverId < 1) {
    throw invalid('INVALID_ARGUMENT', 'serverId', 'a positive integer', serverId);
  }
  if (typeof primaryZone !== 'string') throw invalid('INVALID_ARGUMENT', 'primaryZone', 'a string', primaryZone);
  const bad = (why: string): KazooError => invalid('INVALID_CONFIG', PARAM, `${SHAPE} (${why})`, redactUrl(entry));

  if (Buffer.byteLength(entry, 'utf8') > MAX_CONNECTION_LENGTH) {
    throw invalid('INVALID_CONFIG', PARAM, `at most ${MAX_CONNECTION_LENGTH} characters long`, redactUrl(entry));
  }

  let url = entry;
  let zone = primaryZone;
  if (entry.startsWith('zone=')) {
    const semicolon = entry.indexOf(';');
    if (semicolon < 0) throw bad('a zone=<name> prefix must end with ";"');
    zone = entry.slice(5, semicolon);
    if (zone === '') throw bad('the zone name is empty');
    if (/["\\\x00-\x1f\x7f]/.test(zone)) throw bad('the zone name contains a quote, backslash or control character');
    url = entry.slice(semicolon + 1);
  }
  if (url.startsWith('kazoo://')) url = `amqp://${url.slice(8)}`;

  const parsed = parseUrl(url, bad);
  const endpoint: ServerEndpoint = {
    serverId,
    zone,
    primary: zone === primaryZone,
    url: canonicalUrl(parsed),
    host: parsed.host,
    port: parsed.port,
    vhost: parsed.vhost,
    user: parsed.user,
    password: parsed.password,
    tls: parsed.tls,
  };
  hidePasswordFromLogs(endpoint);
  return endpoint;
}

interface ParsedUrl {
  tls: boolean;
  user: string;
  password: string;
  host: string;
  ipv6: boolean;
  port: number;
  vhost: string;
}

interface Token {
  /** Percent-decoded text up to the delimiter. */
  value: string;
  /** The delimiter that ended the token; `''` at the end of the input. */
  delim: string;
  /** Index just after the delimiter. */
  next: number;
}

/**
 * rabbitmq-c's `amqp_parse_url` state machine: the URL is cut into tokens at delimiters, and
 * what a token means (user or host, password or port) is only known at the next delimiter.
 */
function parseUrl(url: string, bad: (why: string) => KazooError): ParsedUrl {
  const out: ParsedUrl = {
    tls: false,
    user: 'guest',
    password: 'guest',
    host: 'localhost',
    ipv6: false,
    port: 5672,
    vhost: '/',
  };
  let pos: number;
  if (url.startsWith('amqp://')) {
    pos = 7;
  } else if (url.startsWith('amqps://')) {
    pos = 8;
    out.tls = true;
    out.port = 5671;
  } else {
    throw bad('the scheme must be amqp://, amqps:// or kazoo://');
  }

  let token = nextToken(url, pos, true, bad);
  let hostText = token.value;
  let portText: string | null = null;
  let sawAt = false;

  if (token.delim === ':') {
    token = nextToken(url, token.next, true, bad);
    portText = token.value;
  }
  if (token.delim === '@') {
    out.user = hostText;
    if (portText !== null) out.password = portText;
    portText = null;
    sawAt = true;
    token = nextToken(url, token.next, true, bad);
    hostText = token.value;
  }
  if (token.delim === '[') {
    if (portText !== null || hostText !== '') throw bad('"[" may only start the host');
    token = nextToken(url, token.next, false, bad);
    if (token.delim !== ']') throw bad('an IPv6 host needs a closing "]"');
    if (token.value === '') throw bad('the IPv6 host is empty');
    out.host = token.value;
    out.ipv6 = true;
    token = nextToken(url, token.next, true, bad);
    if (token.value !== '') throw bad('"]" must end the host');
  } else if (hostText !== '') {
    out.host = hostText;
  } else if (sawAt) {
    throw bad('the host after "@" is empty');
  }

  if (token.delim === ':') {
    if (portText !== null) throw bad('there are two ":port" parts');
    token = nextToken(url, token.next, true, bad);
    portText = token.value;
  }
  if (portText !== null) {
    const port = /^[0-9]{1,5}$/.test(portText) ? Number(portText) : NaN;
    if (!(port >= 1 && port <= 65535)) throw bad('the port must be an integer 1..65535');
    out.port = port;
  }

  if (token.delim === '/') {
    token = nextToken(url, token.next, true, bad);
    if (token.delim !== '') throw bad(`the vhost contains a raw "${token.delim}"; percent-encode it`);
    out.vhost = token.value;
  } else if (token.delim !== '') {
    throw bad(`unexpected "${token.delim}"`);
  }
  return out;
}

/** rabbitmq-c's `find_delim`: scans to the next delimiter, percent-decoding on the way. */
function nextToken(url: string, from: number, colonAndAtAreDelims: boolean, bad: (why: string) => KazooError): Token {
  let value = '';
  let runStart = from;
  let i = from;
  for (; i < url.length; i++) {
    const ch = url[i];
    switch (ch) {
      case ':':
      case '@':
        if (!colonAndAtAreDelims) continue;
      // falls through
      case '/':
      case '?':
      case '#':
      case '[':
      case ']':
        return { value: value + url.slice(runStart, i), delim: ch, next: i + 1 };
      case '%': {
        const hex = url.slice(i + 1, i + 3);
        const code = /^[0-9A-Fa-f]{2}$/.test(hex) ? parseInt(hex, 16) : -1;
        if (code < 1 || code > 0x7f) throw bad('percent-encodings must be %01..%7F');
        value += url.slice(runStart, i) + String.fromCharCode(code);
        i += 2;
        runStart = i + 1;
        break;
      }
      default:
        break;
    }
  }
  return { value: value + url.slice(runStart, i), delim: '', next: i };
}

/** Characters that would change the meaning of a component if written raw. */
const COMPONENT_SPECIALS = /[%:@/?#[\]\x00-\x20\x7f]/g;

function encodeComponent(text: string): string {
  return text.replace(COMPONENT_SPECIALS, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

/** `amqp://user:***@host:port/vhost`, re-parseable to the same endpoint (but the password). */
function canonicalUrl(p: ParsedUrl): string {
  const host = p.ipv6 ? `[${p.host}]` : encodeComponent(p.host);
  return `${p.tls ? 'amqps' : 'amqp'}://${encodeComponent(p.user)}:***@${host}:${p.port}/${encodeComponent(p.vhost)}`;
}

/**
 * Keeps the password out of `JSON.stringify` and `util.inspect` output of an endpoint, so that
 * logging one by accident shows `***`. The property itself stays a plain, readable field.
 */
function hidePasswordFromLogs(endpoint: ServerEndpoint): void {
  const redacted = (): Record<string, unknown> => ({ ...endpoint, password: '***' });
  Object.defineProperty(endpoint, 'toJSON', { value: redacted, enumerable: false });
  Object.defineProperty(endpoint, inspect.custom, {
    value: (_depth: number, options: object) => inspect(redacted(), options),
    enumerable: false,
  });
}

const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;

/**
 * Masks the password of an AMQP URL or `amqp_connection` entry: `amqp://user:***@host:port/vhost`.
 *
 * Works on any text, parseable or not, so error messages can show what was configured: after an
 * optional `zone=<name>;` prefix and scheme, everything up to the last `@` is the user info, and
 * everything in it after the first `:` is replaced by `***`. Text without `@` is returned as is
 * (it has no credentials in rabbitmq-c's grammar).
 */
export function redactUrl(url: string): string {
  if (typeof url !== 'string') return url;
  let start = 0;
  if (url.startsWith('zone=')) {
    const semicolon = url.indexOf(';');
    if (semicolon >= 0) start = semicolon + 1;
  }
  const scheme = SCHEME.exec(url.slice(start));
  if (scheme) start += scheme[0].length;
  const at = url.lastIndexOf('@');
  if (at < start) return url;
  const colon = url.indexOf(':', start);
  if (colon < 0 || colon > at) return url;
  return `${url.slice(0, colon)}:***${url.slice(at)}`;
}

/**
 * Deep copy of a configuration value with {@link redactUrl} applied to every string in it, for
 * error messages about values that may hold credentials.
 */
export function redactValue(value: unknown): unknown {
  if (typeof value === 'string') return redactUrl(value);
  if (Array.isArray(value)) return value.map(redactValue);
  if (value !== null && typeof value === 'object') {
    const copy: Record<string, unknown> = {};
    for (const key of Object.keys(value)) copy[key] = redactValue((value as Record<string, unknown>)[key]);
    return copy;
  }
  return value;
}
