/**
 * The exact text the model sees and the text a perfect completion is. This is the embedded
 * model's language (its tokenizer is trained on these strings), so it is short and regular:
 *
 *   <question>
 *   Consider the following plan: 1. <step> 2. <step>        (optional)
 *   The following facts may help: <fact> <fact>             (optional)
 *   <think>[ <first i of 4 solution chunks>]
 *
 * and the completion is " <rest of solution> </think> <answer>N</answer>".
 * Invariant: renderPrompt(p, {scaffoldLevel: i}) + renderTarget(p, i) is the same for every i.
 */
import type { Problem } from '../types';

export const THINK_OPEN = '<think>';
export const THINK_CLOSE = '</think>';
export const ANSWER_OPEN = '<answer>';
export const ANSWER_CLOSE = '</answer>';
export const PLAN_PREFIX = 'Consider the following plan:';
export const KNOWLEDGE_PREFIX = 'The following facts may help:';
export const SCAFFOLD_CHUNKS = 4;

export interface PromptOptions {
  plan?: boolean;
  knowledge?: boolean;
  /** 0..4: how many of the 4 solution chunks to put after <think> (the paper's partial-solution scaffolding). */
  scaffoldLevel?: number;
}

export class PromptError extends Error {
  override name = 'PromptError';
}

/**
 * Cut a solution into `parts` chunks of roughly equal word count, on sentence boundaries when
 * there are enough sentences, else on word boundaries. Always returns `parts` strings (some may
 * be empty when the solution has fewer words than parts); joined with ' ' they give the solution
 * back with its whitespace normalised.
 */
export function splitSolution(solution: string, parts = SCAFFOLD_CHUNKS): string[] {
  if (!Number.isInteger(parts) || parts < 1) throw new PromptError(`splitSolution: parts must be a positive integer, got ${parts}.`);
  const words = solution.trim().split(/\s+/).filter((w) => w.length > 0);
  // Sentence ends: a word ending in . ! or ? (the toy world's numbers never end a word with '.').
  const sentences: string[][] = [];
  let cur: string[] = [];
  for (const w of words) {
    cur.push(w);
    if (/[.!?]$/.test(w)) {
      sentences.push(cur);
      cur = [];
    }
  }
  if (cur.length > 0) sentences.push(cur);
  const units = sentences.length >= parts ? sentences : words.map((w) => [w]);
  // Cut k goes at the unit boundary nearest k/parts of the words (earlier on ties), keeping
  // cuts strictly increasing while there are units left for the later chunks.
  const cum = [0];
  for (const u of units) cum.push(cum[cum.length - 1]! + u.length);
  const total = words.length;
  const cuts = [0];
  for (let k = 1; k < parts; k++) {
    const ideal = (k * total) / parts;
    const lo = Math.min(cuts[k - 1]! + 1, units.length);
    const hi = Math.max(lo, units.length - (parts - k));
    let best = lo;
    for (let b = lo; b <= Math.min(hi, units.length); b++) {
      if (Math.abs(cum[b]! - ideal) < Math.abs(cum[best]! - ideal)) best = b;
    }
    cuts.push(best);
  }
  cuts.push(units.length);
  const chunks: string[][] = [];
  for (let k = 0; k < parts; k++) chunks.push(units.slice(cuts[k]!, Math.max(cuts[k]!, cuts[k + 1]!)).flat());
  return chunks.map((c) => c.join(' '));
}

function requireSolution(problem: Problem): string {
  if (problem.solution === undefined || problem.solution.trim() === '') {
    throw new PromptError(`Problem ${problem.id} has no reference solution, so it cannot be scaffolded or used as a pretraining target.`);
  }
  return problem.solution;
}

function checkLevel(level: number): void {
  if (!Number.isInteger(level) || level < 0 || level > SCAFFOLD_CHUNKS) {
    throw new PromptError(`scaffoldLevel must be an integer from 0 to ${SCAFFOLD_CHUNKS}, got ${level}.`);
  }
}

function joinNonEmpty(parts: string[]): string {
  return parts.filter((p) => p.length > 0).join(' ');
}

export function renderPlan(plan: readonly string[]): string {
  return `${PLAN_PREFIX} ${plan.map((s, i) => `${i + 1}. ${s}`).join(' ')}`;
}

export function renderKnowledge(knowledge: readonly string[]): string {
  return `${KNOWLEDGE_PREFIX} ${knowledge.join(' ')}`;
}

export function renderPrompt(problem: Problem, opts: PromptOptions = {}): string {
  const lines = [problem.question.trim()];
  if (opts.plan && problem.plan && problem.plan.length > 0) lines.push(renderPlan(problem.plan));
  if (opts.knowledge && problem.knowledge && problem.knowledge.length > 0) lines.push(renderKnowledge(problem.knowledge));
  const level = opts.scaffoldLevel ?? 0;
  checkLevel(level);
  let think = THINK_OPEN;
  if (level > 0) {
    const given = joinNonEmpty(splitSolution(requireSolution(problem)).slice(0, level));
    if (given.length > 0) think += ` ${given}`;
  }
  lines.push(think);
  return lines.join('\n');
}

/** The closing part of a completion: " </think> <answer>N</answer>". */
export function renderAnswerTail(answer: string): string {
  return ` ${THINK_CLOSE} ${ANSWER_OPEN}${answer.trim()}${ANSWER_CLOSE}`;
}

/**
 * A perfect completion for the prompt at `scaffoldLevel`: the solution chunks not yet given,
 * then the closing tags and the answer. Without a solution (a bare JSONL import) it is just the tail.
 */
export function renderTarget(problem: Problem, scaffoldLevel = 0): string {
  checkLevel(scaffoldLevel);
  if (problem.solution === undefined || problem.solution.trim() === '') {
    if (scaffoldLevel > 0) requireSolution(problem);
    return renderAnswerTail(problem.answer);
  }
  const rest = joinNonEmpty(splitSolution(problem.solution).slice(scaffoldLevel));
  return `${rest.length > 0 ? ` ${rest}` : ''}${renderAnswerTail(problem.answer)}`;
}
