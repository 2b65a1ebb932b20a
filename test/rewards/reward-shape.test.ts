/**
 * Why the reward-shape experiment's two arms can train identically: when every right answer is
 * well formatted and no answer abstains, the hierarchical reward is 3·correctness − 1, and GRPO's
 * group normalisation removes any positive affine map of the rewards (up to its 1e-4 in the
 * denominator). Without normalisation (Dr. GRPO's scale 'none') the advantages are 3× larger.
 */
import { describe, expect, it } from 'vitest';
import { computeAdvantages } from '../../src/core/grpo/advantages';
import { BUILTIN_REWARDS } from '../../src/core/rewards/builtin';
import type { Problem } from '../../src/core/types';

const P: Problem = { id: 't', task: 'toy-world', question: 'q', answer: '13' };
const completions = [' </think> <answer>13</answer>', ' </think> <answer>12</answer>', ' </think> <answer>13</answer>', ' </think> <answer>9</answer>'];

describe('hierarchical vs correctness under GRPO', () => {
  const corr = completions.map((c) => BUILTIN_REWARDS.correctness!(c, P)!);
  const hier = completions.map((c) => BUILTIN_REWARDS.hierarchical!(c, P)!);
  it('hierarchical is 3·correctness − 1 on well-formatted, non-abstaining completions', () => {
    expect(hier).toEqual(corr.map((r) => 3 * r - 1));
  });
  it('group-normalised advantages agree; unnormalised ones differ by the factor 3', () => {
    const a = computeAdvantages(corr, { numGenerations: 4, scale: 'group', estimator: 'grpo' }).advantages;
    const b = computeAdvantages(hier, { numGenerations: 4, scale: 'group', estimator: 'grpo' }).advantages;
    b.forEach((x, i) => expect(x).toBeCloseTo(a[i]!, 3));
    const c = computeAdvantages(corr, { numGenerations: 4, scale: 'none', estimator: 'grpo' }).advantages;
    const d = computeAdvantages(hier, { numGenerations: 4, scale: 'none', estimator: 'grpo' }).advantages;
    d.forEach((x, i) => expect(x).toBeCloseTo(3 * c[i]!, 10));
  });
  it('an abstention breaks the affine map: 0 sits between wrong and right', () => {
    const withIdk = [...completions.slice(0, 3), " </think> <answer>I don't know</answer>"];
    const h = withIdk.map((c) => BUILTIN_REWARDS.hierarchical!(c, P)!);
    expect(h).toEqual([2, -1, 2, 0]);
    const a = computeAdvantages(withIdk.map((c) => BUILTIN_REWARDS.correctness!(c, P)!), { numGenerations: 4, scale: 'group', estimator: 'grpo' }).advantages;
    const b = computeAdvantages(h, { numGenerations: 4, scale: 'group', estimator: 'grpo' }).advantages;
    // Correctness ranks the abstention with the wrong answer; hierarchical above it.
    expect(a[3]).toBeCloseTo(a[1]!, 10);
    expect(b[3]!).toBeGreaterThan(b[1]! + 0.1);
  });
});
