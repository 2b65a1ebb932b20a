import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_CONFIG, epsilonHigh, rewardWeights, validateConfig } from '../../src/core/grpo/config';

describe('validateConfig', () => {
  it('returns the defaults for an empty patch', () => {
    expect(validateConfig({})).toEqual({ ...DEFAULT_CONFIG });
  });

  it('merges a patch and keeps TRL semantics for epsilon_high', () => {
    const c = validateConfig({ num_generations: 4, epsilon: 0.1 });
    expect(c.num_generations).toBe(4);
    expect(epsilonHigh(c)).toBe(0.1);
    expect(epsilonHigh(validateConfig({ epsilon_high: 0.28 }))).toBe(0.28);
  });

  it.each([
    [{ num_generations: 1 }, 'num_generations'],
    [{ num_generations: 2.5 }, 'num_generations'],
    [{ epsilon: 0 }, 'epsilon'],
    [{ epsilon: -0.1 }, 'epsilon'],
    [{ loss_type: 'ppo' }, 'loss_type'],
    [{ scale_rewards: 'max' }, 'scale_rewards'],
    [{ lr_scheduler_type: 'step' }, 'lr_scheduler_type'],
    [{ temperature: 0 }, 'temperature'],
    [{ beta: -1 }, 'beta'],
    [{ learning_rate: Number.NaN }, 'learning_rate'],
    [{ top_p: 1.5 }, 'top_p'],
    [{ warmup_ratio: 1 }, 'warmup_ratio'],
    [{ num_generation: 8 }, 'num_generation'],
    [{ mask_truncated_completions: 'yes' }, 'mask_truncated_completions'],
  ])('refuses %j with a reason naming %s', (patch, key) => {
    let err: unknown;
    try {
      validateConfig(patch as Record<string, unknown>);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).key).toBe(key);
    expect((err as Error).message).toContain(key);
  });

  it('checks reward_weights against the number of functions', () => {
    expect(rewardWeights(validateConfig({}), 3)).toEqual([1, 1, 1]);
    const c = validateConfig({ reward_weights: [1, 0.5] });
    expect(rewardWeights(c, 2)).toEqual([1, 0.5]);
    expect(() => rewardWeights(c, 3)).toThrow(ConfigError);
  });
});

describe('settings table', () => {
  it('accepts scale_rewards true/false as TRL does (group / none)', () => {
    expect(validateConfig({ scale_rewards: true }).scale_rewards).toBe('group');
    expect(validateConfig({ scale_rewards: false }).scale_rewards).toBe('none');
    expect(() => validateConfig({ scale_rewards: 'true' })).toThrow(ConfigError);
  });

  it.each([
    [{ max_completion_length: 100_000 }, 'max_completion_length'],
    [{ num_generations: 10_000 }, 'num_generations'],
    [{ temperature: 0.001 }, 'temperature'],
    [{ delta: 1.1 }, 'delta'],
    [{ steps_per_generation: 3 }, 'steps_per_generation'],
    [{ steps_per_generation: 2, gradient_accumulation_steps: 4 }, 'steps_per_generation'],
    [{ sync_ref_model: true }, 'sync_ref_model'],
    [{ top_entropy_quantile: 0 }, 'top_entropy_quantile'],
    [{ loss_type: 'luspo' }, 'loss_type'],
  ])('refuses %j (ranges and combinations)', (patch, key) => {
    expect(() => validateConfig(patch as Record<string, unknown>)).toThrow(expect.objectContaining({ key }));
  });

  it('has TRL 1.10 defaults for the parity settings', () => {
    expect(DEFAULT_CONFIG).toMatchObject({
      importance_sampling_level: 'token', delta: null, top_entropy_quantile: 1, use_bias_correction_kl: false, multi_objective_aggregation: 'sum_then_normalize',
      min_p: null, repetition_penalty: 1, sync_ref_model: false, ref_model_mixup_alpha: 0.6, ref_model_sync_steps: 512, steps_per_generation: null,
      gradient_accumulation_steps: 1, advantage_estimator: 'grpo',
    });
  });
});
