/**
 * The GRPO config: its type, defaults and validator, all derived from the settings table
 * (src/core/grpo/settings.ts), under TRL's GRPOConfig names so that a config written for TRL
 * reads the same here.
 */
import { SETTINGS, SETTING_NAMES, type SettingKind, type SettingsValues } from './settings';

export { LOSS_TYPES, SCALE_REWARDS, LR_SCHEDULER_TYPES, IMPORTANCE_SAMPLING_LEVELS, MULTI_OBJECTIVE_AGGREGATIONS, ADVANTAGE_ESTIMATORS } from './settings';

export type GRPOConfig = SettingsValues;
export type LossType = GRPOConfig['loss_type'];
export type ScaleRewards = GRPOConfig['scale_rewards'];
export type LrSchedulerType = GRPOConfig['lr_scheduler_type'];
export type ImportanceSamplingLevel = GRPOConfig['importance_sampling_level'];
export type AdvantageEstimator = GRPOConfig['advantage_estimator'];
export type MultiObjectiveAggregation = GRPOConfig['multi_objective_aggregation'];

export const DEFAULT_CONFIG: Readonly<GRPOConfig> = Object.freeze(
  Object.fromEntries(SETTING_NAMES.map((k) => [k, SETTINGS[k].default])) as unknown as GRPOConfig,
);

export class ConfigError extends Error {
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(`GRPO config "${key}": ${message}`);
    this.name = 'ConfigError';
  }
}

export type GRPOConfigPatch = { [K in keyof GRPOConfig]?: GRPOConfig[K] };

/** The upper clip bound actually used. */
export function epsilonHigh(c: GRPOConfig): number {
  return c.epsilon_high ?? c.epsilon;
}

/** Slices per generated batch (TRL: steps_per_generation defaults to gradient_accumulation_steps). */
export function stepsPerGeneration(c: GRPOConfig): number {
  return c.steps_per_generation ?? c.gradient_accumulation_steps;
}

function inRange(key: string, n: number, kind: { min: number; max: number }, integer: boolean): number {
  if (integer && !Number.isInteger(n)) throw new ConfigError(key, `must be a whole number, got ${n}`);
  if (n < kind.min || n > kind.max) throw new ConfigError(key, `must be between ${kind.min} and ${kind.max}, got ${n}`);
  return n;
}

function finite(key: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ConfigError(key, `must be a finite number, got ${JSON.stringify(v)}`);
  return v;
}

/** One value checked against its setting's kind; returns the value the config holds. */
export function checkSetting(key: string, kind: SettingKind, v: unknown): unknown {
  switch (kind.type) {
    case 'int':
    case 'float':
      return inRange(key, finite(key, v), kind, kind.type === 'int');
    case 'optionalFloat':
    case 'optionalInt':
      return v === null || v === undefined ? null : inRange(key, finite(key, v), kind, kind.type === 'optionalInt');
    case 'bool':
      if (typeof v !== 'boolean') throw new ConfigError(key, `must be true or false, got ${JSON.stringify(v)}`);
      return v;
    case 'choice': {
      const alias = kind.aliases?.[String(v)];
      if (alias !== undefined && typeof v !== 'string') return alias;
      if (typeof v !== 'string' || !kind.options.includes(v)) {
        throw new ConfigError(key, `must be one of ${kind.options.join(', ')}${kind.aliases ? ` (or ${Object.keys(kind.aliases).join('/')})` : ''}; got ${JSON.stringify(v)}`);
      }
      return v;
    }
    case 'numberList':
      if (v === null || v === undefined) return null;
      if (!Array.isArray(v)) throw new ConfigError(key, 'must be a list of numbers or null');
      return v.map((w, i) => finite(`${key}[${i}]`, w));
  }
}

/** Rules that tie two settings together. */
function checkCombination(c: GRPOConfig): void {
  if (c.delta !== null && c.delta <= 1 + epsilonHigh(c)) {
    throw new ConfigError('delta', `must exceed 1 + epsilon_high (${1 + epsilonHigh(c)}), or be empty to turn two-sided clipping off; got ${c.delta}`);
  }
  if (stepsPerGeneration(c) % c.gradient_accumulation_steps !== 0) {
    throw new ConfigError('steps_per_generation', `must be a multiple of gradient_accumulation_steps (${c.gradient_accumulation_steps}), got ${c.steps_per_generation}`);
  }
  if ((c.prompts_per_step * c.num_generations) % stepsPerGeneration(c) !== 0) {
    throw new ConfigError('steps_per_generation', `must divide the batch of ${c.prompts_per_step * c.num_generations} completions (prompts_per_step × num_generations), got ${stepsPerGeneration(c)}`);
  }
  if (c.sync_ref_model && c.beta === 0) {
    throw new ConfigError('sync_ref_model', 'needs beta > 0: with beta = 0 there is no reference model to sync');
  }
}

/**
 * Merge a patch over `base` (the defaults unless given) and check every value. Unknown keys are
 * refused rather than ignored: a misspelt knob that silently does nothing wastes a whole run.
 */
export function validateConfig(patch: Record<string, unknown> = {}, base: GRPOConfig = DEFAULT_CONFIG): GRPOConfig {
  for (const k of Object.keys(patch)) {
    if (!(SETTING_NAMES as string[]).includes(k)) throw new ConfigError(k, `unknown key; known keys are ${SETTING_NAMES.join(', ')}`);
  }
  const merged: Record<string, unknown> = { ...base, ...patch };
  const c = Object.fromEntries(SETTING_NAMES.map((k) => [k, checkSetting(k, SETTINGS[k].kind, merged[k])])) as unknown as GRPOConfig;
  checkCombination(c);
  return c;
}

/** The reward weights for n functions, checking the count (TRL raises on a mismatch too). */
export function rewardWeights(c: GRPOConfig, n: number): number[] {
  if (c.reward_weights === null) return new Array<number>(n).fill(1);
  if (c.reward_weights.length !== n) {
    throw new ConfigError('reward_weights', `has ${c.reward_weights.length} weights but there are ${n} reward functions`);
  }
  return c.reward_weights;
}
