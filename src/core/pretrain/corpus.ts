/**
 * Pretraining traces for the embedded model, drawn from the toy world's training partition (the
 * probe set is never seen). Two knobs make the probes meaningful at toy scale:
 * - rare facts appear in few traces, so the model half-knows them and a supplied fact can help;
 * - some prompts carry the plan or the facts, so the model has seen that layout before.
 * A third plants something for RL to fix: the traces come from a solver with the additive
 * misconception, who unpacks small containers into items by adding most of the time, so the base
 * model samples both and greedy takes the wrong one (see `slippedTrace`).
 */
import { Rng } from '../rng';
import type { Problem } from '../types';
import { generateToyProblem, slippedTrace } from '../tasks/toy-world';
import { factFrequency } from '../tasks/toy-kb';
import { renderPrompt, renderTarget } from '../tasks/prompt';

export interface CorpusOptions {
  /** Probability that a problem using a rare fact is kept (common facts: always). */
  rareKeep: number;
  /** Probabilities of appending the plan / the facts to the prompt. */
  planRate: number;
  knowledgeRate: number;
  /** Weights of difficulties 1..4. */
  difficultyWeights: [number, number, number, number];
  /** Probability that each unpack into items is written as an addition (the planted misconception). */
  additiveSlipRate: number;
}

export const DEFAULT_CORPUS: CorpusOptions = {
  rareKeep: 0.12,
  planRate: 0.15,
  knowledgeRate: 0.15,
  difficultyWeights: [0.35, 0.3, 0.2, 0.15],
  additiveSlipRate: 0.6,
};

export interface Example {
  prompt: string;
  target: string;
  problem: Problem;
}

function pickDifficulty(rng: Rng, w: readonly number[]): number {
  const total = w.reduce((a, b) => a + b, 0);
  let u = rng.next() * total;
  for (let i = 0; i < w.length; i++) {
    u -= w[i]!;
    if (u < 0) return i + 1;
  }
  return w.length;
}

export function usesRareFact(problem: Problem): boolean {
  const facts = (problem.meta?.facts as string[] | undefined) ?? [];
  return facts.some((f) => factFrequency(f) === 'rare');
}

export function sampleExample(rng: Rng, opts: CorpusOptions = DEFAULT_CORPUS): Example {
  for (;;) {
    const problem = generateToyProblem(rng, { difficulty: pickDifficulty(rng, opts.difficultyWeights), split: 'train' });
    if (usesRareFact(problem) && rng.next() >= opts.rareKeep) continue;
    const prompt = renderPrompt(problem, { plan: rng.next() < opts.planRate, knowledge: rng.next() < opts.knowledgeRate });
    let written = problem;
    if (opts.additiveSlipRate > 0) {
      const { solution, answer } = slippedTrace(problem, opts.additiveSlipRate, rng);
      written = { ...problem, solution, answer };
    }
    return { prompt, target: renderTarget(written), problem };
  }
}

/** Text for training the tokenizer: prompts with and without plan and facts, and targets. */
export function tokenizerCorpus(seed: number, n: number): string[] {
  const rng = new Rng(seed);
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const problem = generateToyProblem(rng, { split: 'train' });
    out.push(renderPrompt(problem, { plan: true, knowledge: true }) + renderTarget(problem));
  }
  return out;
}
