import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GRPOTrainer, type TrainerOptions } from '../../src/core/grpo/trainer';
import { fromRewardFn, RewardError } from '../../src/core/rewards/runner';
import { ConfigError } from '../../src/core/grpo/config';
import { NonFiniteError } from '../../src/core/grpo/optimizer';
import { rolloutViews } from '../../src/worker/rollout-views';
import type { StepResult as _SR } from '../../src/core/grpo/trainer';
import { charTokenizer, renderWord, tinyModel, warmUp, wordSource } from './helpers';

const views = (r: _SR) => rolloutViews(r, charTokenizer);

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const startsWithVowel = fromRewardFn({ name: 'vowel', fn: (c) => ('aeiou'.includes(c[0] ?? '') ? 1 : 0) });
const lengthy = fromRewardFn({ name: 'len', fn: (c) => (c.length > 0 ? c.length / 10 : null) });

const disposers: (() => void)[] = [];
afterEach(() => {
  while (disposers.length) disposers.pop()!();
});

function make(config: Record<string, unknown> = {}, extra: Partial<TrainerOptions> = {}) {
  const policy = tinyModel();
  const trainer = new GRPOTrainer({
    policy,
    tokenizer: charTokenizer,
    problems: wordSource,
    renderPrompt: renderWord,
    rewards: [startsWithVowel, lengthy],
    config: { num_generations: 4, prompts_per_step: 2, max_completion_length: 4, learning_rate: 1e-2, ...config },
    ...extra,
  });
  disposers.push(() => {
    trainer.dispose();
    policy.dispose();
  });
  return { policy, trainer };
}

function close(a: number, b: number, what: string): void {
  expect(Math.abs(a - b), `${what}: ${a} vs ${b}`).toBeLessThan(1e-5 * Math.max(1, Math.abs(b)));
}

function snapshot(policy: ReturnType<typeof tinyModel>): Float32Array[] {
  return [...policy.weights.values()].map((v) => v.dataSync() as Float32Array).map((a) => Float32Array.from(a));
}

describe('GRPOTrainer', () => {
  it('reports TRL metrics and rollout groups, and moves the weights', async () => {
    const { policy, trainer } = make({ reward_weights: [1, 0.5] });
    const before = snapshot(policy);
    const r = await trainer.trainStep();
    for (const k of ['reward', 'reward_std', 'rewards/vowel/mean', 'rewards/vowel/std', 'clip_ratio/low_min', 'clip_ratio/high_max', 'frac_reward_zero_std', 'entropy', 'clip_ratio/low_mean', 'clip_ratio/high_mean', 'clip_ratio/region_mean', 'completions/mean_length', 'completions/clipped_ratio', 'policy_loss', 'grad_norm', 'learning_rate', 'tokens_per_s', 'rollout_time_s', 'update_time_s', 'num_tensors', 'bytes']) {
      expect(r.metrics[k], k).toBeTypeOf('number');
      expect(Number.isFinite(r.metrics[k]), k).toBe(true);
    }
    expect(r.metrics.kl).toBeUndefined(); // beta = 0: no reference, no KL (as TRL)
    expect(r.metrics['clip_ratio/region_mean']).toBe(0); // μ = 1
    expect(views(r)).toHaveLength(2);
    expect(views(r)[0]!.completions).toHaveLength(4);
    // The reward shown per completion is the weighted sum of the per-function scores.
    for (const g of views(r)) {
      for (const c of g.completions) {
        const expected = (c.rewards.vowel ?? 0) + 0.5 * (c.rewards.len ?? 0);
        expect(c.reward).toBeCloseTo(expected, 12);
        expect(c.tokens.join('')).toBe(c.text);
      }
      // Group-normalised advantages sum to zero.
      expect(g.completions.reduce((s, c) => s + c.advantage, 0)).toBeCloseTo(0, 6);
    }
    const all = views(r).flatMap((g) => g.completions);
    expect(r.metrics.reward).toBeCloseTo(all.reduce((s, c) => s + c.reward, 0) / all.length, 12);
    expect(r.metrics['completions/clipped_ratio']).toBeCloseTo(all.filter((c) => c.finish === 'length').length / all.length, 12);
    const after = snapshot(policy);
    expect(after.some((a, i) => a.some((x, j) => x !== before[i]![j]))).toBe(true);
  });

  it('20 steps leave tf.memory().numTensors exactly where it was (with KL, μ = 2, entropy bonus)', async () => {
    const { trainer, policy } = make({ beta: 0.05, num_iterations: 2, entropy_coef: 0.01, loss_type: 'grpo', micro_batch_size: 3 });
    expect(trainer.hasReference).toBe(true);
    await warmUp(policy);
    const before = tf.memory().numTensors;
    let last = null;
    for (let i = 0; i < 20; i++) last = await trainer.trainStep();
    expect(tf.memory().numTensors).toBe(before);
    expect(last!.metrics.kl).toBeGreaterThanOrEqual(0);
    expect(last!.metrics.num_tensors).toBe(before);
  });

  it('is reproducible: same seed, same first-step rollouts', async () => {
    const a = await make({ seed: 5 }).trainer.trainStep();
    const b = await make({ seed: 5 }).trainer.trainStep();
    expect(views(b).map((g) => g.completions.map((c) => c.text))).toEqual(views(a).map((g) => g.completions.map((c) => c.text)));
    expect(b.metrics.policy_loss).toBe(a.metrics.policy_loss);
  });

  it('a reward error skips the step and leaves the model untouched', async () => {
    const bad = fromRewardFn({ name: 'broken', fn: () => Number.NaN });
    const { policy, trainer } = make({}, { rewards: [bad] });
    await warmUp(policy);
    const before = snapshot(policy);
    const n = tf.memory().numTensors;
    await expect(trainer.trainStep()).rejects.toBeInstanceOf(RewardError);
    expect(snapshot(policy)).toEqual(before);
    expect(tf.memory().numTensors).toBe(n);
    expect(trainer.step).toBe(0);
  });

  it('a non-finite loss is refused before the weights change', async () => {
    // A huge reward gap with scale_rewards none makes the advantage overflow float32.
    const huge = fromRewardFn({ name: 'huge', fn: (c) => ('aeiou'.includes(c[0] ?? '') ? 1e38 : -1e38) });
    const { policy, trainer } = make({ scale_rewards: 'none', num_generations: 8, prompts_per_step: 4, loss_type: 'dr_grpo' }, { rewards: [huge] });
    await warmUp(policy);
    const before = snapshot(policy);
    const n = tf.memory().numTensors;
    let err: unknown = null;
    try {
      await trainer.trainStep();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NonFiniteError);
    expect(snapshot(policy)).toEqual(before);
    expect(tf.memory().numTensors).toBe(n);
  });

  it('drop_zero_std_groups resamples and marks dropped groups untrained', async () => {
    const constant = fromRewardFn({ name: 'const', fn: () => 1 });
    const { trainer } = make({ drop_zero_std_groups: true, max_resample_rounds: 2 }, { rewards: [constant] });
    const r = await trainer.trainStep();
    expect(r.updated).toBe(false);
    expect(r.metrics.frac_reward_zero_std).toBe(1);
    // 2 first groups + 2 resampling rounds of 2 groups each, all dropped.
    expect(views(r).filter((g) => !g.trained)).toHaveLength(6);
    expect(r.metrics['dynamic_sampling/dropped_groups']).toBe(6);
  });

  it('scaffolds groups whose completions all fail, raising the level up to 4', async () => {
    const levels: number[] = [];
    const never = fromRewardFn({ name: 'never', fn: () => 0 });
    const { trainer } = make(
      { scaffold_hard_problems: true },
      {
        rewards: [never],
        renderPrompt: (p, o) => {
          levels.push(o.scaffoldLevel ?? 0);
          return renderWord(p, o);
        },
      },
    );
    const r = await trainer.trainStep();
    expect(levels).toEqual([0, 0, 1, 1, 2, 2, 3, 3, 4, 4]);
    expect(views(r).map((g) => g.scaffoldLevel)).toEqual([4, 4]);
    expect(r.metrics['scaffold/still_failed']).toBe(2);
  });

  it.each([
    ['grpo', 'token'],
    ['bnpo', 'token'],
    ['dapo', 'token'],
    ['dr_grpo', 'token'],
    ['cispo', 'token'],
    ['sapo', 'token'],
    ['grpo', 'sequence'],
    ['dapo', 'sequence'],
  ])('micro-batches give the same step as the whole batch (%s, %s level, with KL, μ = 2)', async (lossType, level) => {
    const cfg = { loss_type: lossType, importance_sampling_level: level, beta: 0.1, num_iterations: 2, entropy_coef: 0.01, seed: 3, mask_truncated_completions: true };
    const whole = make(cfg);
    const micro = make({ ...cfg, micro_batch_size: 3 });
    const a = await whole.trainer.trainStep();
    const b = await micro.trainer.trainStep();
    for (const k of ['policy_loss', 'grad_norm', 'entropy', 'kl', ...(lossType === 'cispo' ? ['cispo_clip_ratio'] : lossType === 'sapo' ? [] : ['clip_ratio/region_mean'])]) {
      expect(Math.abs(b.metrics[k]! - a.metrics[k]!), `${k}: ${b.metrics[k]} vs ${a.metrics[k]}`).toBeLessThan(1e-5 * Math.max(1, Math.abs(a.metrics[k]!)));
    }
    const wa = snapshot(whole.policy);
    const wb = snapshot(micro.policy);
    let maxDiff = 0;
    wa.forEach((x, i) => x.forEach((v, j) => (maxDiff = Math.max(maxDiff, Math.abs(v - wb[i]![j]!)))));
    expect(maxDiff).toBeLessThan(1e-5);
  });

  it('gradient accumulation over two slices gives the whole batch’s step (grpo: equal slices)', async () => {
    // No entropy bonus: TRL takes its mean per slice, which differs from the whole batch's when slices differ in length.
    const cfg = { loss_type: 'grpo', beta: 0.1, seed: 4 };
    const whole = make(cfg);
    const sliced = make({ ...cfg, steps_per_generation: 2, gradient_accumulation_steps: 2, micro_batch_size: 3 });
    const a = await whole.trainer.trainStep();
    const b = await sliced.trainer.trainStep();
    for (const k of ['policy_loss', 'grad_norm']) close(b.metrics[k]!, a.metrics[k]!, k);
    const wa = snapshot(whole.policy);
    const wb = snapshot(sliced.policy);
    wa.forEach((x, i) => x.forEach((v, j) => expect(Math.abs(v - wb[i]![j]!)).toBeLessThan(1e-5)));
    expect((await sliced.trainer.exportState()).state.adamStep).toBe(1);
  });

  it('steps_per_generation = 2 takes two optimizer steps per generation, the second against the sampling policy', async () => {
    const { trainer } = make({ steps_per_generation: 2, seed: 4, learning_rate: 5e-2 });
    const r = await trainer.trainStep();
    expect((await trainer.exportState()).state.adamStep).toBe(2);
    expect(r.metrics.policy_loss).toBeTypeOf('number');
  });

  it('steps_per_generation copes with dynamic sampling leaving a batch it does not divide (a shorter last slice)', async () => {
    let n = 0;
    // The first prompt's group has no variance (dropped); the second's rewards all differ (kept).
    const firstConstant = fromRewardFn({ name: 'mixed', fn: (_c, p) => (p.id.startsWith('w0') ? 1 : n++) });
    const { trainer } = make({ prompts_per_step: 2, num_generations: 3, steps_per_generation: 2, drop_zero_std_groups: true, max_resample_rounds: 0, max_completion_length: 6, seed: 2 }, { rewards: [firstConstant] });
    const r = await trainer.trainStep();
    expect(r.metrics['dynamic_sampling/kept_groups']).toBe(1);
    expect(r.updated).toBe(true);
    expect(Number.isFinite(r.metrics.policy_loss!)).toBe(true);
    expect((await trainer.exportState()).state.adamStep).toBe(2);
  });

  it('sync_ref_model with α = 1 every step makes the reference the policy: the next step’s KL is 0', async () => {
    const synced = make({ beta: 0.1, sync_ref_model: true, ref_model_mixup_alpha: 1, ref_model_sync_steps: 1, seed: 6 });
    const plain = make({ beta: 0.1, seed: 6 });
    await synced.trainer.trainStep();
    await plain.trainer.trainStep();
    expect((await synced.trainer.trainStep()).metrics.kl).toBe(0);
    expect((await plain.trainer.trainStep()).metrics.kl).toBeGreaterThan(0);
  });

  it('the new objectives run a real step without leaking a tensor (GSPO + top_entropy_quantile, cispo, sapo with RLOO, normalize_then_sum)', async () => {
    for (const cfg of [
      { importance_sampling_level: 'sequence', top_entropy_quantile: 0.5, num_iterations: 2, delta: 1.5, beta: 0.04, use_bias_correction_kl: true },
      { loss_type: 'cispo', epsilon_high: 5, num_iterations: 2, min_p: 0.05, repetition_penalty: 1.2 },
      { loss_type: 'sapo', advantage_estimator: 'rloo', scale_rewards: false },
      { multi_objective_aggregation: 'normalize_then_sum', advantage_estimator: 'reinforce_pp', steps_per_generation: 2 },
    ]) {
      const { trainer, policy } = make(cfg);
      await warmUp(policy);
      await trainer.trainStep();
      const before = tf.memory().numTensors;
      const r = await trainer.trainStep();
      expect(tf.memory().numTensors, JSON.stringify(cfg)).toBe(before);
      expect(Number.isFinite(r.metrics.policy_loss!), JSON.stringify(cfg)).toBe(true);
    }
  });

  it('exportState/importState carry the step and AdamW moments into a fresh trainer (HF layout on disk)', async () => {
    const a = make({ seed: 9 });
    await a.trainer.trainStep();
    await a.trainer.trainStep();
    const saved = await a.trainer.exportState();
    expect(saved.state.step).toBe(2);
    expect(saved.state.adamStep).toBe(2);
    // Saved in Hugging Face's [out, in] layout whatever the engine holds.
    const spec = a.policy.tensorSpecs().find((t) => t.linear)!;
    expect(saved.optimizer.get(`m.${spec.name}`)!.shape).toEqual(spec.shape);
    const b = make({ seed: 9 });
    b.trainer.importState(saved.state, saved.optimizer);
    expect(b.trainer.step).toBe(2);
    const again = await b.trainer.exportState();
    for (const [k, v] of saved.optimizer) expect(Array.from(again.optimizer.get(k)!.data), k).toEqual(Array.from(v.data));
    // A checkpoint of another shape is refused before anything changes.
    const bad = new Map(saved.optimizer);
    bad.set(`v.${spec.name}`, { shape: [1, 1], data: new Float32Array(1) });
    expect(() => b.trainer.importState(saved.state, bad)).toThrow(/shape/);
    expect(Array.from((await b.trainer.exportState()).optimizer.get(`m.${spec.name}`)!.data)).toEqual(Array.from(saved.optimizer.get(`m.${spec.name}`)!.data));
  });

  it('refuses turning beta on mid-run, accepts other knobs', () => {
    const { trainer } = make();
    expect(() => trainer.setConfig({ beta: 0.1 })).toThrow(ConfigError);
    expect(trainer.setConfig({ learning_rate: 5e-3, max_grad_norm: 0.5 }).learning_rate).toBe(5e-3);
  });
});
