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
