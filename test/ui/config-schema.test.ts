import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/core/grpo/config';
import { applyPreset, CONFIG_FIELDS, ConfigValueError, decodeSettingsHash, defaultConfig, encodeSettingsHash, parseFieldValue, PRESETS, toPatch } from '../../src/ui/config-schema';

describe('GRPO form schema', () => {
  it('has exactly the knobs the issue lists, plus max_steps, max_resample_rounds and micro_batch_size', () => {
    const names = CONFIG_FIELDS.map((f) => f.name).sort();
    expect(names).toEqual(
      [
        'num_generations', 'prompts_per_step', 'learning_rate', 'beta', 'epsilon', 'epsilon_high', 'loss_type', 'scale_rewards', 'num_iterations',
        'max_completion_length', 'temperature', 'top_p', 'top_k', 'mask_truncated_completions', 'max_grad_norm', 'warmup_ratio', 'lr_scheduler_type',
        'weight_decay', 'seed', 'drop_zero_std_groups', 'entropy_coef', 'scaffold_hard_problems', 'max_steps',
        'max_resample_rounds', 'micro_batch_size',
        // TRL 1.10 parity (issue 10)
        'delta', 'importance_sampling_level', 'advantage_estimator', 'multi_objective_aggregation', 'steps_per_generation',
        'gradient_accumulation_steps', 'min_p', 'repetition_penalty', 'top_entropy_quantile', 'use_bias_correction_kl',
        'sapo_temperature_pos', 'sapo_temperature_neg', 'sync_ref_model', 'ref_model_mixup_alpha', 'ref_model_sync_steps',
      ].sort(),
    );
    for (const f of CONFIG_FIELDS) expect(f.help.length, f.name).toBeGreaterThan(10);
  });

  it('sends patches the engine accepts, for the defaults and every preset', () => {
    expect(() => validateConfig(toPatch(defaultConfig()))).not.toThrow();
    for (const p of PRESETS) expect(() => validateConfig(toPatch(applyPreset(p.id).config)), p.id).not.toThrow();
    expect(validateConfig(toPatch(applyPreset('lecture').config)).learning_rate).toBe(2e-4);
  });

  it('parses typed values and refuses bad ones with a reason', () => {
    expect(parseFieldValue('num_generations', ' 16 ')).toBe(16);
    expect(parseFieldValue('learning_rate', '3e-4')).toBe(3e-4);
    expect(parseFieldValue('epsilon_high', '')).toBeNull();
    expect(parseFieldValue('epsilon_high', '0.28')).toBe(0.28);
    expect(parseFieldValue('mask_truncated_completions', 'true')).toBe(true);
    expect(parseFieldValue('loss_type', 'dr_grpo')).toBe('dr_grpo');
    expect(() => parseFieldValue('num_generations', '2.5')).toThrow(/whole number/);
    expect(() => parseFieldValue('num_generations', '1')).toThrow(/between 2 and/);
    expect(() => parseFieldValue('loss_type', 'ppo')).toThrow(/one of grpo, bnpo, dr_grpo, dapo/);
    expect(() => parseFieldValue('learning_rate', 'fast')).toThrow(ConfigValueError);
    expect(() => parseFieldValue('lr', '1')).toThrow(/not a GRPO setting/);
  });

  it('round-trips settings through a short URL hash', () => {
    const config = { ...applyPreset('student').config, learning_rate: 3e-5, epsilon_high: 0.28, mask_truncated_completions: true };
    const hash = encodeSettingsHash({ config, probeEvery: 7, preset: 'student', task: 'countdown' });
    expect(hash).toBe('#preset=student&learning_rate=0.00003&epsilon_high=0.28&mask_truncated_completions=true&probe_every=7&task=countdown');
    const back = decodeSettingsHash(hash);
    expect(back.errors).toEqual([]);
    expect(back.config).toEqual(config);
    expect(back.probeEvery).toBe(7);
    expect(back.preset).toBe('student');
    expect(back.task).toBe('countdown');
    expect(encodeSettingsHash({ config: defaultConfig(), probeEvery: 10 })).toBe('');
  });

  it('keeps the good part of a damaged link and says what it ignored', () => {
    const back = decodeSettingsHash('#num_generations=4&beta=lots&bogus=1&preset=nope');
    expect(back.config.num_generations).toBe(4);
    expect(back.config.beta).toBe(defaultConfig().beta);
    expect(back.errors.map((e) => e.field).sort()).toEqual(['beta', 'bogus', 'preset']);
  });
});
