/**
 * The `logger` option: the interface kazoo-amqp writes its log lines through, the default that
 * keeps Node's process warnings when no logger is given, and the redaction every line passes on
 * its way out (no password or URL credentials ever reach a log).
 */
import { invalid, type KazooError } from './errors';

/**
 * Anything with `debug/info/warn/error(message, ...args)`: `console`, a pino or winston logger,
 * or an object of your own. kazoo-amqp calls it with a complete message first and, sometimes, one
 * object of structured fields second (`{ code, server, role, ... }`); loggers that ignore extra
 * arguments lose nothing essential. Kamailio: the module's `LM_DBG/LM_INFO/LM_WARN/LM_ERR`.
 */
export interface KazooLogger {
  debug(message: string, ...args: unknown[]): void;
  info(message: string, ...args: unknown[]): void;
  warn(message: string, ...args: unknown[]): void;
  error(message: string, ...args: unknown[]): void;
}

/** Structured fields passed as a log line's second argument. */
export interface LogFields {
  /** Stable code, e.g. `KAZOO_DEAD_PARAM`, `KAZOO_HANDLER_FAILED`. */
  code?: string;
  [field: string]: unknown;
}

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;

/** A log level of {@link KazooLogger}. */
export type LogLevel = (typeof LEVELS)[number];

/**
 * Validates the `logger` configuration value: `null`/`undefined` (no logger: warnings go to
 * `process.emitWarning`) or an object whose `debug`, `info`, `warn` and `error` are functions.
 * @throws KazooError INVALID_CONFIG naming the missing method.
 */
export function checkLogger(value: unknown, param: string): KazooLogger | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'object' && typeof value !== 'function') {
    throw invalid('INVALID_CONFIG', param, 'an object with debug, info, warn and error functions', value);
  }
  for (const level of LEVELS) {
    if (typeof (value as Record<string, unknown>)[level] !== 'function') {
      throw invalid('INVALID_CONFIG', `${param}.${level}`, 'a function', (value as Record<string, unknown>)[level]);
    }
  }
  return value as KazooLogger;
}

// scheme://user:password@ — the userinfo of any URL in free text (greedy up to the last `@` of the
// token, since passwords may contain `@` when percent-encoding was forgotten).
const URL_CREDENTIALS = /([a-z][a-z0-9+.-]*:\/\/)\S*@/gi;

/**
 * `text` with the userinfo of every URL replaced by `***` (`amqp://***@host`) and every
 * occurrence of a known secret (the configured passwords) replaced by `***`. Used for log lines
 * and for the connection errors shown by {@link Kazoo.stats}.
 */
export function redactText(text: string, secrets: readonly string[] = []): string {
  let out = text.indexOf('://') >= 0 ? text.replace(URL_CREDENTIALS, '$1***@') : text;
  for (const secret of secrets) {
    // Very short secrets would blank out ordinary words; they are caught by the URL rule above.
    if (secret.length >= 3 && out.includes(secret)) out = out.split(secret).join('***');
  }
  return out;
}

function redactArg(arg: unknown, secrets: readonly string[], depth: number): unknown {
  if (typeof arg === 'string') return redactText(arg, secrets);
  if (depth > 2 || arg === null || typeof arg !== 'object') return arg;
  if (arg instanceof Error) {
    const copy = new Error(redactText(arg.message, secrets));
    copy.name = arg.name;
    if (arg.stack) copy.stack = redactText(arg.stack, secrets);
    const code = (arg as Partial<KazooError>).code;
    if (code !== undefined) (copy as Error & { code?: string }).code = code;
    return copy;
  }
  if (Array.isArray(arg)) return arg.map((v) => redactArg(v, secrets, depth + 1));
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(arg)) copy[key] = redactArg((arg as Record<string, unknown>)[key], secrets, depth + 1);
  return copy;
}

/**
 * Without a `logger`: warnings and errors become `process.emitWarning` (type `KazooWarning`, code
 * from the fields), as kazoo-amqp always reported them; debug and info lines are dropped.
 */
const processWarnings: KazooLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: (message, fields) => emit(message, fields),
  error: (message, fields) => emit(message, fields),
};

function emit(message: string, fields: unknown): void {
  const code = fields && typeof (fields as LogFields).code === 'string' ? (fields as LogFields).code : 'KAZOO';
  process.emitWarning(message, { code, type: 'KazooWarning' });
}

/**
 * The one place kazoo-amqp logs through: redacts every message and argument, and never lets a
 * logger that throws break the client (its exception is dropped).
 */
export class LogSink implements KazooLogger {
  private readonly target: KazooLogger;
  private readonly secrets: readonly string[];

  /**
   * @param logger the configured `logger`, or null for process warnings.
   * @param secrets strings that must never be written (the configured passwords).
   */
  constructor(logger: KazooLogger | null, secrets: readonly string[] = []) {
    this.target = logger ?? processWarnings;
    this.secrets = secrets.filter((s) => s.length > 0);
  }

  /** True when a `logger` was configured (not the process-warning default). */
  get custom(): boolean {
    return this.target !== processWarnings;
  }

  debug(message: string, ...args: unknown[]): void {
    this.write('debug', message, args);
  }

  info(message: string, ...args: unknown[]): void {
    this.write('info', message, args);
  }

  warn(message: string, ...args: unknown[]): void {
    this.write('warn', message, args);
  }

  error(message: string, ...args: unknown[]): void {
    this.write('error', message, args);
  }

  private write(level: LogLevel, message: string, args: unknown[]): void {
    try {
      const text = redactText(typeof message === 'string' ? message : String(message), this.secrets);
      if (args.length === 0) this.target[level](text);
      else this.target[level](text, ...args.map((a) => redactArg(a, this.secrets, 0)));
    } catch {
      // A broken logger must not take the bus connection down with it.
    }
  }
}
