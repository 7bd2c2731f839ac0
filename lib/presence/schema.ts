/**
 * Kamailio's presentity table (schema version 5: `priority` and `ruid` included) for each
 * backend, as Kamailio's own creation scripts lay it out, plus its `version` table row. Used only
 * when the table does not exist: an existing table is never altered.
 */
import type { DbBackend } from './db-url';

/** Kamailio's presentity table version these statements create. */
export const PRESENTITY_TABLE_VERSION = 5;

/** Length of Kamailio's `version.table_name` column. */
const VERSION_NAME_MAX = 32;

/** Columns every write needs; a table lacking one is refused on first use. */
export const REQUIRED_COLUMNS = ['event', 'domain', 'username', 'etag', 'sender', 'body', 'received_time', 'expires', 'priority'] as const;

/** Quotes a (possibly `schema.`-qualified) checked identifier for `backend`. */
export function quoteTable(backend: DbBackend, table: string): string {
  const q = backend === 'mysql' ? '`' : '"';
  return table
    .split('.')
    .map((part) => `${q}${part}${q}`)
    .join('.');
}

/** The bare table name (without schema), the prefix Kamailio gives PostgreSQL/SQLite index names. */
function bare(table: string): string {
  return table.split('.').pop() as string;
}

/** Index names live per schema in PostgreSQL/SQLite: prefix them with the table as Kamailio does. */
function indexName(backend: DbBackend, table: string, name: string): string {
  const q = backend === 'mysql' ? '`' : '"';
  if (backend === 'mysql') return `${q}${name}${q}`;
  const parts = table.split('.');
  const prefixed = `${q}${bare(table)}_${name}${q}`;
  // SQLite wants the schema on the index name, PostgreSQL puts the index in the table's schema.
  return backend === 'sqlite' && parts.length === 2 ? `${q}${parts[0]}${q}.${prefixed}` : prefixed;
}

/**
 * The statements that create `table` and its indexes for `backend`, in order. Every statement
 * is `IF NOT EXISTS`, so two clients creating the same table at once both succeed.
 */
export function createTableStatements(backend: DbBackend, table: string): string[] {
  const t = quoteTable(backend, table);
  const ix = (name: string): string => indexName(backend, table, name);
  // Constraint names inside CREATE TABLE never carry a schema.
  const constraint = (name: string): string => `"${bare(table)}_${name}"`;
  // SQLite's CREATE INDEX names the schema on the index, not on the table.
  const indexedTable = backend === 'sqlite' ? `"${bare(table)}"` : t;
  switch (backend) {
    case 'postgres':
      return [
        `CREATE TABLE IF NOT EXISTS ${t} (
    id SERIAL PRIMARY KEY NOT NULL,
    username VARCHAR(64) NOT NULL,
    domain VARCHAR(64) NOT NULL,
    event VARCHAR(64) NOT NULL,
    etag VARCHAR(128) NOT NULL,
    expires INTEGER NOT NULL,
    received_time INTEGER NOT NULL,
    body BYTEA NOT NULL,
    sender VARCHAR(255) NOT NULL,
    priority INTEGER DEFAULT 0 NOT NULL,
    ruid VARCHAR(64),
    CONSTRAINT ${constraint('presentity_idx')} UNIQUE (username, domain, event, etag),
    CONSTRAINT ${constraint('ruid_idx')} UNIQUE (ruid)
)`,
        `CREATE INDEX IF NOT EXISTS ${ix('presentity_expires')} ON ${t} (expires)`,
        `CREATE INDEX IF NOT EXISTS ${ix('account_idx')} ON ${t} (username, domain, event)`,
      ];
    case 'sqlite':
      return [
        `CREATE TABLE IF NOT EXISTS ${t} (
    id INTEGER PRIMARY KEY NOT NULL,
    username VARCHAR(64) NOT NULL,
    domain VARCHAR(64) NOT NULL,
    event VARCHAR(64) NOT NULL,
    etag VARCHAR(128) NOT NULL,
    expires INTEGER NOT NULL,
    received_time INTEGER NOT NULL,
    body BLOB NOT NULL,
    sender VARCHAR(255) NOT NULL,
    priority INTEGER DEFAULT 0 NOT NULL,
    ruid VARCHAR(64),
    CONSTRAINT ${constraint('presentity_idx')} UNIQUE (username, domain, event, etag),
    CONSTRAINT ${constraint('ruid_idx')} UNIQUE (ruid)
)`,
        `CREATE INDEX IF NOT EXISTS ${ix('presentity_expires')} ON ${indexedTable} (expires)`,
        `CREATE INDEX IF NOT EXISTS ${ix('account_idx')} ON ${indexedTable} (username, domain, event)`,
      ];
    case 'mysql':
      return [
        `CREATE TABLE IF NOT EXISTS ${t} (
    id INT(10) UNSIGNED AUTO_INCREMENT PRIMARY KEY NOT NULL,
    username VARCHAR(64) NOT NULL,
    domain VARCHAR(64) NOT NULL,
    event VARCHAR(64) NOT NULL,
    etag VARCHAR(128) NOT NULL,
    expires INT NOT NULL,
    received_time INT NOT NULL,
    body BLOB NOT NULL,
    sender VARCHAR(255) NOT NULL,
    priority INT DEFAULT 0 NOT NULL,
    ruid VARCHAR(64),
    CONSTRAINT presentity_idx UNIQUE (username, domain, event, etag),
    CONSTRAINT ruid_idx UNIQUE (ruid),
    INDEX presentity_expires (expires),
    INDEX account_idx (username, domain, event)
) ENGINE=InnoDB`,
      ];
  }
}

/**
 * Kamailio's `version` table (its modules check a table's version there at start-up) and the
 * statement registering `table` at {@link PRESENTITY_TABLE_VERSION}, for a table we created.
 * The version table lives in the same schema as `table`. `null` when the table's name is longer
 * than the 32 characters Kamailio's `version.table_name` holds (Kamailio could not check it either).
 */
export function versionStatements(backend: DbBackend, table: string): { create: string; table: string; name: string } | null {
  if (bare(table).length > VERSION_NAME_MAX) return null;
  const parts = table.split('.');
  const versionTable = parts.length === 2 ? `${parts[0]}.version` : 'version';
  const v = quoteTable(backend, versionTable);
  const create =
    backend === 'mysql'
      ? `CREATE TABLE IF NOT EXISTS ${v} (
    id INT(10) UNSIGNED AUTO_INCREMENT PRIMARY KEY NOT NULL,
    table_name VARCHAR(32) NOT NULL,
    table_version INT UNSIGNED DEFAULT 0 NOT NULL,
    CONSTRAINT table_name_idx UNIQUE (table_name)
) ENGINE=InnoDB`
      : `CREATE TABLE IF NOT EXISTS ${v} (
    id ${backend === 'postgres' ? 'SERIAL' : 'INTEGER'} PRIMARY KEY NOT NULL,
    table_name VARCHAR(32) NOT NULL,
    table_version INTEGER DEFAULT 0 NOT NULL,
    CONSTRAINT "version_table_name_idx" UNIQUE (table_name)
)`;
  return { create, table: v, name: bare(table) };
}
