/**
 * What the trainer is handed for an experiment arm: a prompt renderer that samples prompt
 * variants (plain / +plan / +knowledge) and adds a static partial solution where a problem
 * carries one, and problem sources over fixed lists (the hard set, its augmentation).
 */
import { Rng } from '../rng';
import type { Problem } from '../types';
import type { ProblemSource, PromptRenderer } from '../grpo/trainer';
import { applyChatTemplate } from '../probes/completer';
import { renderPrompt } from '../tasks/prompt';
import { withPartialPrefix } from '../tasks/partial-solutions';
import { ExperimentError, type PromptMix } from './recipes';

export type Variant = 'plain' | 'plan' | 'knowledge';

/** Draws a variant per call with probabilities proportional to the mix's weights. */
export function variantPicker(mix: PromptMix, seed: number): () => Variant {
  const entries: [Variant, number][] = [
    ['plain', mix.plain],
    ['plan', mix.plan],
    ['knowledge', mix.knowledge],
  ];
  const total = entries.reduce((a, [, w]) => a + w, 0);
  if (entries.some(([, w]) => !(w >= 0)) || !(total > 0)) throw new ExperimentError(`A prompt mix needs non-negative weights with a positive sum, got ${JSON.stringify(mix)}.`);
  const rng = new Rng(seed);
  return () => {
    let u = rng.next() * total;
    for (const [v, w] of entries) {
      if (u < w) return v;
      u -= w;
    }
    return 'plain';
  };
}

/**
 * The renderer the trainer calls once per problem per rollout. The draw order is the trainer's
 * call order, which is fixed by its seed, so the variants are reproducible. A problem without a
 * plan (or knowledge) renders plain whatever is drawn.
 */
export function mixRenderer(mix: PromptMix, seed: number, formatPrompt?: (userText: string) => string): PromptRenderer {
  const pick = variantPicker(mix, seed);
  const base: PromptRenderer = (p, o) => {
    const v = pick();
    const text = renderPrompt(p, { plan: v === 'plan', knowledge: v === 'knowledge', ...(o.scaffoldLevel ? { scaffoldLevel: o.scaffoldLevel } : {}) });
    return formatPrompt ? applyChatTemplate(text, formatPrompt) : text;
  };
  return withPartialPrefix(base);
}

/** Samples a fixed list without replacement inside a pass, reshuffling between passes. */
export function listSource(problems: readonly Problem[]): ProblemSource {
  if (problems.length === 0) throw new ExperimentError('The problem list for this arm is empty.');
  let pool: Problem[] = [];
  return {
    sample(rng, n) {
      const out: Problem[] = [];
      while (out.length < n) {
        if (pool.length === 0) pool = rng.shuffle([...problems]);
        out.push(pool.pop()!);
      }
      return out;
    },
  };
}

/** Half of each batch from `a`, the rest from `b` (a gets the odd one). */
export function halfHalf(a: ProblemSource, b: ProblemSource): ProblemSource {
  return {
    sample(rng, n) {
      const k = Math.ceil(n / 2);
      return [...a.sample(rng, k), ...b.sample(rng, n - k)];
    },
  };
}
