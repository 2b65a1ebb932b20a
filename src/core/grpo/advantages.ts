/**
 * Group-relative advantages, as TRL's GRPOTrainer computes them: subtract the group mean, then
 * divide by the group's (or the batch's) sample standard deviation (N − 1, torch's default) + 1e-4.
 * Plain numbers: the rewards come from JavaScript functions, not from tensors.
 */
import type { ScaleRewards } from './config';

export interface AdvantageResult {
  /** One per completion, in the same order as the rewards. */
  advantages: number[];
  /** The std each completion was scaled by (group or batch; logged even with scale 'none'). */
  stds: number[];
  /** Per group: its rewards are all equal (torch.isclose(std, 0)). */
  zeroStdGroups: boolean[];
  /** Mean of `stds` over completions (TRL's reward_std). */
  rewardStd: number;
  /** Fraction of completions whose std is zero (TRL's frac_reward_zero_std). */
  fracRewardZeroStd: number;
}

export function mean(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return xs.length === 0 ? 0 : s / xs.length;
}

/** Sample standard deviation (Bessel's correction); 0 for fewer than two values. */
export function sampleStd(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  let s = 0;
  for (const x of xs) s += (x - m) * (x - m);
  return Math.sqrt(s / (xs.length - 1));
}

// torch.isclose(std, 0) with its default atol.
const isZero = (x: number): boolean => Math.abs(x) <= 1e-8;

/**
 * `rewards` is laid out group by group: completions g·G … g·G + G − 1 share a prompt.
 */
export function computeAdvantages(rewards: readonly number[], numGenerations: number, scale: ScaleRewards): AdvantageResult {
  const G = numGenerations;
  if (rewards.length % G !== 0) {
    throw new Error(`computeAdvantages: ${rewards.length} rewards do not split into groups of ${G}`);
  }
  const nGroups = rewards.length / G;
  const batchStd = sampleStd(rewards);
  const advantages: number[] = [];
  const stds: number[] = [];
  const zeroStdGroups: boolean[] = [];
  for (let g = 0; g < nGroups; g++) {
    const group = rewards.slice(g * G, (g + 1) * G);
    const m = mean(group);
    const groupStd = sampleStd(group);
    const std = scale === 'batch' ? batchStd : groupStd;
    zeroStdGroups.push(isZero(groupStd));
    for (const r of group) {
      advantages.push(scale === 'none' ? r - m : (r - m) / (std + 1e-4));
      stds.push(std);
    }
  }
  return {
    advantages,
    stds,
    zeroStdGroups,
    rewardStd: mean(stds),
    fracRewardZeroStd: stds.length === 0 ? 0 : stds.filter(isZero).length / stds.length,
  };
}
