/**
 * The programmatic entry of the Kamailio shim (`kazoo-amqp/kemi`): read a kamailio.cfg, build a
 * KSR for a client, run an app_jsdt-style script. This file only re-exports.
 */
export { readCfg, type CfgDocument, type CfgModparam, type ReadCfgOptions } from './cfg-reader';
export { kazooSettings, resolveCfgSettings, describeCfg, FORK_ONLY_PARAMS, type CfgKazooSettings } from './cfg-params';
export { localHostInfo, EMULATED_KAMAILIO_VERSION, type HostInfo } from './cfg-values';
export { KemiScript, type KemiScriptOptions } from './script-runner';
export { createKsr, type Ksr } from './ksr';
export { KsrExit, type KemiLogger, type KsrHost } from './ksr-kazoo';
export { PvAccess, PvContext, parsePv, type PvValue, type PvOptions } from './pv';
export { main as runCli, parseArgs, HELP } from './cli';
