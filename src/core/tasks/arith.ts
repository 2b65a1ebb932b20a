/**
 * A small, safe arithmetic parser (numbers, + - * /, parentheses) for checking equations that
 * models write. Never `eval`: completions are untrusted text.
 */

export class ArithError extends Error {
  override name = 'ArithError';
}

export interface ParsedExpression {
  value: number;
  /** The number literals in the order written. */
  numbers: number[];
}

type Tok = { kind: 'num'; value: number } | { kind: 'op'; value: string };

function tokenize(text: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (/[0-9.]/.test(c)) {
      const m = /^\d+(\.\d+)?/.exec(text.slice(i));
      if (!m) throw new ArithError(`Malformed number at position ${i} in '${text}'.`);
      toks.push({ kind: 'num', value: Number(m[0]) });
      i += m[0].length;
    } else if ('+-*/()'.includes(c)) {
      toks.push({ kind: 'op', value: c });
      i++;
    } else if (c === '×' || c === '÷') {
      toks.push({ kind: 'op', value: c === '×' ? '*' : '/' });
      i++;
    } else {
      throw new ArithError(`Unexpected character '${c}' at position ${i} in '${text}'.`);
    }
  }
  return toks;
}

/** Parse and evaluate. Division by zero and malformed input throw ArithError. */
export function parseExpression(text: string): ParsedExpression {
  const toks = tokenize(text);
  let pos = 0;
  const numbers: number[] = [];
  const peek = (): Tok | undefined => toks[pos];
  const isOp = (v: string): boolean => {
    const t = peek();
    return t !== undefined && t.kind === 'op' && t.value === v;
  };
  const expr = (): number => {
    let v = term();
    while (isOp('+') || isOp('-')) {
      const op = (toks[pos++] as Tok).value;
      const r = term();
      v = op === '+' ? v + r : v - r;
    }
    return v;
  };
  const term = (): number => {
    let v = factor();
    while (isOp('*') || isOp('/')) {
      const op = (toks[pos++] as Tok).value;
      const r = factor();
      if (op === '/') {
        if (r === 0) throw new ArithError(`Division by zero in '${text}'.`);
        v = v / r;
      } else {
        v = v * r;
      }
    }
    return v;
  };
  const factor = (): number => {
    const t = peek();
    if (t === undefined) throw new ArithError(`Expression ends early: '${text}'.`);
    if (t.kind === 'num') {
      pos++;
      numbers.push(t.value);
      return t.value;
    }
    if (t.value === '(') {
      pos++;
      const v = expr();
      if (!isOp(')')) throw new ArithError(`Missing ')' in '${text}'.`);
      pos++;
      return v;
    }
    if (t.value === '-') {
      pos++;
      return -factor();
    }
    throw new ArithError(`Unexpected '${t.value}' in '${text}'.`);
  };
  const value = expr();
  if (pos !== toks.length) throw new ArithError(`Unexpected trailing input in '${text}'.`);
  return { value, numbers };
}
