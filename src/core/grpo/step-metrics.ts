/**
 * A step's logged metrics (TRL's names where TRL has one), assembled from what the rollout and
 * the update computed; nothing here runs the model again.
 */
import * as tf from '@tensorflow/tfjs-core';
import { batchAdvantages, mean, nanMean, nanStd } from './advantages';

type TrainedAdvantages = ReturnType<typeof batchAdvantages>;
import type { Batch } from './batch';
import type { GRPOConfig } from './config';
import { minMax } from './limits';

/**
 * Reward statistics of the fresh prompts' groups: they describe the policy before scaffolding or
 * resampling (the trained groups' own statistics are reused when nothing replaced any). As TRL:
 * reward and reward_std over every scored completion of the batch, per function over the
 * completions it scored.
 */
function rewardMetrics(cfg: GRPOConfig, weights: number[], batch: Batch, trained: TrainedAdvantages): Record<string, number> {
  const fresh = batch.fresh === batch.groups ? trained : batchAdvantages(batch.fresh, weights, cfg);
  const out: Record<string, number> = { frac_reward_zero_std: fresh.fracRewardZeroStd };
  const put = (name: string, v: number) => {
    if (Number.isFinite(v)) out[name] = v;
  };
  put('reward', nanMean(fresh.rewards));
  put('reward_std', nanStd(fresh.rewards));
  for (const name of Object.keys(batch.fresh[0]!.perFunction)) {
    const vals = batch.fresh.flatMap((g) => g.perFunction[name]!).map((v) => v ?? Number.NaN);
    put(`rewards/${name}/mean`, nanMean(vals));
    put(`rewards/${name}/std`, nanStd(vals));
  }
  return out;
}

function completionMetrics(batch: Batch): Record<string, number> {
  const lengths = batch.fresh.flatMap((g) => g.tokens.map((t) => t.length));
  // No spread: a batch can hold more rows than the engine's argument limit.
  const { min, max } = minMax(lengths);
  return {
    'completions/mean_length': mean(lengths),
    'completions/min_length': min,
    'completions/max_length': max,
    'completions/clipped_ratio': batch.fresh.flatMap((g) => g.finish).filter((f) => f === 'length').length / lengths.length,
  };
}

function samplingMetrics(batch: Batch): Record<string, number> {
  const out: Record<string, number> = {};
  if (batch.scaffold) {
    if (batch.scaffold.groups > 0) out['scaffold/groups'] = batch.scaffold.groups;
    out['scaffold/mean_level'] = batch.scaffold.meanLevel;
    out['scaffold/still_failed'] = batch.scaffold.stillFailed;
  }
  if (batch.dynamicSampling) {
    out['dynamic_sampling/kept_groups'] = batch.dynamicSampling.kept;
    out['dynamic_sampling/dropped_groups'] = batch.dynamicSampling.dropped;
  }
  const { seconds, tokens } = batch.generation;
  out['rollout_time_s'] = seconds;
  out['tokens_per_s'] = seconds > 0 ? tokens / seconds : 0;
  return out;
}

export function stepMetrics(
  cfg: GRPOConfig,
  weights: number[],
  batch: Batch,
  trained: TrainedAdvantages,
  update: { learningRate: number; losses: Record<string, number> | null; seconds: number },
): Record<string, number> {
  const mem = tf.memory();
  return {
    ...rewardMetrics(cfg, weights, batch, trained),
    ...completionMetrics(batch),
    ...samplingMetrics(batch),
    learning_rate: update.learningRate,
    ...(update.losses ?? {}),
    update_time_s: update.seconds,
    num_tensors: mem.numTensors,
    bytes: mem.numBytes,
  };
}
