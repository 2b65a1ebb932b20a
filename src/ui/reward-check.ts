/**
 * A quick syntax check of a user's reward source in the page. The source is compiled with
 * `new Function` and never called: running user code is the worker's job (with a time limit).
 */

export type SyntaxCheck = { ok: true } | { ok: false; message: string; line?: number; column?: number };

interface OpenBracket {
  ch: string;
  line: number;
  column: number;
}

interface ScanResult {
  mismatch: { line: number; column: number; message: string } | null;
  /** Brackets still open at the end, innermost last. */
  open: OpenBracket[];
}

/** Walks the source skipping strings, comments and regex literals, matching brackets. */
function scanBrackets(source: string): ScanResult {
  const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  const stack: OpenBracket[] = [];
  let line = 1;
  let col = 0;
  let i = 0;
  let lastSignificant = '';
  const n = source.length;
  const advance = () => {
    const ch = source[i++]!;
    if (ch === '\n') {
      line++;
      col = 0;
    } else col++;
    return ch;
  };
  while (i < n) {
    const ch = source[i]!;
    const next = source[i + 1];
    if (ch === '/' && next === '/') {
      while (i < n && source[i] !== '\n') advance();
      continue;
    }
    if (ch === '/' && next === '*') {
      advance();
      advance();
      while (i < n && !(source[i] === '*' && source[i + 1] === '/')) advance();
      if (i < n) {
        advance();
        advance();
      }
      continue;
    }
    if (ch === '"' || ch === "'" || ch === '`') {
      advance();
      while (i < n && source[i] !== ch) {
        if (source[i] === '\\') advance();
        if (i < n) advance();
      }
      if (i < n) advance();
      lastSignificant = 'x';
      continue;
    }
    // A slash where an operand is expected starts a regex literal, whose brackets don't count.
    if (ch === '/' && (lastSignificant === '' || '(,=:[!&|?{};+-*%<>~^'.includes(lastSignificant) || /\breturn$/.test(source.slice(0, i).trimEnd()))) {
      advance();
      let inClass = false;
      while (i < n && source[i] !== '\n' && (inClass || source[i] !== '/')) {
        if (source[i] === '\\') advance();
        else if (source[i] === '[') inClass = true;
        else if (source[i] === ']') inClass = false;
        if (i < n) advance();
      }
      if (i < n) advance();
      lastSignificant = 'x';
      continue;
    }
    const startLine = line;
    const startCol = col + 1;
    advance();
    if (ch === '(' || ch === '[' || ch === '{') stack.push({ ch, line: startLine, column: startCol });
    else if (ch in pairs) {
      const open = stack.pop();
      if (!open || open.ch !== pairs[ch]) {
        return { mismatch: { line: startLine, column: startCol, message: open ? `'${ch}' closes '${open.ch}' opened at line ${open.line}` : `'${ch}' has no matching opening bracket` }, open: stack };
      }
    }
    if (!/\s/.test(ch)) lastSignificant = ch;
  }
  return { mismatch: null, open: stack };
}

/** Chromium's SyntaxError carries no position, so unbalanced brackets are located by a small scan. */
export function findUnbalancedBracket(source: string): { line: number; column: number; message: string } | null {
  const r = scanBrackets(source);
  if (r.mismatch) return r.mismatch;
  const open = r.open[r.open.length - 1];
  return open ? { line: open.line, column: open.column, message: `'${open.ch}' is never closed` } : null;
}

function compiles(source: string): boolean {
  try {
    // The newline keeps a trailing line comment in the source from swallowing the closing parenthesis.
    new Function('completion', 'problem', `return (${source}\n);`);
    return true;
  } catch {
    return false;
  }
}

const CLOSER: Record<string, string> = { '(': ')', '[': ']', '{': '}' };

/**
 * The line of a syntax error that isn't a bracket problem: the first k lines, with their open
 * brackets closed, compile for every k before the bad line. Taking the last prefix that compiles
 * (not the first that fails) skips lines that only continue on the next one ("a +").
 */
export function findErrorLine(source: string): number | null {
  const lines = source.split('\n');
  let lastGood = 0;
  for (let k = 1; k <= lines.length; k++) {
    const prefix = lines.slice(0, k).join('\n');
    const scan = scanBrackets(prefix);
    if (scan.mismatch) break;
    const closers = scan.open.map((o) => CLOSER[o.ch]!).reverse().join('');
    if (compiles(`${prefix}\n${closers}`)) lastGood = k;
  }
  return lastGood < lines.length ? lastGood + 1 : null;
}

export function checkRewardSyntax(source: string): SyntaxCheck {
  if (source.trim() === '') return { ok: false, message: 'The reward is empty: write (completion, problem) => number.', line: 1, column: 1 };
  try {
    new Function('completion', 'problem', `return (${source}\n);`);
    return { ok: true };
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    const bracket = findUnbalancedBracket(source);
    if (bracket) return { ok: false, message: `${message} (${bracket.message})`, line: bracket.line, column: bracket.column };
    const line = findErrorLine(source);
    return line === null ? { ok: false, message } : { ok: false, message, line };
  }
}
