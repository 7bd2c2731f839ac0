/**
 * The kamailio.cfg reader (lib/kemi/cfg-reader.ts, cfg-params.ts): Kamailio's preprocessor and
 * the kazoo modparams, on small cfg files written to a temp folder; and, when
 * KAZOO_CONFIGS_KAMAILIO names a checkout of 2600hz/kazoo-configs-kamailio, its kamailio/ folder.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { KazooError } from '../../lib/errors';
import { describeCfg, kazooSettings, readCfg, resolveCfgSettings, runCli, type HostInfo } from '../../lib/kemi';

const HOST: HostInfo = { fqdn: 'sip1.example.com', name: 'sip1', domain: 'example.com', ip: '10.1.2.3' };
const URL = 'amqp://guest:guest@127.0.0.1:5672';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kazoo-cfg-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, lines: string[]): string {
  const path = join(dir, name);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, lines.join('\n'));
  return path;
}

function kazooParams(path: string, defines: string[] = []) {
  const doc = readCfg(path, { defines, host: HOST });
  return { doc, settings: kazooSettings(doc) };
}

function thrown(f: () => unknown): KazooError {
  try {
    f();
  } catch (error) {
    expect(error).toBeInstanceOf(KazooError);
    return error as KazooError;
  }
  throw new Error('expected a KazooError');
}

describe('readCfg()', () => {
  it('substitutes #!define tokens and applies #!trydef/#!redefine rules', () => {
    const cfg = write('kamailio.cfg', [
      '#!KAMAILIO',
      '#!define HB 7',
      '#!trydef HB 99',
      '#!define CH 10',
      '#!redefine CH 12',
      '#!define NODE "n1.test"',
      'modparam("kazoo", "amqp_heartbeats", HB)',
      'modparam("kazoo", "amqp_max_channels", CH)',
      'modparam("kazoo", "node_hostname", NODE)',
      `modparam("kazoo", "amqp_connection", "${URL}")`,
    ]);
    const { settings } = kazooParams(cfg);
    expect(settings.config).toMatchObject({ amqp_heartbeats: 7, amqp_max_channels: 12, node_hostname: 'n1.test' });
  });

  it('rejects a #!define of a name already defined, naming file and line', () => {
    const cfg = write('kamailio.cfg', ['#!define A 1', '', '#!define A 2']);
    const error = thrown(() => readCfg(cfg, { host: HOST }));
    expect(error.code).toBe('INVALID_CONFIG');
    expect(error.message).toBe(`kazoo: ${cfg}:3: #!define A: already defined (use #!redefine or #!trydef)`);
  });

  it('follows nested #!ifdef/#!ifndef/#!else/#!endif, with defines as flags and -A defines', () => {
    const cfg = write('kamailio.cfg', [
      '#!trydef ROLE_A',
      '#!ifdef ROLE_A',
      '  #!ifndef ROLE_B',
      '    modparam("kazoo", "amqp_heartbeats", 1)',
      '  #!else',
      '    modparam("kazoo", "amqp_heartbeats", 2)',
      '  #!endif',
      '#!else',
      '  #!ifdef ROLE_B',
      '    modparam("kazoo", "amqp_heartbeats", 3)',
      '  #!endif',
      '#!endif',
      '#!ifdef FROM_A',
      'modparam("kazoo", "app_name", "FROM_A")',
      '#!endif',
    ]);
    expect(kazooParams(cfg).settings.config).toEqual({ amqp_heartbeats: 1 });
    expect(kazooParams(cfg, ['ROLE_B']).settings.config).toEqual({ amqp_heartbeats: 2 });
    // -A NAME=VALUE defines the token; strings are only changed by #!subst rules (as in Kamailio).
    expect(kazooParams(cfg, ['ROLE_B', 'FROM_A=x']).settings.config).toEqual({ amqp_heartbeats: 2, app_name: 'FROM_A' });
  });

  it('reports unbalanced conditionals with file and line', () => {
    expect(thrown(() => readCfg(write('a.cfg', ['#!ifdef X', 'x']), { host: HOST })).message).toBe(
      `kazoo: ${join(dir, 'a.cfg')}:1: this #!ifdef/#!ifndef has no #!endif`,
    );
    expect(thrown(() => readCfg(write('b.cfg', ['', '#!endif']), { host: HOST })).message).toMatch(/b\.cfg:2: #!endif without a matching/);
    expect(thrown(() => readCfg(write('c.cfg', ['#!ifdef X', '#!else', '#!else', '#!endif']), { host: HOST })).message).toMatch(/c\.cfg:3: #!else without/);
  });

  it('applies #!subst and #!substdef inside strings, with $def() and $HN() evaluated in values', () => {
    const cfg = write('kamailio.cfg', [
      '#!define ZONE_NAME "east"',
      '#!substdef "!MY_HOSTNAME!$HN(f)!g"',
      '#!substdef "!MY_ZONE!$def(ZONE_NAME)!g"',
      '#!substdef "!DATA_DIR!/var/lib/kz!g"',
      '#!substdef "!DB_URL!kazoo:///DATA_DIR/kazoo.db!g"',
      '#!subst "/PRIMARY_URL/amqp:\\/\\/guest:guest@127.0.0.1:5672/"',
      'modparam("kazoo", "node_hostname", "MY_HOSTNAME")',
      'modparam("kazoo", "amqp_primary_zone", "MY_ZONE")',
      'modparam("kazoo", "amqp_connection", "zone=MY_ZONE;PRIMARY_URL")',
      'modparam("kazoo", "app_name", "$HN(n)-$HN(d)-$HN(i)")',
      'modparam("kazoo", "db_url", "DB_URL")',
      '#!ifdef MY_ZONE',
      'modparam("kazoo", "amqp_heartbeats", 4)',
      '#!endif',
    ]);
    const { settings } = kazooParams(cfg);
    expect(settings.config).toMatchObject({
      node_hostname: 'sip1.example.com',
      amqp_primary_zone: 'east',
      amqp_connection: ['zone=east;amqp://guest:guest@127.0.0.1:5672'],
      // modparam (not modparamx) does not evaluate PVs.
      app_name: '$HN(n)-$HN(d)-$HN(i)',
      db_url: 'kazoo:////var/lib/kz/kazoo.db',
      amqp_heartbeats: 4,
    });
    expect(settings.database).toEqual({ driver: 'sqlite', path: '/var/lib/kz/kazoo.db', url: 'kazoo:////var/lib/kz/kazoo.db' });
  });

  it('evaluates $def/$HN in modparamx values', () => {
    const cfg = write('kamailio.cfg', ['#!define APP "myapp"', 'modparamx("kazoo", "app_name", "$def(APP)@$HN(n)")']);
    expect(kazooParams(cfg).settings.config).toEqual({ app_name: 'myapp@sip1' });
  });

  it('includes files relative to the including file: include_file, #!include_file, import_file, import_files globs', () => {
    write('sub/amqp.cfg', [`modparam("kazoo", "amqp_connection", "${URL}")`, 'include_file "more.cfg"']);
    write('sub/more.cfg', ['modparam("kazoo", "amqp_heartbeats", 9)']);
    write('sub/defs.cfg', ['#!define NODE "inc.test"']);
    write('local.d/20-b.cfg', ['modparam("kazoo", "app_name", "b")']);
    write('local.d/10-a.cfg', ['modparam("kazoo", "app_name", "a")', 'modparam("kazoo", "amqp_max_channels", 3)']);
    write('local.d/ignored.txt', ['modparam("kazoo", "app_name", "txt")']);
    const cfg = write('kamailio.cfg', [
      '#!include_file "sub/defs.cfg"',
      'include_file "sub/amqp.cfg"',
      'import_file "missing.cfg"',
      'import_files "local.d/*.cfg"',
      'import_files "nowhere.d/*.cfg"',
      'modparam("kazoo", "node_hostname", NODE)',
    ]);
    const { doc, settings } = kazooParams(cfg);
    expect(settings.config).toEqual({ amqp_connection: [URL], amqp_heartbeats: 9, app_name: 'b', amqp_max_channels: 3, node_hostname: 'inc.test' });
    expect(doc.files.map((f) => f.slice(dir.length + 1))).toEqual(['kamailio.cfg', 'sub/defs.cfg', 'sub/amqp.cfg', 'sub/more.cfg', 'local.d/10-a.cfg', 'local.d/20-b.cfg']);
  });

  it('rejects a missing include_file, naming the including file and line', () => {
    const cfg = write('kamailio.cfg', ['# x', 'include_file "nope.cfg"']);
    expect(thrown(() => readCfg(cfg, { host: HOST })).message).toBe(`kazoo: ${cfg}:2: include_file "nope.cfg": no such file ${join(dir, 'nope.cfg')}`);
  });

  it('ignores #, // and /* */ comments but not their characters inside strings; other modules are skipped', () => {
    const cfg = write('kamailio.cfg', [
      '# modparam("kazoo", "amqp_heartbeats", 1)',
      '// modparam("kazoo", "amqp_heartbeats", 2)',
      '/* modparam("kazoo", "amqp_heartbeats", 3)',
      '   modparam("kazoo", "amqp_heartbeats", 4) */ modparam("kazoo", "amqp_max_channels", 5) # trailing',
      'modparam("kazoo", "app_name", "a#b//c/*d*/") // comment',
      'modparam("tm", "fr_timer", 30000)',
      'route[X] { if ($rU == "x") { xlog("L_INFO", "modparam(\\"kazoo\\", ...)\\n"); } }',
      'modparam("kazoo",',
      '   "amqp_consumer_workers",',
      '   -16)',
    ]);
    const doc = readCfg(cfg, { host: HOST });
    expect(doc.modparams.filter((p) => p.module === 'kazoo').map((p) => [p.name, p.value, p.line])).toEqual([
      ['amqp_max_channels', 5, 4],
      ['app_name', 'a#b//c/*d*/', 5],
      ['amqp_consumer_workers', -16, 8],
    ]);
  });

  it('rejects an unknown kazoo parameter as INVALID_CONFIG naming file and line', () => {
    const cfg = write('kamailio.cfg', [`modparam("kazoo", "amqp_connection", "${URL}")`, 'modparam("kazoo", "amqp_hartbeats", 5)']);
    const error = thrown(() => kazooSettings(readCfg(cfg, { host: HOST })));
    expect(error.code).toBe('INVALID_CONFIG');
    expect(error.message).toBe(`kazoo: ${cfg}:2: amqp_hartbeats is not a kazoo parameter`);
    expect(error.details).toMatchObject({ file: cfg, line: 2, param: 'amqp_hartbeats' });
  });

  it('converts numeric strings for integer parameters and rejects wrong types and bad values at their line', () => {
    const ok = write('ok.cfg', ['modparam("kazoo", "amqp_heartbeats", "5")']);
    expect(kazooParams(ok).settings.config).toEqual({ amqp_heartbeats: 5 });
    const badInt = write('bad-int.cfg', ['', 'modparam("kazoo", "amqp_heartbeats", "five")']);
    expect(thrown(() => kazooParams(badInt)).message).toBe(`kazoo: ${badInt}:2: amqp_heartbeats must be an integer, got "five"`);
    const badString = write('bad-str.cfg', ['modparam("kazoo", "amqp_primary_zone", 5)']);
    expect(thrown(() => kazooParams(badString)).message).toMatch(/bad-str\.cfg:1: amqp_primary_zone must be a string, got 5/);
    const badValue = write('bad-val.cfg', ['modparam("kazoo", "node_hostname", "n")', `modparam("kazoo", "amqp_connection", "${URL}")`, 'modparam("kazoo", "amqp_consumer_workers", 3)']);
    const error = thrown(() => resolveCfgSettings(kazooParams(badValue).settings));
    expect(error.message).toBe(`kazoo: ${badValue}:3: amqp_consumer_workers must be a power of two 1..1024, got 3`);
  });

  it('accepts fork-only parameters with a warning naming them, and resolves the app_jsdt script', () => {
    const cfg = write('etc/kamailio.cfg', [
      'modparam("kazoo", "presence_use_full_entity", 1)',
      'loadmodule "app_jsdt.so"',
      'modparam("app_jsdt", "load", "scripts/kazoo.js")',
    ]);
    const { settings } = kazooParams(cfg);
    expect(settings.warnings).toEqual([`kazoo: ${cfg}:1: presence_use_full_entity is a parameter of 2600hz's fork of the kazoo module; accepted, no effect`]);
    expect(settings.script).toBe(join(dir, 'etc/scripts/kazoo.js'));
  });
});

describe('kazoo-amqp config', () => {
  it('prints the resolved parameters with defaults, passwords masked, the database and the warnings', async () => {
    write('amqp.cfg', ['modparam("kazoo", "amqp_connection", "amqp://user:s3cret@rabbit.test:5672")']);
    const cfg = write('kamailio.cfg', [
      '#!substdef "!MY_NODE!$HN(f)!g"',
      'modparam("kazoo", "node_hostname", "MY_NODE")',
      'include_file "amqp.cfg"',
      'modparam("kazoo", "db_url", "postgres://kamailio:dbpass@db.test/kazoo")',
    ]);
    let printed = '';
    const code = await runCli(['config', '--cfg', cfg, '--modparam', 'amqp_heartbeats=3'], (t) => (printed += t));
    expect(code).toBe(0);
    expect(printed).not.toContain('s3cret');
    expect(printed).not.toContain('dbpass');
    const out = JSON.parse(printed) as { kazoo: Record<string, unknown>; database: unknown; files: string[] };
    expect(out.kazoo).toMatchObject({
      amqp_connection: ['amqp://user:***@rabbit.test:5672'],
      amqp_heartbeats: 3,
      amqp_max_channels: 50,
      amqp_consumer_workers: 8,
      db_url: 'postgres://kamailio:***@db.test/kazoo',
    });
    expect(typeof out.kazoo.node_hostname).toBe('string');
    expect(out.database).toEqual({ driver: 'postgres', url: 'postgres://kamailio:***@db.test/kazoo' });
    expect(out.files).toEqual([cfg, join(dir, 'amqp.cfg')]);
  });

  it('exits 2 on a usage error and prints --help', async () => {
    let printed = '';
    expect(await runCli(['config'], (t) => (printed += t))).toBe(2);
    expect(await runCli(['--help'], (t) => (printed += t))).toBe(0);
    expect(printed).toContain('kazoo-amqp run [--cfg kamailio.cfg]');
  });
});

// 2600hz's published configs (not committed here): set KAZOO_CONFIGS_KAMAILIO to a checkout of
// github.com/2600hz/kazoo-configs-kamailio to run this.
const published = process.env.KAZOO_CONFIGS_KAMAILIO;
(published ? describe : describe.skip)('2600hz kazoo-configs-kamailio (KAZOO_CONFIGS_KAMAILIO)', () => {
  it('resolves the defaults of kamailio/kamailio.cfg unchanged', () => {
    const doc = readCfg(join(published as string, 'kamailio', 'kamailio.cfg'), { host: HOST });
    const settings = kazooSettings(doc);
    const out = describeCfg(doc, settings, resolveCfgSettings(settings)) as { kazoo: Record<string, unknown>; database: unknown };
    expect(out.kazoo).toMatchObject({
      node_hostname: 'sip1.example.com',
      amqp_connection: ['amqp://guest:***@127.0.0.1:5672'],
      amqp_max_channels: 25,
      amqp_consumer_processes: 4,
      amqp_consumer_workers: 16,
      amqp_heartbeats: 5,
      amqp_primary_zone: 'local',
      amqp_query_timeout_avp: '$avp(kz_timeout)',
      pua_mode: 1,
      presence_use_full_entity: 1,
    });
    expect(out.database).toMatchObject({ driver: 'sqlite', path: '/etc/kazoo/kamailio/db/kazoo.db' });
    expect(settings.warnings.join('\n')).toMatch(/presence_use_full_entity is a parameter of 2600hz's fork/);
  });
});
