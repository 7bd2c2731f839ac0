/**
 * Turns the modparams a kamailio.cfg sets into a kazoo-amqp configuration: the `kazoo` module's
 * parameters (validated by lib/config.ts, errors pointing at the cfg line), the 2600hz fork's own
 * parameters (accepted with a warning), `db_url` `kazoo:///path/kazoo.db` (2600hz's SQLite
 * driver) and the `app_jsdt` script to load.
 */
import { dirname, resolve } from 'node:path';
import { DEFAULTS, resolveConfig, type KazooConfig, type ResolvedConfig } from '../config';
import { redactUrl } from '../connection-url';
import { KazooError } from '../errors';
import { cfgError, type CfgDocument, type CfgModparam } from './cfg-reader';

/** Kazoo parameters only the 2600hz fork reads (docs/module-behaviour.md#the-2600hz-fork); upstream ignores them. */
export const FORK_ONLY_PARAMS: readonly string[] = ['presence_use_full_entity'];

const STRING_PARAMS = new Set(['node_hostname', 'amqp_connection']);
const KNOWN = new Set([...Object.keys(DEFAULTS), ...STRING_PARAMS]);

/** The kazoo settings a cfg yields. */
export interface CfgKazooSettings {
  /** The `modparam("kazoo", ...)` values by parameter name (`amqp_connection` as a list). */
  config: KazooConfig;
  /** Where each parameter was set (the last occurrence). */
  origins: Record<string, { file: string; line: number }>;
  /** Warnings about fork-only parameters (each names the parameter, file and line). */
  warnings: string[];
  /** `modparam("app_jsdt", "load", ...)`, resolved against the cfg's folder; null when absent. */
  script: string | null;
  /** The presentity database `db_url` names, with 2600hz's `kazoo://` mapped to SQLite. */
  database: { driver: string; path?: string; url: string } | null;
}

/**
 * Collects and type-checks the kazoo modparams of `doc`. `overrides` (`--modparam name=value`)
 * are applied after the cfg: a value of digits is an integer for an integer parameter.
 * @throws KazooError INVALID_CONFIG naming file and line for an unknown kazoo parameter or a
 *   value of the wrong type.
 */
export function kazooSettings(doc: CfgDocument, overrides: readonly string[] = []): CfgKazooSettings {
  const config: Record<string, unknown> = {};
  const origins: Record<string, { file: string; line: number }> = {};
  const warnings: string[] = [];
  let script: string | null = null;
  const extra: CfgModparam[] = overrides.map((spec) => {
    const eq = spec.indexOf('=');
    if (eq <= 0) throw new KazooError('INVALID_CONFIG', `kazoo: --modparam must be name=value, got ${JSON.stringify(spec)}`, { param: '--modparam' });
    const raw = spec.slice(eq + 1);
    return { module: 'kazoo', name: spec.slice(0, eq), value: /^-?\d+$/.test(raw) ? Number(raw) : raw, file: '--modparam', line: 0 };
  });
  for (const p of [...doc.modparams, ...extra]) {
    if (p.module === 'app_jsdt' && p.name === 'load' && typeof p.value === 'string') {
      script = p.value;
      origins['app_jsdt.load'] = { file: p.file, line: p.line };
      continue;
    }
    if (p.module !== 'kazoo') continue;
    if (!KNOWN.has(p.name)) {
      throw cfgError(p.file, p.line, `${p.name} is not a kazoo parameter`, p.name);
    }
    const isInt = !STRING_PARAMS.has(p.name) && typeof (DEFAULTS as Record<string, unknown>)[p.name] === 'number';
    let value: unknown = p.value;
    if (isInt && typeof value === 'string') {
      // Kamailio converts a numeric string given to an INT parameter.
      if (!/^\s*-?\d+\s*$/.test(value)) throw cfgError(p.file, p.line, `${p.name} must be an integer, got ${JSON.stringify(value)}`, p.name);
      value = Number(value);
    } else if (!isInt && typeof value === 'number') {
      throw cfgError(p.file, p.line, `${p.name} must be a string, got ${value}`, p.name);
    }
    if (FORK_ONLY_PARAMS.includes(p.name)) {
      warnings.push(`kazoo: ${p.file}:${p.line}: ${p.name} is a parameter of 2600hz's fork of the kazoo module; accepted, no effect`);
    }
    if (p.name === 'amqp_connection') {
      ((config.amqp_connection ??= []) as string[]).push(value as string);
    } else {
      config[p.name] = value;
    }
    origins[p.name] = { file: p.file, line: p.line };
  }
  if (script !== null) {
    const at = origins['app_jsdt.load'];
    script = resolve(at && at.file !== '--modparam' ? dirname(at.file) : '.', script);
  }
  return { config: config as unknown as KazooConfig, origins, warnings, script, database: databaseOf(config.db_url) };
}

/**
 * Validates the settings with {@link resolveConfig}; an error about a parameter the cfg set is
 * re-issued with that parameter's file and line.
 * @throws KazooError INVALID_CONFIG.
 */
export function resolveCfgSettings(settings: CfgKazooSettings): ResolvedConfig {
  try {
    return resolveConfig(settings.config);
  } catch (error) {
    if (error instanceof KazooError && typeof error.details.param === 'string' && settings.origins[error.details.param]) {
      const at = settings.origins[error.details.param];
      throw cfgError(at.file, at.line, error.message.replace(/^kazoo: /, ''), error.details.param);
    }
    throw error;
  }
}

function databaseOf(url: unknown): CfgKazooSettings['database'] {
  if (typeof url !== 'string' || url === '') return null;
  const scheme = /^([a-z0-9+]+):\/\//i.exec(url);
  if (!scheme) return { driver: 'unknown', url: redactUrl(url) };
  const driver = scheme[1].toLowerCase();
  if (driver === 'kazoo' || driver === 'sqlite' || driver === 'db_sqlite') {
    // kazoo:///etc/kazoo/kamailio/db/kazoo.db: 2600hz's SQLite-backed driver; the path is absolute.
    return { driver: 'sqlite', path: url.slice(scheme[0].length).replace(/^\/+/, '/'), url };
  }
  return { driver, url: redactUrl(url) };
}

/**
 * The JSON `kazoo-amqp config` prints: every resolved kazoo parameter (defaults included) under
 * its module name, passwords masked, plus the database, the app_jsdt script, the files read and
 * the warnings.
 */
export function describeCfg(doc: CfgDocument, settings: CfgKazooSettings, resolved: ResolvedConfig): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const key of Object.keys(resolved)) {
    if (key === 'servers' || key === 'warnings' || key === 'queryTimeoutMs' || key === 'connectTimeoutMs') continue;
    params[key] = (resolved as unknown as Record<string, unknown>)[key];
  }
  params.db_url = settings.database ? settings.database.url : null;
  return {
    kazoo: params,
    app_jsdt: { load: settings.script },
    database: settings.database,
    files: doc.files,
    warnings: [...settings.warnings, ...resolved.warnings],
  };
}
