/**
 * Translates a simple JavaScript reward function `(completion, problem) => number` into Python for the
 * TRL export. "Simple" is a small language: parameters, const/let/var, if/else, return, literals,
 * regular expressions, the usual operators, member access, method calls on strings/arrays/regexes and
 * Math/Number/parseFloat/parseInt/String. The Python keeps JavaScript's meaning through the helpers in
 * tabzero_rewards.py (truthiness, ===, +, match arrays). Anything else is refused with the reason, and
 * the exporter writes a stub with the JavaScript in a comment instead.
 */

export class UntranslatableError extends Error {
  override name = 'UntranslatableError';
}

type Tok =
  | { t: 'num'; v: number }
  | { t: 'str'; v: string }
  | { t: 're'; body: string; flags: string }
  | { t: 'id'; v: string }
  | { t: 'p'; v: string };

const PUNCT = ['===', '!==', '=>', '==', '!=', '<=', '>=', '&&', '||', '??', '?.', '!', '?', ':', '(', ')', '{', '}', '[', ']', ',', ';', '.', '+', '-', '*', '/', '%', '<', '>', '='];

function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  const regexAllowed = () => {
    const last = out[out.length - 1];
    if (!last) return true;
    if (last.t === 'p') return !(last.v === ')' || last.v === ']' || last.v === '}');
    if (last.t === 'id') return last.v === 'return' || last.v === 'typeof';
    return false;
  };
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (src.startsWith('//', i)) {
      while (i < src.length && src[i] !== '\n') i++;
      continue;
    }
    if (src.startsWith('/*', i)) {
      const end = src.indexOf('*/', i + 2);
      if (end < 0) throw new UntranslatableError('an unclosed comment');
      i = end + 2;
      continue;
    }
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(src[i + 1] ?? ''))) {
      const m = /^(?:0[xX][0-9a-fA-F]+|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)/.exec(src.slice(i))!;
      out.push({ t: 'num', v: Number(m[0]) });
      i += m[0].length;
      continue;
    }
    if (/[A-Za-z_$]/.test(c)) {
      const m = /^[A-Za-z_$][A-Za-z0-9_$]*/.exec(src.slice(i))!;
      out.push({ t: 'id', v: m[0] });
      i += m[0].length;
      continue;
    }
    if (c === '"' || c === "'" || c === '`') {
      let j = i + 1;
      let text = '';
      while (j < src.length && src[j] !== c) {
        if (c === '`' && src.startsWith('${', j)) throw new UntranslatableError('a template string with ${…}');
        if (src[j] === '\\') {
          const e = src[j + 1] ?? '';
          const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', '`': '`', '0': '\0', '/': '/' };
          if (e in simple) {
            text += simple[e];
            j += 2;
            continue;
          }
          if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(src.slice(j + 2, j + 6))) {
            text += String.fromCharCode(parseInt(src.slice(j + 2, j + 6), 16));
            j += 6;
            continue;
          }
          throw new UntranslatableError(`the string escape \\${e}`);
        }
        if (src[j] === '\n' && c !== '`') throw new UntranslatableError('a string broken across lines');
        text += src[j];
        j++;
      }
      if (j >= src.length) throw new UntranslatableError('an unclosed string');
      out.push({ t: 'str', v: text });
      i = j + 1;
      continue;
    }
    if (c === '/' && regexAllowed()) {
      let j = i + 1;
      let inClass = false;
      while (j < src.length) {
        const d = src[j]!;
        if (d === '\\') {
          j += 2;
          continue;
        }
        if (d === '\n') throw new UntranslatableError('a regular expression broken across lines');
        if (d === '[') inClass = true;
        else if (d === ']') inClass = false;
        else if (d === '/' && !inClass) break;
        j++;
      }
      if (j >= src.length) throw new UntranslatableError('an unclosed regular expression');
      const flags = /^[a-z]*/.exec(src.slice(j + 1))![0];
      out.push({ t: 're', body: src.slice(i + 1, j), flags });
      i = j + 1 + flags.length;
      continue;
    }
    const p = PUNCT.find((q) => src.startsWith(q, i));
    if (!p) throw new UntranslatableError(`the character '${c}'`);
    if (p === '??' || p === '?.') throw new UntranslatableError(`the operator ${p}`);
    out.push({ t: 'p', v: p });
    i += p.length;
  }
  return out;
}

/** Python's spelling of a string: JSON's escapes mean the same there. */
export function pyString(s: string): string {
  return JSON.stringify(s).replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

const JS_WS_CLASS = '\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff';
const LINE_TERMINATORS = '\\n\\r\\u2028\\u2029';

/** A JavaScript regular expression's source and flags as a Python pattern and re flags with the same meaning. */
export function translateRegex(body: string, flags: string): { pattern: string; reFlags: string; global: boolean } {
  for (const f of flags) if (!'gims'.includes(f)) throw new UntranslatableError(`the regular-expression flag '${f}'`);
  const multiline = flags.includes('m');
  const dotAll = flags.includes('s');
  let out = '';
  let inClass = false;
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === '\\') {
      const e = body[i + 1];
      if (e === undefined) throw new UntranslatableError('a regular expression ending in a backslash');
      i++;
      if (inClass && body.slice(i - 1, i + 3) === '\\s\\S') {
        out += '\\s\\S';
        i += 2;
        continue;
      }
      switch (e) {
        case 'd':
          out += inClass ? '0-9' : '[0-9]';
          break;
        case 'w':
          out += inClass ? 'A-Za-z0-9_' : '[A-Za-z0-9_]';
          break;
        case 's':
          out += inClass ? JS_WS_CLASS : `[${JS_WS_CLASS}]`;
          break;
        case 'D':
        case 'W':
        case 'S':
          if (inClass) throw new UntranslatableError(`\\${e} inside a character class`);
          out += e === 'D' ? '[^0-9]' : e === 'W' ? '[^A-Za-z0-9_]' : `[^${JS_WS_CLASS}]`;
          break;
        case '/':
          out += '/';
          break;
        case 'c':
        case 'k':
        case 'p':
        case 'P':
          throw new UntranslatableError(`the regular-expression escape \\${e}`);
        case '0':
          out += '\\x00';
          break;
        default:
          out += `\\${e}`;
      }
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      else if (c === '[') {
        out += '\\[';
        continue;
      }
      out += c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      if (body[i + 1] === '^') {
        out += '^';
        i++;
      }
      // JavaScript allows "[]" (matches nothing) and "[^]" (anything); Python reads "]" first as a literal.
      if (body[i + 1] === ']') throw new UntranslatableError('an empty character class');
      continue;
    }
    if (c === '(' && body.startsWith('(?<', i) && !body.startsWith('(?<=', i) && !body.startsWith('(?<!', i)) {
      out += '(?P<';
      i += 2;
      continue;
    }
    if (c === '.') {
      out += dotAll ? '.' : `[^${LINE_TERMINATORS}]`;
      continue;
    }
    if (c === '$') {
      out += multiline ? `(?=[${LINE_TERMINATORS}]|\\Z)` : '\\Z';
      continue;
    }
    if (c === '^') {
      out += multiline ? `(?:(?<=[${LINE_TERMINATORS}])|\\A)` : '\\A';
      continue;
    }
    out += c;
  }
  const reFlags = [flags.includes('i') ? 're.I' : '', dotAll ? 're.S' : ''].filter(Boolean).join(' | ') || '0';
  return { pattern: out, reFlags, global: flags.includes('g') };
}

type Ctx = { params: string[]; locals: Set<string> };

const PY_RESERVED = new Set(['False', 'None', 'True', 'and', 'as', 'assert', 'async', 'await', 'break', 'class', 'continue', 'def', 'del', 'elif', 'else', 'except', 'finally', 'for', 'from', 'global', 'if', 'import', 'in', 'is', 'lambda', 'nonlocal', 'not', 'or', 'pass', 'raise', 'return', 'try', 'while', 'with', 'yield', 're', 'math',
  // Python builtins and module names the generated code calls: a JavaScript local must not shadow them.
  'float', 'int', 'str', 'len', 'list', 'dict', 'bool', 'set', 'tuple', 'abs', 'min', 'max', 'round', 'pow', 'sum', 'any', 'all', 'map', 'filter', 'range', 'type', 'object', 'id', 'print', 'open', 'iter', 'next', 'JsRegExp', 'JsMatch', 'ArithError']);

export function pyName(name: string): string {
  const n = name.replace(/\$/g, '_S');
  return PY_RESERVED.has(n) || /^(js_|_|MISSING|WS|JS_WS|truthy)/.test(n) ? `v_${n}` : n;
}

const MATH_FNS = new Set(['abs', 'min', 'max', 'floor', 'ceil', 'round', 'sqrt', 'pow', 'exp', 'log', 'sign']);

class Parser {
  private pos = 0;
  constructor(
    private readonly toks: Tok[],
    private readonly ctx: Ctx,
  ) {}

  private peek(o = 0): Tok | undefined {
    return this.toks[this.pos + o];
  }
  private isP(v: string, o = 0): boolean {
    const t = this.peek(o);
    return t !== undefined && t.t === 'p' && t.v === v;
  }
  private isId(v: string, o = 0): boolean {
    const t = this.peek(o);
    return t !== undefined && t.t === 'id' && t.v === v;
  }
  private expectP(v: string): void {
    if (!this.isP(v)) throw new UntranslatableError(`something other than '${v}' where it was expected`);
    this.pos++;
  }
  done(): boolean {
    return this.pos >= this.toks.length;
  }

  /** The function: its parameters, and its body as Python lines. */
  fn(): { params: string[]; body: string[] } {
    if (this.isP('(') && this.isId('function', 1)) {
      this.pos++;
      const r = this.fn();
      this.expectP(')');
      return r;
    }
    let params: string[];
    if (this.isId('function')) {
      this.pos++;
      if (this.peek()?.t === 'id') this.pos++;
      params = this.params();
      this.ctx.params = params;
      return { params, body: this.block() };
    }
    if (this.isId('async')) throw new UntranslatableError('an async function');
    if (this.peek()?.t === 'id') {
      params = [(this.toks[this.pos++] as { v: string }).v];
    } else {
      params = this.params();
    }
    this.ctx.params = params;
    this.expectP('=>');
    if (this.isP('{')) return { params, body: this.block() };
    return { params, body: [`return ${this.expr()}`] };
  }

  private params(): string[] {
    this.expectP('(');
    const out: string[] = [];
    while (!this.isP(')')) {
      const t = this.peek();
      if (t?.t !== 'id') throw new UntranslatableError('parameters other than plain names');
      out.push(t.v);
      this.pos++;
      if (this.isP(',')) this.pos++;
      else if (!this.isP(')')) throw new UntranslatableError('parameters other than plain names');
    }
    this.pos++;
    if (out.length > 2) throw new UntranslatableError('more than two parameters');
    return out;
  }

  private block(): string[] {
    this.expectP('{');
    const lines: string[] = [];
    while (!this.isP('}')) {
      if (this.done()) throw new UntranslatableError('an unclosed block');
      lines.push(...this.statement());
    }
    this.pos++;
    return lines;
  }

  private statement(): string[] {
    if (this.isP(';')) {
      this.pos++;
      return [];
    }
    if (this.isP('{')) return this.block();
    const t = this.peek();
    if (t?.t === 'id' && (t.v === 'const' || t.v === 'let' || t.v === 'var')) {
      this.pos++;
      const lines: string[] = [];
      for (;;) {
        const name = this.peek();
        if (name?.t !== 'id') throw new UntranslatableError('destructuring');
        this.pos++;
        this.ctx.locals.add(name.v);
        if (this.isP('=')) {
          this.pos++;
          lines.push(`${pyName(name.v)} = ${this.expr()}`);
        } else {
          lines.push(`${pyName(name.v)} = MISSING`);
        }
        if (this.isP(',')) {
          this.pos++;
          continue;
        }
        break;
      }
      this.semi();
      return lines;
    }
    if (t?.t === 'id' && t.v === 'return') {
      this.pos++;
      if (this.isP(';') || this.isP('}')) {
        this.semi();
        return ['return MISSING'];
      }
      const e = this.expr();
      this.semi();
      return [`return ${e}`];
    }
    if (t?.t === 'id' && t.v === 'if') {
      this.pos++;
      this.expectP('(');
      const cond = this.expr();
      this.expectP(')');
      const then = this.statement();
      const lines = [`if truthy(${cond}):`, ...indentBody(then)];
      if (this.isId('else')) {
        this.pos++;
        const other = this.statement();
        if (other.length > 0 && other[0]!.startsWith('if ')) {
          lines.push(`el${other[0]}`, ...other.slice(1));
        } else {
          lines.push('else:', ...indentBody(other));
        }
      }
      return lines;
    }
    // An assignment to an existing local: x = expr;
    if (t?.t === 'id' && this.isP('=', 1) && this.ctx.locals.has(t.v)) {
      this.pos += 2;
      const e = this.expr();
      this.semi();
      return [`${pyName(t.v)} = ${e}`];
    }
    throw new UntranslatableError(`the statement starting with '${t && 'v' in t ? t.v : '…'}'`);
  }

  private semi(): void {
    if (this.isP(';')) this.pos++;
  }

  expr(): string {
    const cond = this.binary(0);
    if (this.isP('?')) {
      this.pos++;
      const a = this.expr();
      this.expectP(':');
      const b = this.expr();
      return `(${a} if truthy(${cond}) else ${b})`;
    }
    return cond;
  }

  private static readonly LEVELS: string[][] = [['||'], ['&&'], ['===', '!==', '==', '!='], ['<', '>', '<=', '>='], ['+', '-'], ['*', '/', '%']];

  private binary(level: number): string {
    if (level >= Parser.LEVELS.length) return this.unary();
    let left = this.binary(level + 1);
    for (;;) {
      const t = this.peek();
      if (t?.t !== 'p' || !Parser.LEVELS[level]!.includes(t.v)) return left;
      this.pos++;
      const right = this.binary(level + 1);
      left = combine(t.v, left, right);
    }
  }

  private unary(): string {
    if (this.isP('!')) {
      this.pos++;
      return `(not truthy(${this.unary()}))`;
    }
    if (this.isP('-')) {
      this.pos++;
      return `(-js_to_number(${this.unary()}))`;
    }
    if (this.isP('+')) {
      this.pos++;
      return `js_to_number(${this.unary()})`;
    }
    if (this.isId('typeof') || this.isId('new') || this.isId('delete') || this.isId('void') || this.isId('await')) {
      throw new UntranslatableError(`the operator ${(this.peek() as { v: string }).v}`);
    }
    return this.postfix();
  }

  private args(): string[] {
    this.expectP('(');
    const out: string[] = [];
    while (!this.isP(')')) {
      out.push(this.expr());
      if (this.isP(',')) this.pos++;
      else if (!this.isP(')')) throw new UntranslatableError('a malformed argument list');
    }
    this.pos++;
    return out;
  }

  private postfix(): string {
    const t = this.peek();
    // Globals first: Math.x(...), Number(...), parseFloat(...), parseInt(...), String(...)
    if (t?.t === 'id' && t.v === 'Math' && this.isP('.', 1)) {
      const name = this.peek(2);
      if (name?.t !== 'id' || !MATH_FNS.has(name.v)) throw new UntranslatableError(`Math.${name && 'v' in name ? name.v : '?'}`);
      this.pos += 3;
      return this.tail(`js_math(${[pyString(name.v), ...this.args()].join(', ')})`);
    }
    const globals: Record<string, (a: string[]) => string> = {
      Number: (a) => `js_to_number(${a[0] ?? '0'})`,
      parseFloat: (a) => `js_parse_float(${a[0] ?? 'MISSING'})`,
      parseInt: (a) => `js_parse_int(${a.slice(0, 2).join(', ') || 'MISSING'})`,
      String: (a) => `js_to_string(${a[0] ?? '""'})`,
      Boolean: (a) => `truthy(${a[0] ?? 'MISSING'})`,
    };
    if (t?.t === 'id' && t.v in globals && !this.ctx.params.includes(t.v) && !this.ctx.locals.has(t.v) && this.isP('(', 1)) {
      this.pos++;
      return this.tail(globals[t.v]!(this.args()));
    }
    return this.tail(this.primary());
  }

  private tail(base: string): string {
    let e = base;
    for (;;) {
      if (this.isP('.')) {
        const name = this.peek(1);
        if (name?.t !== 'id') throw new UntranslatableError('a malformed member access');
        this.pos += 2;
        if (this.isP('(')) e = `js_call(${[e, pyString(name.v), ...this.args()].join(', ')})`;
        else e = `js_get(${e}, ${pyString(name.v)})`;
        continue;
      }
      if (this.isP('[')) {
        this.pos++;
        const k = this.expr();
        this.expectP(']');
        e = `js_get(${e}, ${k})`;
        continue;
      }
      if (this.isP('(')) throw new UntranslatableError('calling a function value');
      return e;
    }
  }

  private primary(): string {
    const t = this.peek();
    if (!t) throw new UntranslatableError('an expression that ends early');
    this.pos++;
    switch (t.t) {
      case 'num':
        return Number.isInteger(t.v) && Math.abs(t.v) < 2 ** 53 ? String(t.v) : String(t.v);
      case 'str':
        return pyString(t.v);
      case 're': {
        const r = translateRegex(t.body, t.flags);
        return `JsRegExp(${pyString(r.pattern)}, ${r.reFlags}, ${r.global ? 'True' : 'False'})`;
      }
      case 'id': {
        const v = t.v;
        if (v === 'true') return 'True';
        if (v === 'false') return 'False';
        if (v === 'null') return 'None';
        if (v === 'undefined') return 'MISSING';
        if (v === 'NaN') return 'float("nan")';
        if (v === 'Infinity') return 'float("inf")';
        if (this.ctx.params.includes(v) || this.ctx.locals.has(v)) return pyName(v);
        throw new UntranslatableError(`the name '${v}'`);
      }
      case 'p':
        if (t.v === '(') {
          const e = this.expr();
          this.expectP(')');
          return e;
        }
        if (t.v === '[') {
          const items: string[] = [];
          while (!this.isP(']')) {
            items.push(this.expr());
            if (this.isP(',')) this.pos++;
            else if (!this.isP(']')) throw new UntranslatableError('a malformed array');
          }
          this.pos++;
          return `[${items.join(', ')}]`;
        }
        throw new UntranslatableError(t.v === '{' ? 'an object literal' : `'${t.v}' where a value was expected`);
    }
  }
}

function combine(op: string, a: string, b: string): string {
  switch (op) {
    // Lazily, and without repeating the left side (a chain of && would otherwise double in size per link).
    case '||':
      return `js_or(${a}, lambda: ${b})`;
    case '&&':
      return `js_and(${a}, lambda: ${b})`;
    case '===':
      return `js_strict_eq(${a}, ${b})`;
    case '!==':
      return `(not js_strict_eq(${a}, ${b}))`;
    case '==':
      return `js_loose_eq(${a}, ${b})`;
    case '!=':
      return `(not js_loose_eq(${a}, ${b}))`;
    case '+':
      return `js_add(${a}, ${b})`;
    case '-':
    case '*':
    case '/':
    case '%':
      return `js_arith(${pyString(op)}, ${a}, ${b})`;
    default:
      return `js_compare(${pyString(op)}, ${a}, ${b})`;
  }
}

function indentBody(lines: string[]): string[] {
  return lines.length === 0 ? ['    pass'] : lines.map((l) => `    ${l}`);
}

export interface TranslatedReward {
  /** The Python function `def <name>(completion, problem):` with JavaScript's meaning. */
  python: string;
}

/** Python for one JavaScript reward; throws UntranslatableError naming the first construct it cannot carry over. */
export function translateReward(source: string, pyFnName: string): TranslatedReward {
  const toks = tokenize(source.trim().replace(/;\s*$/, ''));
  const ctx: Ctx = { params: [], locals: new Set() };
  const p = new Parser(toks, ctx);
  const { params, body } = p.fn();
  if (!p.done()) throw new UntranslatableError('text after the function');
  const names = [params[0] ?? '_completion', params[1] ?? '_problem'].map((n, i) => (params[i] ? pyName(n) : n));
  const lines = [`def ${pyFnName}(${names.join(', ')}):`, ...indentBody(body)];
  // A body whose last statement is not a return falls off the end: JavaScript's undefined.
  if (!/^ {4}return /.test(lines[lines.length - 1]!)) lines.push('    return MISSING');
  return { python: lines.join('\n') };
}
