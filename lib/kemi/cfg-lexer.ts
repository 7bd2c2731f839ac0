/**
 * The token level of kamailio.cfg: strings, numbers, identifiers, pseudo-variables and
 * punctuation, with `#`, `//` and `/* *\/` comments removed. The preprocessor (cfg-reader.ts)
 * feeds it one line at a time and carries the block-comment state between lines.
 */

/** One token of a cfg line. */
export interface CfgToken {
  kind: 'string' | 'number' | 'id' | 'pv' | 'punct';
  /** The string's content (escapes resolved), the number's digits, the identifier, the PV text. */
  text: string;
  /** 1-based line in `file`. */
  line: number;
  file: string;
}

/** Lexer state carried from one line to the next. */
export interface LexState {
  inBlockComment: boolean;
}

const ID_START = /[A-Za-z_]/;
const ID_CHAR = /[A-Za-z0-9_.]/;

/**
 * Splits one line into tokens. An unterminated string ends at the end of the line (Kamailio
 * strings do not span lines in practice; the statement using it then fails to parse).
 */
export function lexLine(source: string, line: number, file: string, state: LexState): CfgToken[] {
  const out: CfgToken[] = [];
  let i = 0;
  const n = source.length;
  while (i < n) {
    if (state.inBlockComment) {
      const end = source.indexOf('*/', i);
      if (end < 0) return out;
      state.inBlockComment = false;
      i = end + 2;
      continue;
    }
    const c = source[i];
    if (c === ' ' || c === '\t' || c === '\r') {
      i++;
    } else if (c === '#') {
      return out;
    } else if (c === '/' && source[i + 1] === '/') {
      return out;
    } else if (c === '/' && source[i + 1] === '*') {
      state.inBlockComment = true;
      i += 2;
    } else if (c === '"' || c === "'") {
      let text = '';
      let j = i + 1;
      while (j < n && source[j] !== c) {
        if (source[j] === '\\' && j + 1 < n) {
          const e = source[j + 1];
          text += e === 'n' ? '\n' : e === 't' ? '\t' : e === 'r' ? '\r' : e;
          j += 2;
        } else {
          text += source[j++];
        }
      }
      out.push({ kind: 'string', text, line, file });
      i = j + 1;
    } else if (/[0-9]/.test(c) || (c === '-' && /[0-9]/.test(source[i + 1] ?? '') && !lastIsValue(out))) {
      let j = i + 1;
      while (j < n && /[0-9]/.test(source[j])) j++;
      if (j < n && ID_CHAR.test(source[j])) {
        // 5060abc, 10.0.0.1: not a number; kept as one opaque token.
        while (j < n && /[A-Za-z0-9_.:]/.test(source[j])) j++;
        out.push({ kind: 'id', text: source.slice(i, j), line, file });
      } else {
        out.push({ kind: 'number', text: source.slice(i, j), line, file });
      }
      i = j;
    } else if (ID_START.test(c)) {
      let j = i + 1;
      while (j < n && ID_CHAR.test(source[j])) j++;
      out.push({ kind: 'id', text: source.slice(i, j), line, file });
      i = j;
    } else if (c === '$') {
      let j = i + 1;
      if (source[j] === '(') {
        j = skipBalanced(source, j);
      } else {
        while (j < n && /[A-Za-z0-9_]/.test(source[j])) j++;
        if (source[j] === '(') j = skipBalanced(source, j);
      }
      out.push({ kind: 'pv', text: source.slice(i, j), line, file });
      i = j;
    } else {
      out.push({ kind: 'punct', text: c, line, file });
      i++;
    }
  }
  return out;
}

function lastIsValue(tokens: CfgToken[]): boolean {
  const last = tokens[tokens.length - 1];
  return last !== undefined && last.kind !== 'punct';
}

/** Index just past the parenthesis group that starts at `open` (nesting counted). */
function skipBalanced(source: string, open: number): number {
  let depth = 0;
  for (let j = open; j < source.length; j++) {
    if (source[j] === '(') depth++;
    else if (source[j] === ')') {
      depth--;
      if (depth === 0) return j + 1;
    }
  }
  return source.length;
}
