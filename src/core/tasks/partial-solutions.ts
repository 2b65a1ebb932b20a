/**
 * SPARKLE's Stage-2 data: a static set in which each hard problem appears as itself plus 4
 * progressively longer prefixes of its reference solution, placed after the think-open tag.
 * The solution is cut into 4 chunks on paragraph boundaries, or on sentence boundaries when it
 * has fewer than 4 paragraphs; level i (1..4) gives the first i chunks. This is the offline
 * counterpart of the trainer's online `scaffold_hard_problems`, which scaffolds only the groups
 * that failed, at the moment they fail.
 */
import type { Problem } from '../types';
import { THINK_OPEN } from './prompt';

export const PARTIAL_LEVELS = 4;

export class PartialSolutionError extends Error {
  override name = 'PartialSolutionError';
}

/** Where a text splits into units: paragraphs (blank lines) when there are enough, else sentences. */
export function solutionUnits(solution: string, parts = PARTIAL_LEVELS): { units: string[]; by: 'paragraph' | 'sentence' } {
  const paragraphs = solution
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
  if (paragraphs.length >= parts) return { units: paragraphs, by: 'paragraph' };
  // A sentence ends at . ! or ? followed by whitespace (a decimal point is followed by a digit).
  const sentences = solution
    .trim()
    .split(/(?<=[.!?])\s+/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  return { units: sentences, by: 'sentence' };
}

/**
 * The solution in `parts` chunks of consecutive units, as equal in unit count as possible (the
 * earlier chunks take the remainder). Refused when there are fewer units than chunks: a prefix
 * would repeat and the levels would not be progressively longer.
 */
export function paperChunks(solution: string, parts = PARTIAL_LEVELS): string[] {
  const { units, by } = solutionUnits(solution, parts);
  if (units.length < parts) {
    throw new PartialSolutionError(`The solution has ${units.length} ${by}s; ${parts} are needed to cut it into ${parts} chunks. Use harder problems (more steps) for the augmentation.`);
  }
  const sep = by === 'paragraph' ? '\n\n' : ' ';
  const base = Math.floor(units.length / parts);
  const extra = units.length % parts;
  const chunks: string[] = [];
  let at = 0;
  for (let k = 0; k < parts; k++) {
    const size = base + (k < extra ? 1 : 0);
    chunks.push(units.slice(at, at + size).join(sep));
    at += size;
  }
  return chunks;
}

/** Meta key holding the solution prefix an augmented problem's prompt carries after <think>. */
export const PREFIX_META = 'partialSolutionPrefix';

/** The prefix an augmented problem carries, or undefined for an ordinary problem. */
export function partialPrefix(problem: Problem): string | undefined {
  const v = (problem.meta as Record<string, unknown> | undefined)?.[PREFIX_META];
  return typeof v === 'string' ? v : undefined;
}

/**
 * The augmented set: for each problem, the original, then levels 1..4 with the first i chunks of
 * its solution. Ids are `<id>` and `<id>#partial<i>`; the answer is unchanged.
 */
export function augmentWithPartialSolutions(problems: readonly Problem[]): Problem[] {
  const out: Problem[] = [];
  for (const p of problems) {
    if (!p.solution || p.solution.trim() === '') throw new PartialSolutionError(`Problem ${p.id} has no reference solution to cut into partial solutions.`);
    const chunks = paperChunks(p.solution);
    out.push(p);
    for (let level = 1; level <= PARTIAL_LEVELS; level++) {
      const prefix = chunks.slice(0, level).join(solutionUnits(p.solution).by === 'paragraph' ? '\n\n' : ' ');
      out.push({ ...p, id: `${p.id}#partial${level}`, meta: { ...(p.meta ?? {}), [PREFIX_META]: prefix, partialLevel: level } });
    }
  }
  return out;
}

/**
 * Wraps a prompt renderer so that an augmented problem's prefix follows the think-open tag the
 * rendered prompt ends with (plain or chat-templated alike).
 */
export function withPartialPrefix<O>(render: (p: Problem, o: O) => string): (p: Problem, o: O) => string {
  return (p, o) => {
    const text = render(p, o);
    const prefix = partialPrefix(p);
    if (prefix === undefined) return text;
    if (!text.endsWith(THINK_OPEN)) throw new PartialSolutionError(`The prompt of ${p.id} does not end with ${THINK_OPEN}, so a partial solution cannot follow it.`);
    return `${text} ${prefix}`;
  };
}
