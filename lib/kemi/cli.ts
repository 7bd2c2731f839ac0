/**
 * The `kazoo-amqp` command (bin/kazoo-amqp.js): `run` a KEMI script on a kamailio.cfg's kazoo
 * parameters until SIGTERM/SIGINT, or print the parameters a cfg resolves to (`config`).
 */
import { KazooError } from '../errors';
import { Kazoo } from '../kazoo';
import { readCfg, type CfgDocument } from './cfg-reader';
import { describeCfg, kazooSettings, resolveCfgSettings } from './cfg-params';
import type { KemiLogger } from './ksr-kazoo';
import { KemiScript } from './script-runner';

/** The text of `kazoo-amqp --help`. */
export const HELP = `Usage:
  kazoo-amqp run [--cfg kamailio.cfg] [-A NAME[=VALUE]]... [--modparam name=value]... [script.js]
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
config  Prints the resolved kazoo parameters as JSON (defaults included, passwords masked),
        with the presentity database, the app_jsdt script, the files read and the warnings.

Options:
  --cfg FILE              kamailio.cfg to read (#!define, #!ifdef, #!substdef, include_file, ...)
  -A NAME[=VALUE]         add a preprocessor define, as kamailio -A does
  --modparam name=value   set a kazoo parameter after the cfg (digits give an integer)
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
  return args;
}

function emptyDoc(): CfgDocument {
  return { entry: '', files: [], defines: new Map(), modparams: [] };
}

function consoleLogger(debug: boolean): KemiLogger {
  const stamp = () => new Date().toISOString();
  return {
    debug: (m, ...a) => {
      if (debug) console.error(`${stamp()} DEBUG ${m}`, ...a);
    },
    info: (m, ...a) => console.error(`${stamp()} INFO ${m}`, ...a),
    warn: (m, ...a) => console.error(`${stamp()} WARN ${m}`, ...a),
    error: (m, ...a) => console.error(`${stamp()} ERROR ${m}`, ...a),
  };
}

/**
 * Runs the command; resolves with the exit status (`run` resolves only after a signal).
 * @param out where `config` and `--help` print (stdout by default).
 */
export async function main(argv: readonly string[], out: (text: string) => void = (t) => process.stdout.write(t)): Promise<number> {
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
  const logger = consoleLogger(args.debug);
  let kazoo: Kazoo | undefined;
  try {
    const doc = args.cfg ? readCfg(args.cfg, { defines: args.defines }) : emptyDoc();
    const settings = kazooSettings(doc, args.modparams);
    const resolved = resolveCfgSettings(settings);
    if (args.command === 'config') {
      out(`${JSON.stringify(describeCfg(doc, settings, resolved), null, 2)}\n`);
      return 0;
    }
    for (const w of settings.warnings) logger.warn(w);
    const script = args.script ?? settings.script;
    if (!script) {
      console.error('kazoo: run needs a script: give script.js or set modparam("app_jsdt", "load", "<file>") in the cfg (see kazoo-amqp --help)');
      return 2;
    }
    kazoo = new Kazoo(settings.config);
    kazoo.on('error', (error: KazooError) => logger.error(error.message));
    kazoo.on('connection', (e: { event: string; role: string; host: string; zone: string; reason?: string }) =>
      logger.info(`connection ${e.event} (${e.role}) ${e.host} zone ${e.zone}${e.reason ? `: ${e.reason}` : ''}`),
    );
    const runner = new KemiScript(kazoo, script, { logger }).attach();
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
    return 0;
  } catch (error) {
    logger.error(error instanceof Error ? error.message : String(error));
    if (kazoo) await kazoo.close().catch(() => undefined);
    return 1;
  }
}
