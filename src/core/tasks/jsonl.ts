/**
 * Import a JSONL data set: one problem per line. Field names follow the common data sets:
 * question | prompt | problem for the question; answer | solution for the answer. A GSM8K
 * answer ("…reasoning…\n#### 42") splits into solution and answer "42".
 */
import type { Problem, Subproblem } from '../types';
import { hashHex } from './hash';

export class JsonlError extends Error {
  override name = 'JsonlError';
  constructor(
    message: string,
    /** 1-based line number in the file, or null for whole-file problems. */
    readonly line: number | null,
  ) {
    super(line === null ? message : `Line ${line}: ${message}`);
  }
}

/** Calculator annotations such as <<48/2=24>> carry no reasoning a model needs to read. */
function stripCalculator(text: string): string {
  return text.replace(/<<[^<>]*>>/g, '');
}

/**
 * Split a GSM8K-style answer; null when it has no "####" line. The final answer loses its
 * thousands separators ("#### 2,125" → "2125"), as GSM8K's own extract_answer does.
 */
export function splitGsm8k(text: string): { solution: string; answer: string } | null {
  const i = text.lastIndexOf('####');
  if (i < 0) return null;
  const answer = text.slice(i + 4).trim().replaceAll(',', '');
  if (answer === '') return null;
  return { solution: stripCalculator(text.slice(0, i)).trim(), answer };
}

/** The content of the last \boxed{...} (balanced braces), as MATH-style solutions give it. */
export function lastBoxed(text: string): string | null {
  const i = text.lastIndexOf('\\boxed{');
  if (i < 0) return null;
  let depth = 0;
  for (let j = i + 6; j < text.length; j++) {
    if (text[j] === '{') depth++;
    else if (text[j] === '}') {
      depth--;
      if (depth === 0) return text.slice(i + 7, j).trim();
    }
  }
  return null;
}

/** A question longer than this cannot fit any context the engine runs (and tokenizing it would stall the page). */
export const MAX_QUESTION_CHARS = 100_000;

function str(obj: Record<string, unknown>, keys: string[], line: number): { key: string; value: string } | null {
  for (const k of keys) {
    const v = obj[k];
    if (v === undefined || v === null) continue;
    if (typeof v === 'number') return { key: k, value: String(v) };
    if (typeof v !== 'string') throw new JsonlError(`field "${k}" must be a string, got ${Array.isArray(v) ? 'an array' : typeof v}.`, line);
    return { key: k, value: v };
  }
  return null;
}

function stringList(v: unknown, field: string, line: number): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v.trim() === '' ? undefined : [v.trim()];
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v.map((x) => x.trim());
  throw new JsonlError(`field "${field}" must be a string or a list of strings.`, line);
}

function subproblemList(v: unknown, line: number): Subproblem[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw new JsonlError('field "subproblems" must be a list of {question, answer}.', line);
  return v.map((s, i) => {
    if (typeof s !== 'object' || s === null) throw new JsonlError(`subproblems[${i}] must be an object with question and answer.`, line);
    const o = s as Record<string, unknown>;
    const q = o.question ?? o.prompt ?? o.problem;
    const a = o.answer;
    if (typeof q !== 'string' || (typeof a !== 'string' && typeof a !== 'number')) {
      throw new JsonlError(`subproblems[${i}] needs a string "question" and an "answer".`, line);
    }
    return { question: q, answer: String(a).trim() };
  });
}

function parseLine(obj: unknown, line: number, name: string): Problem {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    throw new JsonlError('each line must be a JSON object such as {"question": "...", "answer": "..."}.', line);
  }
  const o = obj as Record<string, unknown>;
  const q = str(o, ['question', 'prompt', 'problem'], line);
  if (!q || q.value.trim() === '') throw new JsonlError('no question: add a "question", "prompt" or "problem" field.', line);
  if (q.value.length > MAX_QUESTION_CHARS) {
    throw new JsonlError(
      `field "${q.key}" is ${q.value.length.toLocaleString('en-US')} characters; questions are limited to ${MAX_QUESTION_CHARS.toLocaleString('en-US')} (far beyond any model's context here). Shorten it or leave the line out.`,
      line,
    );
  }
  const ans = str(o, ['answer'], line);
  const sol = str(o, ['solution'], line);
  let answer: string | undefined;
  let solution: string | undefined;
  if (ans) {
    const g = splitGsm8k(ans.value);
    if (!g && ans.value.includes('####')) throw new JsonlError('no answer: the final "####" line of field "answer" is empty; put the final answer after "####".', line);
    if (g) {
      answer = g.answer;
      solution = g.solution || undefined;
    } else {
      answer = ans.value.trim();
    }
  }
  if (sol) {
    const g = splitGsm8k(sol.value);
    if (g) {
      solution = g.solution || solution;
      answer ??= g.answer;
    } else {
      solution = sol.value.trim();
      answer ??= lastBoxed(sol.value) ?? undefined;
    }
  }
  if (answer === undefined || answer === '') {
    throw new JsonlError('no answer: add an "answer" field, a "#### N" final line, or a \\boxed{} answer in "solution".', line);
  }
  let difficulty: number | undefined;
  if (o.difficulty !== undefined && o.difficulty !== null) {
    difficulty = Number(o.difficulty);
    if (!Number.isFinite(difficulty)) throw new JsonlError('field "difficulty" must be a number.', line);
  }
  const question = q.value.trim();
  const id = typeof o.id === 'string' || typeof o.id === 'number' ? String(o.id) : `${name}-${hashHex(question)}`;
  const p: Problem = { id, task: `jsonl:${name}`, question, answer };
  if (solution) p.solution = solution;
  const plan = stringList(o.plan, 'plan', line);
  if (plan) p.plan = plan;
  const knowledge = stringList(o.knowledge, 'knowledge', line);
  if (knowledge) p.knowledge = knowledge;
  const subproblems = subproblemList(o.subproblems, line);
  if (subproblems) p.subproblems = subproblems;
  if (difficulty !== undefined) p.difficulty = difficulty;
  return p;
}

/** Parse a whole JSONL text; blank lines are skipped, every other line must be a problem. */
export function parseJsonl(text: string, name = 'data'): Problem[] {
  const out: Problem[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const lineNo = i + 1;
    const t = raw.trim();
    if (t === '') return;
    let obj: unknown;
    try {
      obj = JSON.parse(t);
    } catch (e) {
      throw new JsonlError(`not valid JSON (${(e as Error).message}).`, lineNo);
    }
    out.push(parseLine(obj, lineNo, name));
  });
  if (out.length === 0) throw new JsonlError(`the data set '${name}' has no problems (the file is empty).`, null);
  return out;
}
