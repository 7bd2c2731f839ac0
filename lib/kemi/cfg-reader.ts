/**
 * Reads a kamailio.cfg the way Kamailio's preprocessor does, far enough to collect every
 * `modparam(...)` line: `#!define`/`#!trydef`/`#!redefine`/`#!defenv`, `#!ifdef`/`#!ifndef`/
 * `#!else`/`#!endif`, `#!subst`/`#!substdef`/`#!substdefs` (applied inside strings),
 * `include_file`/`import_file`/`import_files` (also as `#!` directives; globs; relative to the
 * including file) and `-A NAME[=VALUE]` defines. Everything else (routes, other statements) is
 * tokenized and skipped. Errors are INVALID_CONFIG naming file and line.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { KazooError } from '../errors';
import { lexLine, type CfgToken, type LexState } from './cfg-lexer';
import { expandCfgValue, localHostInfo, type HostInfo } from './cfg-values';

/** One `modparam("<module>", "<name>", <value>)` as read, after preprocessing. */
export interface CfgModparam {
  module: string;
  name: string;
  /** A string argument, or an integer argument (Kamailio's INT). */
  value: string | number;
  file: string;
  line: number;
}

/** What {@link readCfg} found. */
export interface CfgDocument {
  /** The cfg file read first (absolute). */
  entry: string;
  /** Every file read, in order. */
  files: string[];
  /** Defines at the end of the read (`#!define`, `#!substdef`, `-A`), name → raw value. */
  defines: ReadonlyMap<string, string>;
  /** Every modparam of every module, in order. */
  modparams: CfgModparam[];
}

/** Options of {@link readCfg}. */
export interface ReadCfgOptions {
  /** `-A NAME[=VALUE]` defines, applied before the first line. */
  defines?: readonly string[];
  /** Host facts for `$HN(...)`; this machine's by default. */
  host?: HostInfo;
}

interface Subst {
  regex: RegExp;
  replacement: string;
}

interface Branch {
  /** This branch's lines are read. */
  active: boolean;
  /** The enclosing block is read (an #!else can only activate within it). */
  parentActive: boolean;
  sawElse: boolean;
  file: string;
  line: number;
}

const MAX_INCLUDE_DEPTH = 32;
const MAX_DEFINE_DEPTH = 16;

/** Builds the INVALID_CONFIG error for `file:line`. */
export function cfgError(file: string, line: number, message: string, param?: string): KazooError {
  return new KazooError('INVALID_CONFIG', `kazoo: ${file}:${line}: ${message}`, { file, line, ...(param ? { param } : {}) });
}

/**
 * Reads `path` and everything it includes. Kamailio: the cfg preprocessor and `kamailio -A`.
 * @throws KazooError INVALID_CONFIG naming file and line (unreadable include, unbalanced
 *   `#!ifdef`, bad `#!subst`, malformed modparam, `#!define` of a name already defined).
 */
export function readCfg(path: string, options: ReadCfgOptions = {}): CfgDocument {
  const reader = new CfgReader(options.host ?? localHostInfo());
  for (const spec of options.defines ?? []) {
    const eq = spec.indexOf('=');
    const name = eq < 0 ? spec : spec.slice(0, eq);
    if (!/^[A-Za-z_]\w*$/.test(name)) throw new KazooError('INVALID_CONFIG', `kazoo: -A must be NAME or NAME=VALUE, got ${JSON.stringify(spec)}`, { param: '-A' });
    reader.defines.set(name, eq < 0 ? '' : spec.slice(eq + 1));
  }
  const entry = resolve(path);
  if (!existsSync(entry)) throw new KazooError('INVALID_CONFIG', `kazoo: cannot read cfg file ${entry}: no such file`, { file: entry });
  reader.readFile(entry, 0);
  return { entry, files: reader.files, defines: reader.defines, modparams: reader.modparams };
}

class CfgReader {
  readonly defines = new Map<string, string>();
  readonly modparams: CfgModparam[] = [];
  readonly files: string[] = [];
  private readonly substs: Subst[] = [];

  constructor(private readonly host: HostInfo) {}

  readFile(file: string, depth: number): void {
    if (depth > MAX_INCLUDE_DEPTH) throw new KazooError('INVALID_CONFIG', `kazoo: ${file}: includes nested more than ${MAX_INCLUDE_DEPTH} deep (an include loop?)`, { file });
    let source: string;
    try {
      source = readFileSync(file, 'utf8');
    } catch (error) {
      throw new KazooError('INVALID_CONFIG', `kazoo: cannot read cfg file ${file}: ${(error as Error).message}`, { file });
    }
    this.files.push(file);
    const lines = source.split('\n');
    const branches: Branch[] = [];
    const lex: LexState = { inBlockComment: false };
    const pending: CfgToken[] = [];
    const active = () => branches.length === 0 || branches[branches.length - 1].active;
    for (let index = 0; index < lines.length; index++) {
      const lineNo = index + 1;
      let text = lines[index];
      const trimmed = text.trimStart();
      if (!lex.inBlockComment && (trimmed.startsWith('#!') || trimmed.startsWith('!!'))) {
        // A directive continues on the next line after a trailing backslash.
        let directive = trimmed.slice(2);
        while (directive.endsWith('\\') && index + 1 < lines.length) {
          directive = directive.slice(0, -1) + '\n' + lines[++index];
        }
        this.directive(directive.trimEnd(), file, lineNo, depth, branches, active());
        continue;
      }
      if (!active()) {
        // Comments still open and close inside skipped blocks.
        lexLine(text, lineNo, file, lex);
        continue;
      }
      if (text.endsWith('\r')) text = text.slice(0, -1);
      for (const token of lexLine(text, lineNo, file, lex)) this.push(pending, token, 0);
      this.statements(pending, depth, false);
    }
    if (branches.length > 0) {
      const open = branches[branches.length - 1];
      throw cfgError(open.file, open.line, 'this #!ifdef/#!ifndef has no #!endif');
    }
    this.statements(pending, depth, true);
  }

  /** Appends a token, replacing a defined identifier by its value's tokens and applying substs to strings. */
  private push(out: CfgToken[], token: CfgToken, depth: number): void {
    if (token.kind === 'id' && this.defines.has(token.text)) {
      if (depth >= MAX_DEFINE_DEPTH) throw cfgError(token.file, token.line, `define ${token.text} expands into itself`);
      const value = this.defines.get(token.text) as string;
      for (const t of lexLine(value, token.line, token.file, { inBlockComment: false })) this.push(out, t, depth + 1);
      return;
    }
    if (token.kind === 'string') token.text = this.applySubsts(token.text);
    out.push(token);
  }

  private applySubsts(text: string): string {
    let result = text;
    for (const s of this.substs) {
      s.regex.lastIndex = 0;
      result = result.replace(s.regex, (...groups: unknown[]) =>
        s.replacement.replace(/\\(\d)/g, (_, n: string) => String(groups[Number(n)] ?? '')),
      );
    }
    return result;
  }

  /** Consumes the statements complete at the head of `pending`; at the end of a file, all of them. */
  private statements(pending: CfgToken[], depth: number, atEnd: boolean): void {
    while (pending.length > 0) {
      const head = pending[0];
      if (head.kind === 'id' && (head.text === 'include_file' || head.text === 'import_file' || head.text === 'import_files')) {
        if (pending.length < 2) {
          if (atEnd) throw cfgError(head.file, head.line, `${head.text} needs a file name string`);
          return;
        }
        const name = pending[1];
        if (name.kind !== 'string') throw cfgError(head.file, head.line, `${head.text} must be followed by a quoted file name`);
        pending.splice(0, 2);
        this.include(head.text, name.text, head.file, head.line, depth);
        continue;
      }
      if (head.kind === 'id' && (head.text === 'modparam' || head.text === 'modparamx')) {
        const close = pending.findIndex((t) => t.kind === 'punct' && t.text === ')');
        if (close < 0) {
          if (atEnd) throw cfgError(head.file, head.line, `${head.text}(...) is not closed`);
          return;
        }
        const statement = pending.splice(0, close + 1);
        this.modparam(statement);
        continue;
      }
      pending.shift();
    }
  }

  private modparam(tokens: CfgToken[]): void {
    const head = tokens[0];
    const fail = (why: string): never => {
      throw cfgError(head.file, head.line, `${head.text} must be ${head.text}("module", "name", value): ${why}`);
    };
    const args: CfgToken[][] = [[]];
    if (tokens[1]?.text !== '(') fail('missing (');
    for (const t of tokens.slice(2, -1)) {
      if (t.kind === 'punct' && t.text === ',') args.push([]);
      else args[args.length - 1].push(t);
    }
    if (args.length !== 3) fail(`expected 3 arguments, got ${args.length}`);
    const [mod, name, value] = args;
    if (mod.length !== 1 || mod[0].kind !== 'string') fail('the module must be a string');
    if (name.length !== 1 || name[0].kind !== 'string') fail('the parameter name must be a string');
    let parsed: string | number;
    if (value.length === 1 && value[0].kind === 'string') {
      parsed = head.text === 'modparamx' ? this.expand(value[0].text, head) : value[0].text;
    } else if (value.length === 1 && value[0].kind === 'number') {
      parsed = Number(value[0].text);
    } else if (head.text === 'modparamx' && value.length === 1 && value[0].kind === 'pv') {
      parsed = this.expand(value[0].text, head);
    } else {
      return fail(`the value must be a string or an integer, got ${value.map((t) => t.text).join(' ') || 'nothing'}`);
    }
    this.modparams.push({ module: mod[0].text, name: name[0].text, value: parsed, file: head.file, line: head.line });
  }

  private expand(text: string, at: { file: string; line: number }): string {
    return expandCfgValue(text, this.defines, this.host, (message) => {
      throw cfgError(at.file, at.line, message);
    });
  }

  private include(kind: string, name: string, file: string, line: number, depth: number): void {
    const dir = dirname(file);
    const target = isAbsolute(name) ? name : join(dir, name);
    if (kind === 'import_files' || /[*?]/.test(basename(target))) {
      // Globs on the file name; a folder that does not exist matches nothing (as 2600hz's build).
      const folder = dirname(target);
      const pattern = globToRegExp(basename(target));
      let names: string[] = [];
      try {
        names = readdirSync(folder).filter((n) => pattern.test(n)).sort();
      } catch {
        names = [];
      }
      for (const n of names) {
        const full = join(folder, n);
        if (statSync(full).isFile()) this.readFile(full, depth + 1);
      }
      return;
    }
    if (!existsSync(target)) {
      if (kind === 'import_file') return; // import_file: a missing file is not an error
      throw cfgError(file, line, `${kind} ${JSON.stringify(name)}: no such file ${target}`);
    }
    this.readFile(target, depth + 1);
  }

  private directive(text: string, file: string, line: number, depth: number, branches: Branch[], active: boolean): void {
    const match = /^(\w+)\s*(.*)$/s.exec(text);
    const word = match ? match[1].toLowerCase() : '';
    const rest = match ? match[2].trim() : '';
    if (word === 'ifdef' || word === 'ifndef') {
      const name = rest.split(/\s/)[0];
      if (!name) throw cfgError(file, line, `#!${word} needs a name`);
      const defined = this.defines.has(name);
      branches.push({ active: active && (word === 'ifdef' ? defined : !defined), parentActive: active, sawElse: false, file, line });
      return;
    }
    if (word === 'else') {
      const top = branches[branches.length - 1];
      if (!top || top.sawElse) throw cfgError(file, line, '#!else without a matching #!ifdef/#!ifndef');
      top.sawElse = true;
      top.active = top.parentActive && !top.active;
      return;
    }
    if (word === 'endif') {
      if (!branches.pop()) throw cfgError(file, line, '#!endif without a matching #!ifdef/#!ifndef');
      return;
    }
    if (!active) return;
    switch (word) {
      case 'define':
      case 'trydef':
      case 'redefine': {
        const m = /^([A-Za-z_]\w*)(?:\s+(.*))?$/s.exec(rest);
        if (!m) throw cfgError(file, line, `#!${word} must be #!${word} NAME [value], got ${JSON.stringify(rest)}`);
        const [, name, value = ''] = m;
        if (word === 'define' && this.defines.has(name)) {
          throw cfgError(file, line, `#!define ${name}: already defined (use #!redefine or #!trydef)`);
        }
        if (word === 'trydef' && this.defines.has(name)) return;
        this.defines.set(name, value.trim());
        return;
      }
      case 'defenv':
      case 'trydefenv': {
        const m = /^([A-Za-z_]\w*)(?:=(\w+))?$/.exec(rest);
        if (!m) throw cfgError(file, line, `#!${word} must be #!${word} NAME or NAME=ENVVAR`);
        const [, name, env = name] = m;
        if (word === 'trydefenv' && this.defines.has(name)) return;
        if (process.env[env] !== undefined) this.defines.set(name, process.env[env] as string);
        return;
      }
      case 'subst':
      case 'substdef':
      case 'substdefs':
        this.subst(word, rest, file, line);
        return;
      case 'include_file':
      case 'import_file': {
        const m = /^"([^"]*)"$/.exec(rest);
        if (!m) throw cfgError(file, line, `#!${word} must be followed by a quoted file name`);
        this.include(word, m[1], file, line, depth);
        return;
      }
      case 'ifexp':
      case 'defexp':
      case 'defexps':
        throw cfgError(file, line, `#!${word} is not supported by kazoo-amqp's cfg reader`);
      default:
        // #!KAMAILIO, #!SER, #!ALL, #!MAXCOMPAT and anything else: a comment, as in Kamailio.
        return;
    }
  }

  private subst(word: string, rest: string, file: string, line: number): void {
    const quoted = /^"(.*)"$/s.exec(rest);
    const body = quoted ? quoted[1] : rest;
    const delimiter = body[0];
    if (!delimiter || /[\w\s\\]/.test(delimiter)) throw cfgError(file, line, `#!${word} must be "<d>regex<d>replacement<d>flags" with a delimiter such as / or !`);
    const parts: string[] = [''];
    for (let i = 1; i < body.length; i++) {
      if (body[i] === '\\' && body[i + 1] === delimiter) {
        parts[parts.length - 1] += delimiter;
        i++;
      } else if (body[i] === delimiter) parts.push('');
      else parts[parts.length - 1] += body[i];
    }
    if (parts.length !== 3 || !/^[gi]*$/.test(parts[2])) throw cfgError(file, line, `#!${word} must be "<d>regex<d>replacement<d>flags", got ${JSON.stringify(body)}`);
    const [pattern, replacementRaw, flags] = parts;
    // Earlier rules apply to the value (KAZOO_DB_URL = kazoo:///KAZOO_DATA_DIR/kazoo.db names
    // the folder KAZOO_DATA_DIR was set to), as 2600hz's build resolves it.
    const replacement = this.applySubsts(this.expand(replacementRaw, { file, line }));
    let regex: RegExp;
    try {
      regex = new RegExp(pattern, `${flags.includes('g') ? 'g' : ''}${flags.includes('i') ? 'i' : ''}`);
    } catch (error) {
      throw cfgError(file, line, `#!${word} has an invalid regular expression /${pattern}/: ${(error as Error).message}`);
    }
    this.substs.push({ regex, replacement });
    if (word !== 'subst') {
      if (!/^[A-Za-z_]\w*$/.test(pattern)) throw cfgError(file, line, `#!${word} needs a plain name as its pattern, got ${JSON.stringify(pattern)}`);
      this.defines.set(pattern, word === 'substdefs' ? JSON.stringify(replacement) : replacement);
    }
  }
}

function globToRegExp(glob: string): RegExp {
  const source = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]');
  return new RegExp(`^${source}$`);
}
