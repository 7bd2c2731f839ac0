/**
 * `db_url` and `presentity_table`: which database the presentity rows go to, parsed once, and the
 * same URL with its password hidden for every message that shows it.
 */
import { invalid, type KazooError } from '../errors';

/** The three store backends. */
export type DbBackend = 'sqlite' | 'postgres' | 'mysql';

/** A parsed `db_url`. */
export type DbTarget =
  | { backend: 'sqlite'; path: string; redacted: string }
  | {
      backend: 'postgres' | 'mysql';
      host: string;
      port: number;
      user: string;
      password: string | undefined;
      database: string;
      /** The URL with the password replaced by `***` (safe to log). */
      redacted: string;
    };

const EXPECTED =
  'sqlite:///absolute/path.db, kazoo:///absolute/path.db, postgres://user[:pass]@host[:port]/db or mysql://user[:pass]@host[:port]/db';

/** Hides the password of a URL-shaped string (`scheme://user:pass@...` → `scheme://user:***@...`). */
export function redactDbUrl(url: string): string {
  return url.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/[^:@/]*):[^@/]*@/, '$1:***@');
}

function fail(param: string, value: string): KazooError {
  return invalid('INVALID_CONFIG', param, EXPECTED, redactDbUrl(value));
}

/**
 * Parses a Kamailio-style `db_url`. `sqlite:///abs/path.db` (Kamailio's db_sqlite) and
 * `kazoo:///abs/path.db` (the 2600hz fork's SQLite driver) select the embedded SQLite store;
 * `postgres://` (or `postgresql://`) PostgreSQL, port 5432 by default; `mysql://` MariaDB or
 * MySQL, port 3306 by default. User and password are percent-decoded.
 * @throws KazooError INVALID_CONFIG (`details.param` `db_url`), the password hidden.
 */
export function parseDbUrl(url: string, param = 'db_url'): DbTarget {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'sqlite' || scheme === 'kazoo') {
    const path = url.slice(scheme.length + 3);
    if (!path.startsWith('/') || path.length < 2 || path.includes('\0')) throw fail(param, url);
    return { backend: 'sqlite', path, redacted: url };
  }
  if (scheme !== 'postgres' && scheme !== 'postgresql' && scheme !== 'mysql') throw fail(param, url);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw fail(param, url);
  }
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (parsed.hostname === '' || parsed.username === '' || database === '' || database.includes('/')) throw fail(param, url);
  const backend = scheme === 'mysql' ? 'mysql' : 'postgres';
  return {
    backend,
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: parsed.port === '' ? (backend === 'mysql' ? 3306 : 5432) : Number(parsed.port),
    user: decodeURIComponent(parsed.username),
    password: parsed.password === '' ? undefined : decodeURIComponent(parsed.password),
    database,
    redacted: redactDbUrl(url),
  };
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/**
 * Checks a `presentity_table` name: a plain SQL identifier (letters, digits, `_`, at most 63),
 * optionally `schema.table`. It is quoted in every statement, never interpolated raw.
 * @throws KazooError INVALID_CONFIG.
 */
export function checkTableName(value: unknown, param = 'presentity_table'): string {
  const parts = typeof value === 'string' ? value.split('.') : [];
  if (parts.length < 1 || parts.length > 2 || !parts.every((p) => IDENTIFIER.test(p))) {
    throw invalid('INVALID_CONFIG', param, 'an SQL identifier such as "presentity" or "schema.presentity"', value);
  }
  return value as string;
}
