/**
 * The one table of GRPO settings. The config type, the defaults, the validator (src/core/grpo/config.ts),
 * the page's form (src/ui/config-schema.ts) and the TRL export all derive from it, so a setting
 * is added, ranged and explained once. Names and defaults are TRL's GRPOConfig's; where TabZero's
 * default differs, `why` says why; `tabzeroOnly` marks settings TRL has no counterpart for.
 */

/** The largest micro_batch_size the settings accept (and so the largest the memory plan picks). */
export const MICRO_BATCH_MAX = 4096;

export type SettingKind =
  | { type: 'int'; min: number; max: number }
  | { type: 'float'; min: number; max: number; step?: number }
  /** A number, or null for "unset" (TRL's None). */
  | { type: 'optionalFloat'; min: number; max: number }
  /** As optionalFloat, for whole numbers. */
  | { type: 'optionalInt'; min: number; max: number }
  | { type: 'bool' }
  | { type: 'choice'; options: readonly string[]; aliases?: Readonly<Record<string, string>> }
  | { type: 'numberList' };

export interface Setting<K extends SettingKind = SettingKind, V = unknown> {
  kind: K;
  default: V;
  /** One line for the form. */
  help: string;
  /** Why the default differs from TRL's, where it does. */
  why?: string;
  /** TabZero only: the TRL export comments it out. */
  tabzeroOnly?: boolean;
  /** Not in the page's settings form (set elsewhere in the page, or rarely touched). */
  hiddenInForm?: boolean;
}

const int = (min: number, max: number) => ({ type: 'int', min, max }) as const;
const float = (min: number, max: number, step?: number) => ({ type: 'float', min, max, ...(step !== undefined ? { step } : {}) }) as const;
const choice = <const O extends readonly string[]>(options: O, aliases?: Record<string, O[number]>) => ({ type: 'choice', options, ...(aliases ? { aliases } : {}) }) as const;
const bool = { type: 'bool' } as const;

export const LOSS_TYPES = ['grpo', 'bnpo', 'dr_grpo', 'dapo', 'cispo', 'sapo'] as const;
export const SCALE_REWARDS = ['group', 'batch', 'none'] as const;
export const LR_SCHEDULER_TYPES = ['constant', 'linear', 'cosine'] as const;
export const IMPORTANCE_SAMPLING_LEVELS = ['token', 'sequence'] as const;
export const MULTI_OBJECTIVE_AGGREGATIONS = ['sum_then_normalize', 'normalize_then_sum'] as const;
export const ADVANTAGE_ESTIMATORS = ['grpo', 'rloo', 'reinforce_pp'] as const;

export const SETTINGS = {
  num_generations: { kind: int(2, 256), default: 8, help: 'Completions sampled per prompt (the group G); advantages compare within a group.' },
  prompts_per_step: { kind: int(1, 1024), default: 4, tabzeroOnly: true, help: 'Prompts per GRPO step; the batch is prompts_per_step × num_generations completions.', why: '4 × 8 = 32 completions a step: a steady gradient that fits a laptop GPU.' },
  learning_rate: { kind: float(0, 1, 1e-6), default: 1e-4, help: 'AdamW peak step size (TRL’s 1e-6 suits billions of parameters; tiny models want ~1e-4).', why: 'a few-million-parameter model moves visibly within tens of steps at 1e-4 without diverging' },
  max_steps: { kind: int(1, 1_000_000), default: 200, help: 'Steps the learning-rate schedule spans (training stops there).' },
  beta: { kind: float(0, 10, 0.01), default: 0, help: 'Weight of the k3 KL penalty to the frozen reference model; 0 skips the reference.' },
  epsilon: { kind: float(0.001, 0.999, 0.01), default: 0.2, help: 'Lower clip range: the ratio is kept above 1 − epsilon.' },
  epsilon_high: { kind: { type: 'optionalFloat', min: 0.001, max: 10 }, default: null as number | null, help: 'Upper clip range (DAPO clip-higher; for cispo the cap on the ratio itself); empty means equal to epsilon.' },
  delta: { kind: { type: 'optionalFloat', min: 1, max: 100 }, default: null as number | null, help: 'Two-sided clipping: the ratio is also capped at delta where the advantage is negative; empty is off.' },
  loss_type: { kind: choice(LOSS_TYPES), default: 'dapo' as (typeof LOSS_TYPES)[number], help: 'Token aggregation and objective: grpo (per-sequence mean), bnpo/dapo (per token), dr_grpo (fixed length), cispo (clipped IS weights), sapo (soft gate).' },
  importance_sampling_level: { kind: choice(IMPORTANCE_SAMPLING_LEVELS), default: 'token' as (typeof IMPORTANCE_SAMPLING_LEVELS)[number], help: 'Importance ratio per token, or one per sequence (the geometric mean: GSPO).' },
  scale_rewards: { kind: choice(SCALE_REWARDS, { true: 'group', false: 'none' }), default: 'group' as (typeof SCALE_REWARDS)[number], help: 'Divide advantages by the group std, the batch std, or not at all (Dr. GRPO); true = group, false = none.' },
  advantage_estimator: { kind: choice(ADVANTAGE_ESTIMATORS), default: 'grpo' as (typeof ADVANTAGE_ESTIMATORS)[number], tabzeroOnly: true, help: 'Baseline: the group mean (grpo), the mean of the other completions (rloo), or the group mean then batch whitening (reinforce_pp).' },
  multi_objective_aggregation: { kind: choice(MULTI_OBJECTIVE_AGGREGATIONS), default: 'sum_then_normalize' as (typeof MULTI_OBJECTIVE_AGGREGATIONS)[number], help: 'Sum the weighted rewards then normalise, or normalise each reward within its group first (GDPO) then sum.' },
  num_iterations: { kind: int(1, 16), default: 1, help: 'Optimisation passes over each batch of rollouts (μ); >1 makes clipping matter.' },
  steps_per_generation: { kind: { type: 'optionalInt', min: 1, max: 64 }, default: null as number | null, help: 'Slices each generated batch is cut into, one optimizer step per gradient_accumulation_steps slices; empty = gradient_accumulation_steps.' },
  gradient_accumulation_steps: { kind: int(1, 64), default: 1, help: 'Slices whose gradients are summed into one optimizer step.' },
  max_completion_length: { kind: int(1, 8192), default: 96, help: 'Most tokens sampled per completion; longer ones are cut (truncated).', why: 'the toy world’s reference traces take up to ~85 tokens; 96 cuts none of them' },
  temperature: { kind: float(0.01, 5, 0.05), default: 1, help: 'Sampling temperature for rollouts; higher gives more varied groups (0 would give G identical completions).' },
  top_p: { kind: float(0.01, 1, 0.01), default: 1, help: 'Nucleus sampling: keep the smallest token set with this much probability; 1 is off.' },
  top_k: { kind: int(0, 1_000_000), default: 0, help: 'Sample only among the k likeliest tokens; 0 is off.' },
  min_p: { kind: { type: 'optionalFloat', min: 0, max: 1 }, default: null as number | null, help: 'Drop tokens less likely than min_p × the likeliest token’s probability; empty is off.' },
  repetition_penalty: { kind: float(0.1, 10, 0.05), default: 1, help: 'Penalise tokens already in the prompt or completion (>1 discourages repeats); 1 is off.' },
  mask_truncated_completions: { kind: bool, default: false, help: 'Leave completions cut at max_completion_length out of the loss.' },
  top_entropy_quantile: { kind: float(0.01, 1, 0.01), default: 1, help: 'Train only on the tokens whose entropy is in this top fraction of the batch; 1 trains on all.' },
  use_bias_correction_kl: { kind: bool, default: false, help: 'Weight the KL term by the importance ratio (unbiased when μ > 1).' },
  sapo_temperature_pos: { kind: float(0.01, 100, 0.05), default: 1, help: 'sapo: steepness of the soft gate for positive advantages.' },
  sapo_temperature_neg: { kind: float(0.01, 100, 0.05), default: 1.05, help: 'sapo: steepness of the soft gate for negative advantages.' },
  sync_ref_model: { kind: bool, default: false, help: 'Move the KL reference toward the policy every ref_model_sync_steps optimizer steps (needs beta > 0).' },
  ref_model_mixup_alpha: { kind: float(0, 1, 0.05), default: 0.6, help: 'sync_ref_model: reference ← α·policy + (1 − α)·reference.' },
  ref_model_sync_steps: { kind: int(1, 100_000), default: 512, help: 'sync_ref_model: optimizer steps between reference updates.' },
  reward_weights: { hiddenInForm: true, kind: { type: 'numberList' }, default: null as number[] | null, help: 'One weight per reward function, in order; empty = all 1.' },
  max_grad_norm: { kind: float(0, 1000, 0.1), default: 1, help: 'Clip the global gradient norm to this value; 0 turns clipping off.' },
  warmup_ratio: { kind: float(0, 0.99, 0.01), default: 0, help: 'Fraction of steps over which the learning rate ramps up from 0.' },
  lr_scheduler_type: { kind: choice(LR_SCHEDULER_TYPES), default: 'constant' as (typeof LR_SCHEDULER_TYPES)[number], help: 'How the learning rate changes over the run after warm-up.', why: 'a demo run has no fixed end, and TRL’s linear decay would hide the effect' },
  weight_decay: { kind: float(0, 1, 0.01), default: 0, help: 'AdamW decoupled weight decay.' },
  adam_beta1: { hiddenInForm: true, kind: float(0, 0.999999, 0.001), default: 0.9, help: 'AdamW first-moment decay.' },
  adam_beta2: { hiddenInForm: true, kind: float(0, 0.999999, 0.001), default: 0.999, help: 'AdamW second-moment decay.' },
  adam_epsilon: { hiddenInForm: true, kind: float(1e-12, 1, 1e-8), default: 1e-8, help: 'AdamW denominator guard.' },
  seed: { kind: int(0, 2 ** 31 - 1), default: 42, help: 'Seeds prompts and sampling: the same seed and backend give the same first rollouts.' },
  drop_zero_std_groups: { kind: bool, default: false, tabzeroOnly: true, help: 'Skip groups whose completions all got the same reward (they carry no signal).' },
  max_resample_rounds: { kind: int(0, 16), default: 2, tabzeroOnly: true, help: 'With dropping on: how many times to draw new prompts for dropped groups before training on what is left.' },
  micro_batch_size: { kind: int(0, MICRO_BATCH_MAX), default: 0, tabzeroOnly: true, help: 'Completions per backward pass (gradients are summed, the result is the same); 0: in the app and CLI, chosen at Start as the largest that fits the backend’s memory.' },
  entropy_coef: { kind: float(0, 1, 0.001), default: 0, tabzeroOnly: true, help: 'Entropy bonus: the loss minus entropy_coef × the mean token entropy; 0 is off.' },
  scaffold_hard_problems: { kind: bool, default: false, tabzeroOnly: true, help: 'Give hard problems part of the reference solution after <think> (the paper’s scaffolding).' },
} as const satisfies Record<string, Setting>;

type ValueOf<K> = K extends { type: 'int' | 'float' }
  ? number
  : K extends { type: 'optionalFloat' | 'optionalInt' }
    ? number | null
    : K extends { type: 'bool' }
      ? boolean
      : K extends { type: 'numberList' }
        ? number[] | null
        : K extends { type: 'choice'; options: readonly (infer O)[] }
          ? O
          : never;

/** The validated config: one field per setting, typed by its kind. */
export type SettingsValues = { -readonly [K in keyof typeof SETTINGS]: ValueOf<(typeof SETTINGS)[K]['kind']> };
export type SettingName = keyof typeof SETTINGS;
export const SETTING_NAMES = Object.keys(SETTINGS) as SettingName[];
