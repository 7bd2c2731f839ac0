/**
 * The `kazoo-amqp` command (bin/kazoo-amqp.js): `run` a KEMI script on a kamailio.cfg's kazoo
 * parameters until SIGTERM/SIGINT (optionally serving /metrics and /health), or print the
 * parameters a cfg resolves to (`config`).
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KazooError } from '../errors';
import { Kazoo } from '../kazoo';
import { LogSink, type KazooLogger } from '../logger';
import { serveMetrics } from '../observability/http';
import { readCfg, type CfgDocument } from './cfg-reader';
import { describeCfg, kazooSettings, resolveCfgSettings } from './cfg-params';
import { KemiScript } from './script-runner';

/** The text of `kazoo-amqp --help`. */
export const HELP = `Usage:
  kazoo-amqp run [--cfg kamailio.cfg] [-A NAME[=VALUE]]... [--modparam name=value]...
                 [--metrics-port N [--metrics-host H]] [script.js]
  kazoo-amqp config --cfg kamailio.cfg [-A NAME[=VALUE]]... [--modparam name=value]...
  kazoo-amqp --help

run     Reads the kazoo parameters (modparam("kazoo", ...)) from the cfg and --modparam, loads
        the app_jsdt-style script (default: the file modparam("app_jsdt", "load", ...) names),
        connects, calls the script's event_callback function with "kazoo:mod-init", then with
        "kazoo:consumer-event" for every delivery and connection event, until SIGTERM or
        SIGINT; then closes gracefully (acks and confirms out) and exits 0.
        The script sees a global KSR: KSR.kazoo.* (kazoo_publish, kazoo_query (synchronous),
        kazoo_async_query, kazoo_subscribe, kazoo_encode, kazoo_json, kazoo_json_keys),
        KSR.pv.* ($kzE, $kzR, $kzRK, $var, $avp, $shv, transformations), KSR.info/... and KSR.x.
        Log lines (the runner's, the client's and KSR.info/...) go to stderr with a timestamp
        and level; passwords never appear in them.
config  Prints the resolved kazoo parameters as JSON (defaults included, passwords masked),
        with the presentity database, the app_jsdt script, the files read and the warnings.

Options:
  --cfg FILE              kamailio.cfg to read (#!define, #!ifdef, #!substdef, include_file, ...)
  -A NAME[=VALUE]         add a preprocessor define, as kamailio -A does
  --modparam name=value   set a kazoo parameter after the cfg (digits give an integer)
  --metrics-port N        run: serve GET /metrics (Prometheus text) and /health (200 while a
                          primary-zone producer connection is open, 503 otherwise; JSON body)
                          on port N (0: any free port; the address is logged)
  --metrics-host H        run: address to serve them on (default 127.0.0.1)
  --debug                 print KSR.dbg messages too
  --help                  this text

Exit status: 0 after a signal-initiated close; 1 on a start-up failure; 2 on a usage error.
`;

interface Args {
  command: string;
  cfg?: string;
  defines: string[];
  modparams: string[];
  script?: string;
  debug: boolean;
  metricsPort?: number;
  metricsHost?: string;
}

function usage(message: string): KazooError {
  return new KazooError('INVALID_ARGUMENT', `kazoo: ${message} (see kazoo-amqp --help)`, { param: 'argv' });
}

/** Parses the command line. @throws KazooError INVALID_ARGUMENT on a usage error. */
export function parseArgs(argv: readonly string[]): Args {
  const args: Args = { command: '', defines: [], modparams: [], debug: false };
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (name: string) => {
      const v = argv[++i];
      if (v === undefined) throw usage(`${name} needs a value`);
      return v;
    };
    if (a === '--help' || a === '-h') args.command = 'help';
    else if (a === '--cfg' || a === '-f') args.cfg = value(a);
    else if (a.startsWith('--cfg=')) args.cfg = a.slice(6);
    else if (a === '-A') args.defines.push(value(a));
    else if (a.startsWith('-A') && a.length > 2) args.defines.push(a.slice(2));
    else if (a === '--modparam') args.modparams.push(value(a));
    else if (a.startsWith('--modparam=')) args.modparams.push(a.slice(11));
    else if (a === '--metrics-port' || a.startsWith('--metrics-port=')) args.metricsPort = port(a === '--metrics-port' ? value(a) : a.slice(15));
    else if (a === '--metrics-host') args.metricsHost = value(a);
    else if (a.startsWith('--metrics-host=')) args.metricsHost = a.slice(15);
    else if (a === '--debug') args.debug = true;
    else if (a.startsWith('-')) throw usage(`unknown option ${a}`);
    else positional.push(a);
  }
  if (args.command === 'help') return args;
  args.command = positional.shift() ?? '';
  if (args.command !== 'run' && args.command !== 'config') throw usage(`the command must be run or config, got ${JSON.stringify(args.command)}`);
  if (args.command === 'run') args.script = positional.shift();
  if (positional.length > 0) throw usage(`unexpected argument ${positional[0]}`);
  if (args.command === 'config' && !args.cfg) throw usage('config needs --cfg FILE');
  if (args.metricsHost !== undefined && args.metricsPort === undefined) throw usage('--metrics-host needs --metrics-port');
  if (args.metricsHost === '') throw usage('--metrics-host must be a non-empty address');
  if (args.command !== 'run' && args.metricsPort !== undefined) throw usage('--metrics-port applies to run only');
  return args;
}

function port(text: string): number {
  if (!/^[0-9]{1,5}$/.test(text) || Number(text) > 65535) throw usage(`--metrics-port must be an integer 0..65535, got ${JSON.stringify(text)}`);
  return Number(text);
}

function emptyDoc(): CfgDocument {
  return { entry: '', files: [], defines: new Map(), modparams: [] };
}

/**
 * The client's structured second argument (`{ code, error, ... }`) as a short suffix: its code;
 * the error it carries repeats the message. Anything else is passed on as given.
 */
function fields(args: unknown[]): unknown[] {
  return args.map((a) => (a !== null && typeof a === 'object' && !Array.isArray(a) && typeof (a as { code?: unknown }).code === 'string' ? `[${(a as { code: string }).code}]` : a));
}

/** The runner's default logger: timestamped lines on stderr (DEBUG only with --debug). */
export function stderrLogger(debug: boolean): KazooLogger {
  const stamp = () => new Date().toISOString();
  return {
    debug: (m, ...a) => {
      if (debug) console.error(`${stamp()} DEBUG ${m}`, ...fields(a));
    },
    info: (m, ...a) => console.error(`${stamp()} INFO ${m}`, ...fields(a)),
    warn: (m, ...a) => console.error(`${stamp()} WARN ${m}`, ...fields(a)),
    error: (m, ...a) => console.error(`${stamp()} ERROR ${m}`, ...fields(a)),
  };
}

/** Options of {@link main} for programmatic use. */
export interface MainOptions {
  /** Where `run` logs (it becomes the client's `logger` option); default {@link stderrLogger}. */
  logger?: KazooLogger;
}

function listening(server: Server): string {
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}

function stop(server: Server | undefined): Promise<void> {
  if (!server) return Promise.resolve();
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/**
 * Runs the command; resolves with the exit status (`run` resolves only after a signal).
 * @param out where `config` and `--help` print (stdout by default).
 * @param options the logger `run` writes through (every line redacted).
 */
export async function main(
  argv: readonly string[],
  out: (text: string) => void = (t) => process.stdout.write(t),
  options: MainOptions = {},
): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(argv);
  } catch (error) {
    console.error((error as Error).message);
    return 2;
  }
  if (args.command === 'help') {
    out(HELP);
    return 0;
  }
  const sink = options.logger ?? stderrLogger(args.debug);
  // Every line is redacted: URL credentials until the cfg is resolved, then the configured
  // passwords too, and from the client on through kazoo.logger (the same redacting sink).
  let logger: KazooLogger = new LogSink(sink);
  let kazoo: Kazoo | undefined;
  let metrics: Server | undefined;
  try {
    const doc = args.cfg ? readCfg(args.cfg, { defines: args.defines }) : emptyDoc();
    const settings = kazooSettings(doc, args.modparams);
    const resolved = resolveCfgSettings(settings);
    if (args.command === 'config') {
      out(`${JSON.stringify(describeCfg(doc, settings, resolved), null, 2)}\n`);
      return 0;
    }
    // From here on the configured passwords are known: they are redacted wherever they occur.
    logger = new LogSink(sink, resolved.servers.map((server) => server.password));
    for (const w of settings.warnings) logger.warn(w);
    const script = args.script ?? settings.script;
    if (!script) {
      console.error('kazoo: run needs a script: give script.js or set modparam("app_jsdt", "load", "<file>") in the cfg (see kazoo-amqp --help)');
      return 2;
    }
    // With a logger, the client logs its connection changes (open, closed, blocked) itself.
    kazoo = new Kazoo({ ...settings.config, logger: sink });
    logger = kazoo.logger;
    kazoo.on('error', (error: KazooError) => logger.error(error.message, { code: `KAZOO_${error.code}` }));
    const runner = new KemiScript(kazoo, script, { logger }).attach();
    if (args.metricsPort !== undefined) {
      metrics = await serveMetrics(kazoo, { port: args.metricsPort, host: args.metricsHost ?? '127.0.0.1' });
      logger.info(`kazoo-amqp: metrics on ${listening(metrics)}/metrics and /health`);
    }
    const stopped = new Promise<string>((resolveSignal) => {
      process.once('SIGTERM', () => resolveSignal('SIGTERM'));
      process.once('SIGINT', () => resolveSignal('SIGINT'));
    });
    await kazoo.connect();
    logger.info(`kazoo-amqp: running ${runner.file} (event_callback ${kazoo.config.event_callback ?? 'ksr_kazoo_event'})`);
    const signal = await stopped;
    logger.info(`kazoo-amqp: ${signal}: closing`);
    // What the script sent is confirmed (bounded), then close() lets handlers finish and acks go out.
    await Promise.race([runner.idle(), new Promise((r) => setTimeout(r, 2000).unref())]);
    await kazoo.close();
    await stop(metrics);
    return 0;
  } catch (error) {
    logger.error(error instanceof Error ? error.message : String(error));
    if (kazoo) await kazoo.close().catch(() => undefined);
    await stop(metrics);
    return 1;
  }
}
