/**
 * The GRPO knobs the page shows, under TRL's names, with one-line explanations, presets and
 * the share-as-URL encoding. Pure data and functions: the worker is the one that validates.
 */
import type { GrpoConfigPatch } from '../worker/protocol';
import { DEFAULT_CONFIG } from '../core/grpo/config';
import { SETTINGS, SETTING_NAMES, type Setting } from '../core/grpo/settings';

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

/** Derived from the engine's settings table: the same names, defaults, ranges and explanations. */
export const CONFIG_FIELDS: readonly ConfigField[] = SETTING_NAMES.filter((name) => !(SETTINGS[name] as Setting).hiddenInForm).map((name) => {
  const s: Setting = SETTINGS[name];
  const k = s.kind;
  const kind: FieldKind =
    k.type === 'optionalInt' ? { type: 'optionalFloat', min: k.min, max: k.max } : k.type === 'numberList' ? { type: 'optionalFloat', min: -1e9, max: 1e9 } : k;
  return { name, kind, defaultValue: DEFAULT_CONFIG[name] as ConfigValue, help: s.help, ...(s.tabzeroOnly ? { tabzeroOnly: true } : {}) };
});

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
    help: 'Measured on wasm (one CPU core): the base probe takes ~20 s, a step ~4 s, each probe ~20 s; plain accuracy on 192 held-out problems reads 29% → 45% at step 6 (intervals apart), +plan 24% → 38%, +knowledge 26% → 43%; by ~2 minutes (step 16) the 5-step mean reward has gone 0.59 → 0.73. At this learning rate the rise peaks around steps 12–18 and then falls back: use Student for a long run.',
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
