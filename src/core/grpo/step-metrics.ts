/**
 * A step's logged metrics (TRL's names where TRL has one), assembled from what the rollout and
 * the update computed; nothing here runs the model again.
 */
import * as tf from '@tensorflow/tfjs-core';
import { computeAdvantages, mean } from './advantages';
import type { Batch } from './batch';
import type { GRPOConfig } from './config';

/** Reward statistics of the fresh prompts' groups: they describe the policy before scaffolding or resampling. */
function rewardMetrics(batch: Batch, cfg: GRPOConfig): Record<string, number> {
  const rewards = batch.fresh.flatMap((g) => g.rewards);
  const stats = computeAdvantages(rewards, cfg.num_generations, cfg.scale_rewards);
  const out: Record<string, number> = { reward: mean(rewards), reward_std: stats.rewardStd, frac_reward_zero_std: stats.fracRewardZeroStd };
  for (const name of Object.keys(batch.fresh[0]!.perFunction)) {
    const vals = batch.fresh.flatMap((g) => g.perFunction[name]!).filter((v): v is number => v !== null);
    if (vals.length > 0) out[`rewards/${name}/mean`] = mean(vals);
  }
  return out;
}

function completionMetrics(batch: Batch): Record<string, number> {
  const lengths = batch.fresh.flatMap((g) => g.tokens.map((t) => t.length));
  return {
    'completions/mean_length': mean(lengths),
    'completions/min_length': Math.min(...lengths),
    'completions/max_length': Math.max(...lengths),
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
  batch: Batch,
  update: { learningRate: number; losses: Record<string, number> | null; seconds: number },
): Record<string, number> {
  const mem = tf.memory();
  return {
    ...rewardMetrics(batch, cfg),
    ...completionMetrics(batch),
    ...samplingMetrics(batch),
    learning_rate: update.learningRate,
    ...(update.losses ?? {}),
    update_time_s: update.seconds,
    num_tensors: mem.numTensors,
    bytes: mem.numBytes,
  };
}
