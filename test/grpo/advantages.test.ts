import { describe, expect, it } from 'vitest';
import { computeAdvantages as compute, sampleStd } from '../../src/core/grpo/advantages';
import type { ScaleRewards } from '../../src/core/grpo/config';

const computeAdvantages = (r: number[], G: number, scale: ScaleRewards) => compute(r, { numGenerations: G, scale, estimator: 'grpo' });

// Three groups of G = 4: mixed, all equal (zero std), mixed.
const rewards = [1, 0, 0, 1, 0.5, 0.5, 0.5, 0.5, 2, 0, 1, 0];

describe('computeAdvantages', () => {
  it('uses the sample std (N − 1)', () => {
    // Group [1,0,0,1]: mean 0.5, squared deviations 4 × 0.25 = 1, /3 → std = sqrt(1/3).
    expect(sampleStd([1, 0, 0, 1])).toBeCloseTo(Math.sqrt(1 / 3), 12);
  });

  it("scale_rewards 'group': (r − group mean) / (group std + 1e-4)", () => {
    const r = computeAdvantages(rewards, 4, 'group');
    const s1 = Math.sqrt(1 / 3);
    // Group 3 [2,0,1,0]: mean 0.75, deviations² 1.5625+0.5625+0.0625+0.5625 = 2.75, /3.
    const s3 = Math.sqrt(2.75 / 3);
    const expected = [
      0.5 / (s1 + 1e-4), -0.5 / (s1 + 1e-4), -0.5 / (s1 + 1e-4), 0.5 / (s1 + 1e-4),
      0, 0, 0, 0,
      1.25 / (s3 + 1e-4), -0.75 / (s3 + 1e-4), 0.25 / (s3 + 1e-4), -0.75 / (s3 + 1e-4),
    ];
    r.advantages.forEach((a, i) => expect(a).toBeCloseTo(expected[i]!, 10));
    // numpy cross-check of two entries.
    expect(r.advantages[0]).toBeCloseTo(0.8658754297607016, 12);
    expect(r.advantages[8]).toBeCloseTo(1.3054460702726, 12);
    expect(r.fracRewardZeroStd).toBeCloseTo(1 / 3, 12);
  });

  it("scale_rewards 'batch': group mean, batch std", () => {
    const r = computeAdvantages(rewards, 4, 'batch');
    const bs = 0.5967081414398551; // numpy std(ddof=1) of the 12 rewards
    expect(r.advantages[0]).toBeCloseTo(0.5 / (bs + 1e-4), 10);
    expect(r.advantages[8]).toBeCloseTo(2.0944754489847592, 10);
    expect(r.advantages.slice(4, 8)).toEqual([0, 0, 0, 0]);
    // TRL logs zero-std against the std actually used: the batch std is not zero.
    expect(r.fracRewardZeroStd).toBe(0);
  });

  it("scale_rewards 'none': only the group mean is subtracted", () => {
    const r = computeAdvantages(rewards, 4, 'none');
    expect(r.advantages).toEqual([0.5, -0.5, -0.5, 0.5, 0, 0, 0, 0, 1.25, -0.75, 0.25, -0.75]);
    expect(r.fracRewardZeroStd).toBeCloseTo(1 / 3, 12);
  });

  it('refuses rewards that do not split into groups', () => {
    expect(() => computeAdvantages([1, 2, 3], 2, 'group')).toThrow(/groups of 2/);
  });
});
