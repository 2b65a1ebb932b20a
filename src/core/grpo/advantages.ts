/**
 * Advantages from rewards, as TRL's GRPOTrainer computes them (and RLOO's and REINFORCE++'s
 * baselines beside GRPO's). Rows are laid out group by group: completions g·G … g·G + G − 1 share
 * a prompt. A completion no reward function scored has reward NaN: it is left out of every mean
 * and std (NaN-aware, as torch.nanmean and TRL's nanstd) and gets advantage 0.
 * Plain numbers: the rewards come from JavaScript functions, not from tensors.
 */
import type { AdvantageEstimator, MultiObjectiveAggregation, ScaleRewards } from './config';

export interface AdvantageOptions {
  numGenerations: number;
  scale: ScaleRewards;
  estimator: AdvantageEstimator;
}

export interface AdvantageResult {
  /** One per completion, in the same order as the rewards; 0 where the reward is NaN. */
  advantages: number[];
  /** The std each completion was scaled by (or, with scale 'none', its group's), for frac_reward_zero_std. */
  stds: number[];
  /** Fraction of completions whose std is zero (TRL's frac_reward_zero_std; a NaN std is not zero). */
  fracRewardZeroStd: number;
}

export function mean(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return xs.length === 0 ? 0 : s / xs.length;
}

/** Mean of the non-NaN values; NaN when there are none (torch.nanmean). */
export function nanMean(xs: readonly number[]): number {
  let s = 0;
  let n = 0;
  for (const x of xs) if (!Number.isNaN(x)) (s += x), n++;
  return n === 0 ? Number.NaN : s / n;
}

/** Sample std (Bessel's correction) of the non-NaN values; NaN for fewer than two (TRL's nanstd). */
export function nanStd(xs: readonly number[]): number {
  const m = nanMean(xs);
  let s = 0;
  let n = 0;
  for (const x of xs) if (!Number.isNaN(x)) (s += (x - m) * (x - m)), n++;
  return n < 2 ? Number.NaN : Math.sqrt(s / (n - 1));
}

/** Sample std of all values (no NaN expected); 0 for fewer than two. */
export function sampleStd(xs: readonly number[]): number {
  return xs.length < 2 ? 0 : nanStd(xs);
}

// torch.isclose(std, 0) with its default atol; false for NaN.
const isZero = (x: number): boolean => Math.abs(x) <= 1e-8;
const EPS = 1e-4;

/** The weighted sum of the scores per completion (nansum), NaN where no function scored it. */
export function combineRewards(perFunction: readonly (readonly (number | null)[])[], weights: readonly number[]): number[] {
  const n = perFunction[0]?.length ?? 0;
  return Array.from({ length: n }, (_, i) => {
    let s = 0;
    let scored = false;
    perFunction.forEach((col, k) => {
      const v = col[i];
      if (v === null || v === undefined) return;
      s += weights[k]! * v;
      scored = true;
    });
    return scored ? s : Number.NaN;
  });
}

function groups<T>(xs: readonly T[], G: number): T[][] {
  if (xs.length % G !== 0) throw new Error(`advantages: ${xs.length} rows do not split into groups of ${G}`);
  return Array.from({ length: xs.length / G }, (_, g) => xs.slice(g * G, (g + 1) * G));
}

/** Reward minus the group's baseline: its mean (grpo, reinforce_pp) or the mean of the others (rloo). */
function centred(group: number[], estimator: AdvantageEstimator): number[] {
  if (estimator !== 'rloo') {
    const m = nanMean(group);
    return group.map((r) => r - m);
  }
  let sum = 0;
  let n = 0;
  for (const r of group) if (!Number.isNaN(r)) (sum += r), n++;
  return group.map((r) => (n < 2 ? Number.NaN : r - (sum - r) / (n - 1)));
}

function finish(advantages: number[], stds: number[]): AdvantageResult {
  return {
    advantages: advantages.map((a) => (Number.isNaN(a) ? 0 : a)),
    stds,
    fracRewardZeroStd: stds.length === 0 ? 0 : stds.filter(isZero).length / stds.length,
  };
}

/** sum_then_normalize: one reward per completion, then the baseline and the scale. */
export function computeAdvantages(rewards: readonly number[], o: AdvantageOptions): AdvantageResult {
  const G = o.numGenerations;
  const grouped = groups(rewards, G);
  const batchStd = nanStd(rewards);
  const advantages: number[] = [];
  const stds: number[] = [];
  for (const group of grouped) {
    const std = o.scale === 'batch' ? batchStd : nanStd(group);
    for (const a of centred(group, o.estimator)) {
      advantages.push(o.scale === 'none' || o.estimator === 'reinforce_pp' ? a : a / (std + EPS));
      stds.push(std);
    }
  }
  if (o.estimator !== 'reinforce_pp') return finish(advantages, stds);
  // REINFORCE++ with baseline: the group-centred rewards whitened over the whole batch.
  const m = nanMean(advantages);
  const s = nanStd(advantages);
  return finish(advantages.map((a) => (a - m) / (s + EPS)), stds);
}

/**
 * normalize_then_sum (GDPO): each function's scores normalised within their group first, then
 * the weighted sum, then normalised over the batch. `perFunction[k][i]` is function k's score of row i.
 */
export function computeAdvantagesNormalizeThenSum(perFunction: readonly (readonly (number | null)[])[], weights: readonly number[], G: number): AdvantageResult {
  const n = perFunction[0]?.length ?? 0;
  const normalised = perFunction.map((col) =>
    groups(col.map((v) => v ?? Number.NaN), G).flatMap((group) => {
      const m = nanMean(group);
      const s = nanStd(group);
      return group.map((v) => (v - m) / (s + EPS));
    }),
  );
  const unscored = combineRewards(perFunction, weights).map(Number.isNaN);
  const summed = Array.from({ length: n }, (_, i) => {
    if (unscored[i]) return Number.NaN;
    let s = 0;
    normalised.forEach((col, k) => {
      if (!Number.isNaN(col[i]!)) s += weights[k]! * col[i]!;
    });
    return s;
  });
  const m = nanMean(summed);
  const std = nanStd(summed);
  return finish(
    summed.map((r) => (r - m) / (std + EPS)),
    summed.map(() => std),
  );
}

/** Each function's scores over the groups' rows, in function order: [function][row]. */
export function scoreColumns(groups: readonly { perFunction: Record<string, (number | null)[]> }[]): (number | null)[][] {
  const names = Object.keys(groups[0]?.perFunction ?? {});
  return names.map((name) => groups.flatMap((g) => g.perFunction[name]!));
}

/** The advantages of a batch's groups under a config's estimator, scaling and aggregation. */
export function batchAdvantages(
  groups: readonly { perFunction: Record<string, (number | null)[]> }[],
  weights: readonly number[],
  cfg: { num_generations: number; scale_rewards: ScaleRewards; advantage_estimator: AdvantageEstimator; multi_objective_aggregation: MultiObjectiveAggregation },
): AdvantageResult & { rewards: number[] } {
  const columns = scoreColumns(groups);
  const rewards = combineRewards(columns, weights);
  if (cfg.multi_objective_aggregation === 'normalize_then_sum') return { rewards, ...computeAdvantagesNormalizeThenSum(columns, weights, cfg.num_generations) };
  return { rewards, ...computeAdvantages(rewards, { numGenerations: cfg.num_generations, scale: cfg.scale_rewards, estimator: cfg.advantage_estimator }) };
}
