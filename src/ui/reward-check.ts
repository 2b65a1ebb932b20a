/**
 * A quick syntax check of a user's reward source in the page. The source is compiled with
 * `new Function` and never called: running user code is the worker's job (with a time limit).
 */

export type SyntaxCheck = { ok: true } | { ok: false; message: string; line?: number; column?: number };

/** Chromium's SyntaxError carries no position, so unbalanced brackets are located by a small scan. */
export function findUnbalancedBracket(source: string): { line: number; column: number; message: string } | null {
  const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  const stack: { ch: string; line: number; column: number }[] = [];
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
        return { line: startLine, column: startCol, message: open ? `'${ch}' closes '${open.ch}' opened at line ${open.line}` : `'${ch}' has no matching opening bracket` };
      }
    }
    if (!/\s/.test(ch)) lastSignificant = ch;
  }
  const open = stack.pop();
  return open ? { line: open.line, column: open.column, message: `'${open.ch}' is never closed` } : null;
}

export function checkRewardSyntax(source: string): SyntaxCheck {
  if (source.trim() === '') return { ok: false, message: 'The reward is empty: write (completion, problem) => number.', line: 1, column: 1 };
  try {
    // The newline keeps a trailing line comment in the source from swallowing the closing parenthesis.
    new Function('completion', 'problem', `return (${source}\n);`);
    return { ok: true };
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    const bracket = findUnbalancedBracket(source);
    if (bracket) return { ok: false, message: `${message} (${bracket.message})`, line: bracket.line, column: bracket.column };
    return { ok: false, message };
  }
}
