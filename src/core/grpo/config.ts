/**
 * GRPO knobs under TRL's GRPOConfig names (snake_case, as TRL spells them) so that a config
 * written for TRL reads the same here. Where TRL's default suits a 7B model and not the
 * few-million-parameter toy model, our default differs and the comment says why.
 */

export type LossType = 'grpo' | 'bnpo' | 'dr_grpo' | 'dapo';
export type ScaleRewards = 'group' | 'batch' | 'none';
export type LrSchedulerType = 'constant' | 'linear' | 'cosine';

export const LOSS_TYPES: readonly LossType[] = ['grpo', 'bnpo', 'dr_grpo', 'dapo'];
export const SCALE_REWARDS: readonly ScaleRewards[] = ['group', 'batch', 'none'];
export const LR_SCHEDULER_TYPES: readonly LrSchedulerType[] = ['constant', 'linear', 'cosine'];

export interface GRPOConfig {
  /** G: completions sampled per prompt. TRL default 8. Must be ≥ 2 (a group of one has no baseline). */
  num_generations: number;
  /**
   * Distinct prompts per optimizer step. TRL has no such key: its per_device_train_batch_size
   * counts completions, so per_device_train_batch_size = prompts_per_step × num_generations here
   * (one device, one gradient-accumulation step, steps_per_generation = 1).
   */
  prompts_per_step: number;
  /** AdamW peak learning rate. TRL default 1e-6 is for billions of parameters; a tiny model needs far more. */
  learning_rate: number;
  /** KL coefficient. TRL default 0.0; when 0 no reference copy is held (saves a model's worth of memory). */
  beta: number;
  /** Lower clip: ratio is clipped at 1 − epsilon. TRL default 0.2. */
  epsilon: number;
  /** Upper clip (DAPO's clip-higher): ratio clipped at 1 + epsilon_high. null → same as epsilon, as TRL. */
  epsilon_high: number | null;
  /**
   * Token aggregation. grpo: mean over each sequence's tokens, then over sequences. bnpo: sum over
   * all tokens / token count of the batch. dr_grpo: sum / (sequences × max_completion_length).
   * dapo: sum / tokens of the whole generation batch (with one process and one accumulation step,
   * as here, numerically bnpo). TRL's newest default is dapo.
   */
  loss_type: LossType;
  /** Advantage scaling: by group std (GRPO), by batch std, or none (Dr. GRPO). TRL default group. */
  scale_rewards: ScaleRewards;
  /** μ: optimizer passes over each batch of rollouts. TRL default 1 (then ratio ≡ 1 and nothing clips). */
  num_iterations: number;
  /** Maximum new tokens per completion. TRL default 256; the toy world's answers fit in far fewer. */
  max_completion_length: number;
  /** Sampling temperature. TRL default 1.0. */
  temperature: number;
  /** Nucleus sampling; 1 = off. TRL default 1.0. */
  top_p: number;
  /** Top-k; 0 = off (TRL's None). */
  top_k: number;
  /** Exclude completions that hit max_completion_length from the loss (DAPO overlong filtering). TRL default false. */
  mask_truncated_completions: boolean;
  /** One weight per reward function, in order; null = all 1, as TRL. */
  reward_weights: number[] | null;
  /** Global gradient-norm clip. TRL default 1.0; 0 disables clipping (the norm is still reported). */
  max_grad_norm: number;
  /** Fraction of max_steps spent ramping the LR up linearly from 0. TRL default 0. */
  warmup_ratio: number;
  /** LR schedule after warmup. TRL default linear (decay to 0 at max_steps). */
  lr_scheduler_type: LrSchedulerType;
  /** AdamW decoupled weight decay. TRL default 0. */
  weight_decay: number;
  /** AdamW moments (transformers' defaults). */
  adam_beta1: number;
  adam_beta2: number;
  adam_epsilon: number;
  /** Seeds prompt order and sampling. TRL default 42. */
  seed: number;
  /** Steps the LR schedule spans. */
  max_steps: number;
  /** DAPO dynamic sampling: drop groups whose rewards are all equal (no signal) and resample. */
  drop_zero_std_groups: boolean;
  /** How many times to resample the dropped groups before training on what is left. */
  max_resample_rounds: number;
  /**
   * Rows (completions) per forward/backward pass of the update; gradients of the passes are summed
   * into one optimizer step, exactly equal to the whole batch at once. 0 = the whole batch in one
   * pass. Bounds activation memory (logits are rows × length × vocab), as TRL's
   * per_device_train_batch_size with gradient_accumulation_steps does.
   */
  micro_batch_size: number;
  /** Entropy bonus: loss −= entropy_coef × mean token entropy. 0 = off (TRL has no such knob). */
  entropy_coef: number;
  /**
   * Hard-problem scaffolding (SPARKLE): a group whose G completions all score ≤ 0 is re-rolled with
   * scaffold levels 1..4 (the first i chunks of the reference solution after the think-open tag).
   */
  scaffold_hard_problems: boolean;
}

export const DEFAULT_CONFIG: Readonly<GRPOConfig> = Object.freeze({
  num_generations: 8,
  // 4 × 8 = 32 completions a step: enough groups for a steady gradient, small enough for a laptop GPU.
  prompts_per_step: 4,
  // A few-million-parameter model moves visibly within tens of steps at this rate without diverging.
  learning_rate: 1e-4,
  beta: 0.0,
  epsilon: 0.2,
  epsilon_high: null,
  loss_type: 'dapo',
  scale_rewards: 'group',
  num_iterations: 1,
  // The toy world's reference traces take up to ~85 tokens (4 steps, embedded tokenizer); 96 cuts none of them.
  max_completion_length: 96,
  temperature: 1.0,
  top_p: 1.0,
  top_k: 0,
  mask_truncated_completions: false,
  reward_weights: null,
  max_grad_norm: 1.0,
  warmup_ratio: 0,
  // Constant rather than TRL's linear: a demo run has no fixed end, and decay would hide the effect.
  lr_scheduler_type: 'constant',
  weight_decay: 0,
  adam_beta1: 0.9,
  adam_beta2: 0.999,
  adam_epsilon: 1e-8,
  seed: 42,
  max_steps: 200,
  drop_zero_std_groups: false,
  max_resample_rounds: 2,
  micro_batch_size: 0,
  entropy_coef: 0,
  scaffold_hard_problems: false,
});

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

const KEYS = Object.keys(DEFAULT_CONFIG) as (keyof GRPOConfig)[];

/** The upper clip bound actually used. */
export function epsilonHigh(c: GRPOConfig): number {
  return c.epsilon_high ?? c.epsilon;
}

function num(key: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new ConfigError(key, `must be a finite number, got ${JSON.stringify(v)}`);
  }
  return v;
}

function int(key: string, v: unknown, min: number): number {
  const n = num(key, v);
  if (!Number.isInteger(n) || n < min) throw new ConfigError(key, `must be an integer ≥ ${min}, got ${n}`);
  return n;
}

function oneOf<T extends string>(key: string, v: unknown, allowed: readonly T[]): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new ConfigError(key, `must be one of ${allowed.join(', ')}; got ${JSON.stringify(v)}`);
  }
  return v as T;
}

function bool(key: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw new ConfigError(key, `must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

/**
 * Merge a patch over `base` (the defaults unless given) and check every value. Unknown keys are
 * refused rather than ignored: a misspelt knob that silently does nothing wastes a whole run.
 */
export function validateConfig(patch: Record<string, unknown> = {}, base: GRPOConfig = DEFAULT_CONFIG): GRPOConfig {
  for (const k of Object.keys(patch)) {
    if (!(KEYS as string[]).includes(k)) {
      throw new ConfigError(k, `unknown key; known keys are ${KEYS.join(', ')}`);
    }
  }
  const m: Record<string, unknown> = { ...base, ...patch };
  const c: GRPOConfig = {
    num_generations: int('num_generations', m.num_generations, 2),
    prompts_per_step: int('prompts_per_step', m.prompts_per_step, 1),
    learning_rate: num('learning_rate', m.learning_rate),
    beta: num('beta', m.beta),
    epsilon: num('epsilon', m.epsilon),
    epsilon_high: m.epsilon_high === null || m.epsilon_high === undefined ? null : num('epsilon_high', m.epsilon_high),
    loss_type: oneOf('loss_type', m.loss_type, LOSS_TYPES),
    scale_rewards: oneOf('scale_rewards', m.scale_rewards, SCALE_REWARDS),
    num_iterations: int('num_iterations', m.num_iterations, 1),
    max_completion_length: int('max_completion_length', m.max_completion_length, 1),
    temperature: num('temperature', m.temperature),
    top_p: num('top_p', m.top_p),
    top_k: int('top_k', m.top_k, 0),
    mask_truncated_completions: bool('mask_truncated_completions', m.mask_truncated_completions),
    reward_weights: null,
    max_grad_norm: num('max_grad_norm', m.max_grad_norm),
    warmup_ratio: num('warmup_ratio', m.warmup_ratio),
    lr_scheduler_type: oneOf('lr_scheduler_type', m.lr_scheduler_type, LR_SCHEDULER_TYPES),
    weight_decay: num('weight_decay', m.weight_decay),
    adam_beta1: num('adam_beta1', m.adam_beta1),
    adam_beta2: num('adam_beta2', m.adam_beta2),
    adam_epsilon: num('adam_epsilon', m.adam_epsilon),
    seed: int('seed', m.seed, 0),
    max_steps: int('max_steps', m.max_steps, 1),
    drop_zero_std_groups: bool('drop_zero_std_groups', m.drop_zero_std_groups),
    max_resample_rounds: int('max_resample_rounds', m.max_resample_rounds, 0),
    micro_batch_size: int('micro_batch_size', m.micro_batch_size, 0),
    entropy_coef: num('entropy_coef', m.entropy_coef),
    scaffold_hard_problems: bool('scaffold_hard_problems', m.scaffold_hard_problems),
  };
  if (m.reward_weights !== null && m.reward_weights !== undefined) {
    if (!Array.isArray(m.reward_weights)) throw new ConfigError('reward_weights', 'must be a list of numbers or null');
    c.reward_weights = m.reward_weights.map((w, i) => num(`reward_weights[${i}]`, w));
  }
  if (c.learning_rate < 0) throw new ConfigError('learning_rate', `must be ≥ 0, got ${c.learning_rate}`);
  if (c.beta < 0) throw new ConfigError('beta', `must be ≥ 0 (0 disables the KL term), got ${c.beta}`);
  if (c.epsilon <= 0 || c.epsilon >= 1) throw new ConfigError('epsilon', `must be in (0, 1), got ${c.epsilon}`);
  if (c.epsilon_high !== null && c.epsilon_high <= 0) {
    throw new ConfigError('epsilon_high', `must be > 0 or null (same as epsilon), got ${c.epsilon_high}`);
  }
  if (c.temperature <= 0) {
    throw new ConfigError('temperature', `must be > 0 for GRPO (greedy decoding gives G identical completions), got ${c.temperature}`);
  }
  if (c.top_p <= 0 || c.top_p > 1) throw new ConfigError('top_p', `must be in (0, 1], got ${c.top_p}`);
  if (c.max_grad_norm < 0) throw new ConfigError('max_grad_norm', `must be ≥ 0 (0 = no clipping), got ${c.max_grad_norm}`);
  if (c.warmup_ratio < 0 || c.warmup_ratio >= 1) throw new ConfigError('warmup_ratio', `must be in [0, 1), got ${c.warmup_ratio}`);
  if (c.weight_decay < 0) throw new ConfigError('weight_decay', `must be ≥ 0, got ${c.weight_decay}`);
  for (const k of ['adam_beta1', 'adam_beta2'] as const) {
    if (c[k] < 0 || c[k] >= 1) throw new ConfigError(k, `must be in [0, 1), got ${c[k]}`);
  }
  if (c.adam_epsilon <= 0) throw new ConfigError('adam_epsilon', `must be > 0, got ${c.adam_epsilon}`);
  if (c.entropy_coef < 0) throw new ConfigError('entropy_coef', `must be ≥ 0, got ${c.entropy_coef}`);
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
