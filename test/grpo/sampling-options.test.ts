import { describe, expect, it } from 'vitest';
import { sampleToken } from '../../src/core/model/sampling';
import { Rng } from '../../src/core/rng';

const logSoftmax = (xs: number[]) => {
  const m = Math.max(...xs);
  const z = Math.log(xs.reduce((a, x) => a + Math.exp(x - m), 0));
  return xs.map((x) => x - m - z);
};

describe('sampling options for TRL parity', () => {
  it('min_p never draws a token below min_p × the likeliest probability, and leaves the rest drawable', () => {
    // probabilities ∝ [8, 4, 2, 1]: with min_p = 0.3 only tokens 0 and 1 (ratios 1, 0.5) survive; 2 (0.25) and 3 do not.
    const logits = Float32Array.from([8, 4, 2, 1].map(Math.log));
    const rng = new Rng(1);
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 3000; i++) counts[sampleToken(logits, { temperature: 1, minP: 0.3 }, rng).token]!++;
    expect(counts[2]).toBe(0);
    expect(counts[3]).toBe(0);
    // Renormalised over the survivors: 2/3 and 1/3.
    expect(counts[0]! / 3000).toBeCloseTo(2 / 3, 1);
    expect(counts[1]).toBeGreaterThan(0);
  });

  it('repetition_penalty divides positive and multiplies negative logits of seen tokens, as HF does', () => {
    const logits = Float32Array.from([2, 2, -1, 0.5]);
    const penalised = [2 / 2, 2, -1 * 2, 0.5]; // tokens 0 and 2 were seen
    const expected = logSoftmax(penalised);
    const rng = new Rng(3);
    const seen = new Set<number>();
    for (let i = 0; i < 400; i++) {
      const { token, logprob } = sampleToken(logits, { temperature: 1, repetitionPenalty: 2 }, rng, [0, 2, 0]);
      expect(logprob).toBeCloseTo(expected[token]!, 6);
      seen.add(token);
    }
    expect(seen.size).toBe(4);
    // Off (1) leaves the logits alone.
    const { token, logprob } = sampleToken(logits, { temperature: 1, repetitionPenalty: 1 }, new Rng(3), [0, 2]);
    expect(logprob).toBeCloseTo(logSoftmax([...logits])[token]!, 6);
  });
});
