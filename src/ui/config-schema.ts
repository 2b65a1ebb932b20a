/**
 * The GRPO knobs the page shows, under TRL's names, with one-line explanations, presets and
 * the share-as-URL encoding. Pure data and functions: the worker is the one that validates.
 */
import type { GrpoConfigPatch } from '../worker/protocol';
import { DEFAULT_CONFIG, LR_SCHEDULER_TYPES, LOSS_TYPES, SCALE_REWARDS } from '../core/grpo/config';

export type FieldKind =
  | { type: 'int'; min: number; max: number }
  | { type: 'float'; min: number; max: number; step?: number }
  | { type: 'optionalFloat'; min: number; max: number }
  | { type: 'bool' }
  | { type: 'choice'; options: readonly string[] };

export interface ConfigField {
  name: string;
  kind: FieldKind;
  /** The engine's default (src/core/grpo/config.ts), which is TRL's except where the comment there says why not. */
  defaultValue: ConfigValue;
  help: string;
  /** A TabZero extension with no TRL counterpart (the TRL export leaves it out or comments it). */
  tabzeroOnly?: boolean;
}

export type ConfigValue = number | string | boolean | null;
export type GrpoFormConfig = Record<string, ConfigValue>;

export const CONFIG_FIELDS: readonly ConfigField[] = [
  { name: 'num_generations', kind: { type: 'int', min: 2, max: 64 }, defaultValue: DEFAULT_CONFIG.num_generations, help: 'Completions sampled per prompt (the group G); advantages compare within a group.' },
  { name: 'prompts_per_step', kind: { type: 'int', min: 1, max: 64 }, defaultValue: DEFAULT_CONFIG.prompts_per_step, help: 'Prompts per GRPO step; the batch is prompts_per_step × num_generations completions.', tabzeroOnly: true },
  { name: 'learning_rate', kind: { type: 'float', min: 0, max: 1, step: 1e-6 }, defaultValue: DEFAULT_CONFIG.learning_rate, help: 'AdamW peak step size (TRL’s 1e-6 suits billions of parameters; tiny models want ~1e-4).' },
  { name: 'max_steps', kind: { type: 'int', min: 1, max: 1_000_000 }, defaultValue: DEFAULT_CONFIG.max_steps, help: 'Steps the learning-rate schedule spans (training stops there).' },
  { name: 'beta', kind: { type: 'float', min: 0, max: 10, step: 0.01 }, defaultValue: DEFAULT_CONFIG.beta, help: 'Weight of the k3 KL penalty to the frozen reference model; 0 skips the reference.' },
  { name: 'epsilon', kind: { type: 'float', min: 0, max: 1, step: 0.01 }, defaultValue: DEFAULT_CONFIG.epsilon, help: 'Lower clip range: the ratio is kept above 1 − epsilon.' },
  { name: 'epsilon_high', kind: { type: 'optionalFloat', min: 0, max: 1 }, defaultValue: DEFAULT_CONFIG.epsilon_high, help: 'Upper clip range (DAPO clip-higher); empty means equal to epsilon.' },
  { name: 'loss_type', kind: { type: 'choice', options: LOSS_TYPES }, defaultValue: DEFAULT_CONFIG.loss_type, help: 'Token aggregation: per-sequence mean (grpo), per-batch tokens (bnpo/dapo) or fixed length (dr_grpo).' },
  { name: 'scale_rewards', kind: { type: 'choice', options: SCALE_REWARDS }, defaultValue: DEFAULT_CONFIG.scale_rewards, help: 'Divide advantages by the group std, the batch std, or not at all (Dr. GRPO).' },
  { name: 'num_iterations', kind: { type: 'int', min: 1, max: 16 }, defaultValue: DEFAULT_CONFIG.num_iterations, help: 'Optimisation passes over each batch of rollouts (μ); >1 makes clipping matter.' },
  { name: 'max_completion_length', kind: { type: 'int', min: 1, max: 4096 }, defaultValue: DEFAULT_CONFIG.max_completion_length, help: 'Most tokens sampled per completion; longer ones are cut (truncated).' },
  { name: 'temperature', kind: { type: 'float', min: 0, max: 5, step: 0.05 }, defaultValue: DEFAULT_CONFIG.temperature, help: 'Sampling temperature for rollouts; higher gives more varied groups.' },
  { name: 'top_p', kind: { type: 'float', min: 0, max: 1, step: 0.01 }, defaultValue: DEFAULT_CONFIG.top_p, help: 'Nucleus sampling: keep the smallest token set with this much probability; 1 is off.' },
  { name: 'top_k', kind: { type: 'int', min: 0, max: 100000 }, defaultValue: DEFAULT_CONFIG.top_k, help: 'Sample only among the k likeliest tokens; 0 is off.' },
  { name: 'mask_truncated_completions', kind: { type: 'bool' }, defaultValue: DEFAULT_CONFIG.mask_truncated_completions, help: 'Leave completions cut at max_completion_length out of the loss.' },
  { name: 'max_grad_norm', kind: { type: 'float', min: 0, max: 1000, step: 0.1 }, defaultValue: DEFAULT_CONFIG.max_grad_norm, help: 'Clip the global gradient norm to this value; 0 turns clipping off.' },
  { name: 'warmup_ratio', kind: { type: 'float', min: 0, max: 1, step: 0.01 }, defaultValue: DEFAULT_CONFIG.warmup_ratio, help: 'Fraction of steps over which the learning rate ramps up from 0.' },
  { name: 'lr_scheduler_type', kind: { type: 'choice', options: LR_SCHEDULER_TYPES }, defaultValue: DEFAULT_CONFIG.lr_scheduler_type, help: 'How the learning rate changes over the run after warm-up.' },
  { name: 'weight_decay', kind: { type: 'float', min: 0, max: 1, step: 0.01 }, defaultValue: DEFAULT_CONFIG.weight_decay, help: 'AdamW decoupled weight decay.' },
  { name: 'seed', kind: { type: 'int', min: 0, max: 2 ** 31 - 1 }, defaultValue: DEFAULT_CONFIG.seed, help: 'Seeds prompts and sampling: the same seed and backend give the same first rollouts.' },
  { name: 'drop_zero_std_groups', kind: { type: 'bool' }, defaultValue: DEFAULT_CONFIG.drop_zero_std_groups, help: 'Skip groups whose completions all got the same reward (they carry no signal).', tabzeroOnly: true },
  { name: 'max_resample_rounds', kind: { type: 'int', min: 0, max: 16 }, defaultValue: DEFAULT_CONFIG.max_resample_rounds, help: 'With dropping on: how many times to draw new prompts for dropped groups before training on what is left.', tabzeroOnly: true },
  { name: 'micro_batch_size', kind: { type: 'int', min: 0, max: 4096 }, defaultValue: DEFAULT_CONFIG.micro_batch_size, help: 'Completions per backward pass (gradients are summed); 0 = chosen at Start as the largest that fits the backend’s memory.', tabzeroOnly: true },
  { name: 'entropy_coef', kind: { type: 'float', min: 0, max: 1, step: 0.001 }, defaultValue: DEFAULT_CONFIG.entropy_coef, help: 'Bonus for token entropy, to keep exploration up; 0 is off.', tabzeroOnly: true },
  { name: 'scaffold_hard_problems', kind: { type: 'bool' }, defaultValue: DEFAULT_CONFIG.scaffold_hard_problems, help: 'Give hard problems part of the reference solution after <think> (the paper’s scaffolding).', tabzeroOnly: true },
];

const FIELD_BY_NAME = new Map(CONFIG_FIELDS.map((f) => [f.name, f]));

export function defaultConfig(): GrpoFormConfig {
  return Object.fromEntries(CONFIG_FIELDS.map((f) => [f.name, f.defaultValue]));
}

export interface Preset {
  id: 'lecture' | 'student' | 'researcher';
  label: string;
  help: string;
  values: GrpoFormConfig;
  probeEvery: number;
  /** Held-out problems per probe (the start command's probeCount): large enough that a change shows beyond its interval. */
  probeCount: number;
}

export const PRESETS: readonly Preset[] = [
  {
    id: 'lecture',
    label: 'Lecture demo',
    help: 'Measured on wasm (one CPU core): the base probe takes ~30 s, 6 steps ~40 s, the step-6 probe ~25 s; then plain accuracy on 192 held-out problems reads 29% → 45% (intervals apart), +plan 24% → 38%, +knowledge 26% → 43%. The reward line is noisy at this batch (±0.13 step to step) and shows no clear trend in the first 2 minutes.',
    values: { num_generations: 4, prompts_per_step: 16, learning_rate: 2e-4, beta: 0, max_completion_length: 96, temperature: 1, loss_type: 'dapo', scale_rewards: 'group', num_iterations: 1, warmup_ratio: 0, lr_scheduler_type: 'constant' },
    probeEvery: 6,
    probeCount: 192,
  },
  {
    id: 'student',
    label: 'Student',
    help: 'The README’s measured run on the embedded model (docs/grpo-run-config.json); change one knob at a time and watch the effect.',
    values: { num_generations: 8, prompts_per_step: 16, learning_rate: 5e-5, beta: 0, max_completion_length: 128, temperature: 1, loss_type: 'dapo', scale_rewards: 'group', num_iterations: 1, warmup_ratio: 0, lr_scheduler_type: 'constant' },
    probeEvery: 10,
    probeCount: 96,
  },
  {
    id: 'researcher',
    label: 'Researcher',
    help: 'TRL-like defaults with a KL penalty and DAPO clip-higher, for real Hub models.',
    values: { num_generations: 8, prompts_per_step: 8, learning_rate: 1e-6, beta: 0.04, epsilon: 0.2, epsilon_high: 0.28, max_completion_length: 256, temperature: 1, loss_type: 'dapo', scale_rewards: 'group', num_iterations: 2, warmup_ratio: 0.1, lr_scheduler_type: 'cosine', max_grad_norm: 1 },
    probeEvery: 20,
    probeCount: 64,
  },
];

export function applyPreset(id: Preset['id']): { config: GrpoFormConfig; probeEvery: number } {
  const preset = PRESETS.find((p) => p.id === id);
  if (!preset) throw new ConfigValueError('preset', id, `unknown preset; pick one of ${PRESETS.map((p) => p.id).join(', ')}`);
  return { config: { ...defaultConfig(), ...preset.values }, probeEvery: preset.probeEvery };
}

export class ConfigValueError extends Error {
  constructor(
    readonly field: string,
    readonly raw: string,
    reason: string,
  ) {
    super(`${field} = "${raw}": ${reason}`);
    this.name = 'ConfigValueError';
  }
}

/** Parses a form or URL string into the field's type; throws ConfigValueError with a fixable reason. */
export function parseFieldValue(name: string, raw: string): ConfigValue {
  const field = FIELD_BY_NAME.get(name);
  if (!field) throw new ConfigValueError(name, raw, 'not a GRPO setting TabZero knows');
  const k = field.kind;
  const text = raw.trim();
  switch (k.type) {
    case 'bool':
      if (text === 'true' || text === '1') return true;
      if (text === 'false' || text === '0') return false;
      throw new ConfigValueError(name, raw, 'expected true or false');
    case 'choice':
      if (k.options.includes(text)) return text;
      throw new ConfigValueError(name, raw, `expected one of ${k.options.join(', ')}`);
    case 'optionalFloat':
    case 'int':
    case 'float': {
      if (k.type === 'optionalFloat' && (text === '' || text === 'null' || text === 'None')) return null;
      const v = Number(text);
      if (text === '' || !Number.isFinite(v)) throw new ConfigValueError(name, raw, 'expected a number');
      if (k.type === 'int' && !Number.isInteger(v)) throw new ConfigValueError(name, raw, 'expected a whole number');
      if (v < k.min || v > k.max) throw new ConfigValueError(name, raw, `expected a value between ${k.min} and ${k.max}`);
      return v;
    }
  }
}

export function formatFieldValue(v: ConfigValue): string {
  return v === null ? '' : String(v);
}

/** The config as the worker's patch: only the keys the page knows, values as typed. */
export function toPatch(config: GrpoFormConfig): GrpoConfigPatch {
  const out: GrpoConfigPatch = {};
  for (const f of CONFIG_FIELDS) {
    const v = config[f.name];
    out[f.name] = v === undefined ? f.defaultValue : v;
  }
  return out;
}

/** The form's view of an engine config (a resumed run's saved knobs): unknown keys are left out. */
export function fromEngineConfig(config: GrpoConfigPatch): GrpoFormConfig {
  const out = defaultConfig();
  for (const f of CONFIG_FIELDS) {
    const v = config[f.name];
    if (v !== undefined && !Array.isArray(v)) out[f.name] = v;
  }
  return out;
}

export interface SharedSettings {
  config: GrpoFormConfig;
  probeEvery: number;
  preset?: Preset['id'];
  task?: string;
}

/**
 * Encodes the settings that differ from the defaults into a URL hash, so a shared link is short
 * and stays readable ("#learning_rate=0.0003&max_completion_length=48").
 */
export function encodeSettingsHash(s: SharedSettings): string {
  const params = new URLSearchParams();
  if (s.preset) params.set('preset', s.preset);
  const base = s.preset ? applyPreset(s.preset) : { config: defaultConfig(), probeEvery: DEFAULT_PROBE_EVERY };
  for (const f of CONFIG_FIELDS) {
    const v = s.config[f.name];
    if (v !== undefined && v !== base.config[f.name]) params.set(f.name, v === null ? 'null' : String(v));
  }
  if (s.probeEvery !== base.probeEvery) params.set('probe_every', String(s.probeEvery));
  if (s.task) params.set('task', s.task);
  const text = params.toString();
  return text ? `#${text}` : '';
}

export const DEFAULT_PROBE_EVERY = 10;

export interface DecodedSettings extends SharedSettings {
  /** Entries that could not be read, so the page can say which part of a link was ignored. */
  errors: ConfigValueError[];
}

export function decodeSettingsHash(hash: string): DecodedSettings {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const errors: ConfigValueError[] = [];
  let preset: Preset['id'] | undefined;
  const presetRaw = params.get('preset');
  let base = { config: defaultConfig(), probeEvery: DEFAULT_PROBE_EVERY };
  if (presetRaw !== null) {
    try {
      base = applyPreset(presetRaw as Preset['id']);
      preset = presetRaw as Preset['id'];
    } catch (e) {
      if (e instanceof ConfigValueError) errors.push(e);
      else throw e;
    }
  }
  const config = { ...base.config };
  let probeEvery = base.probeEvery;
  let task: string | undefined;
  for (const [key, raw] of params) {
    if (key === 'preset') continue;
    if (key === 'task') {
      task = raw;
      continue;
    }
    if (key === 'probe_every') {
      const v = Number(raw);
      if (Number.isInteger(v) && v >= 0) probeEvery = v;
      else errors.push(new ConfigValueError(key, raw, 'expected a whole number ≥ 0'));
      continue;
    }
    try {
      config[key] = parseFieldValue(key, raw);
    } catch (e) {
      if (e instanceof ConfigValueError) errors.push(e);
      else throw e;
    }
  }
  return { config, probeEvery, preset, task, errors };
}
