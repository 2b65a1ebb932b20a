/**
 * The named experiments: SPARKLE's four findings as seeded recipes. A recipe is a list of arms;
 * an arm starts from the base model or from a Stage-1 checkpoint (a short RL run made once per
 * seed), optionally trains, and is probed. Everything here is data, so the app can list the
 * recipes and their commands without running anything.
 */
import type { GRPOConfig } from '../grpo/config';

export type ExperimentName = 'plan-knowledge' | 'decomposition' | 'hard-problems' | 'reward-shape';

/** Which prompts the trainer renders for a problem: weights of plain, +plan, +knowledge. */
export interface PromptMix {
  plain: number;
  plan: number;
  knowledge: number;
}

/** Where an arm's training problems come from. */
export type ProblemPool =
  /** The task's ordinary training sampler (all difficulties). */
  | 'all'
  /** The hard set only (Stage 2). */
  | 'hard'
  /** Half hard, half ordinary. */
  | 'hard-mix'
  /** The hard set with the paper's static partial-solution augmentation (each + 4 prefixes). */
  | 'hard-augmented';

export interface ArmTraining {
  /** 'stage1': the recipe's --steps; 'stage2': its stage-2 steps. */
  length: 'stage1' | 'stage2';
  pool: ProblemPool;
  mix: PromptMix;
  rewards: { name: string; weight: number }[];
  config?: Partial<GRPOConfig>;
}

export interface ArmSpec {
  id: string;
  label: string;
  from: 'base' | 'stage1';
  /** Absent: probe the starting model as it is. */
  train?: ArmTraining;
}

export interface RecipeDefaults {
  seeds: number;
  steps: number;
  stage2Steps: number;
  probeN: number;
}

export interface Recipe {
  name: ExperimentName;
  title: string;
  /** The paper's question, in a sentence. */
  question: string;
  /** The paper's answer, in the paper's metric, with its source. */
  paper: string;
  arms: ArmSpec[];
  /** Probe figures the table leads with. */
  focus: (
    | 'plain'
    | 'plan'
    | 'knowledge'
    | 'subproblems'
    | 'planEffect'
    | 'knowledgeEffect'
    | 'subproblemGap'
    | 'greedyPlain'
    | 'plainGain'
    | 'planEffectShift'
    | 'knowledgeEffectShift'
  )[];
  defaults: RecipeDefaults;
}

export const PLAIN: PromptMix = { plain: 1, plan: 0, knowledge: 0 };
export const EQUAL_MIX: PromptMix = { plain: 1, plan: 1, knowledge: 1 };
export const DEFAULT_REWARDS = [
  { name: 'correctness', weight: 1 },
  { name: 'format', weight: 0.2 },
];

const STAGE1: ArmTraining = { length: 'stage1', pool: 'all', mix: PLAIN, rewards: DEFAULT_REWARDS };

export const RECIPES: Record<ExperimentName, Recipe> = {
  'plan-knowledge': {
    name: 'plan-knowledge',
    title: 'Plan and knowledge effects: base vs RL',
    question: 'Does a plan or the needed facts in the prompt help the model, and does RL turn a negative effect positive? Under which training mix?',
    paper: 'Plan effect −5.66 (base) → +1.56 (SparkleRL-Stage 1); knowledge effect −5.44 → +4.34 (Avg@8, T = 0.6).',
    arms: [
      { id: 'base', label: 'base model', from: 'base' },
      { id: 'rl-plain', label: 'RL on plain prompts', from: 'base', train: STAGE1 },
      { id: 'rl-mix', label: 'RL on ⅓ plain, ⅓ +plan, ⅓ +knowledge', from: 'base', train: { ...STAGE1, mix: EQUAL_MIX } },
    ],
    focus: ['plain', 'planEffect', 'knowledgeEffect', 'planEffectShift', 'knowledgeEffectShift', 'plainGain'],
    defaults: { seeds: 3, steps: 16, stage2Steps: 0, probeN: 32 },
  },
  decomposition: {
    name: 'decomposition',
    title: 'Decomposition: subproblem success vs plain accuracy',
    question: 'Is solving every subproblem of a chain rarer than solving the whole problem, before and after RL?',
    paper: 'Plain 35.2 → subproblems 18.6 (base); 65.0 → 45.5 (SparkleRL-Stage 1); 67.0 → 48.6 (Stage 2) (Avg@8, T = 0.6).',
    arms: [
      { id: 'base', label: 'base model', from: 'base' },
      { id: 'rl-plain', label: 'RL on plain prompts', from: 'base', train: STAGE1 },
    ],
    focus: ['plain', 'subproblems', 'subproblemGap', 'greedyPlain'],
    defaults: { seeds: 3, steps: 16, stage2Steps: 0, probeN: 32 },
  },
  'hard-problems': {
    name: 'hard-problems',
    title: 'Stage 2 on hard problems',
    question: 'From a Stage-1 checkpoint, does more RL on hard problems help, and only with partial-solution scaffolding?',
    paper: 'Stage 1 65.01; Stage 2 hard-only 63.59, mixed 63.12, hard + partial-solution augmentation 67.03 (Avg@8, T = 0.6).',
    arms: [
      { id: 'stage1', label: 'Stage-1 checkpoint', from: 'stage1' },
      { id: 'hard-only', label: 'Stage 2: hard only', from: 'stage1', train: { ...STAGE1, length: 'stage2', pool: 'hard' } },
      { id: 'hard-mix', label: 'Stage 2: ½ hard, ½ ordinary', from: 'stage1', train: { ...STAGE1, length: 'stage2', pool: 'hard-mix' } },
      { id: 'hard-augmented', label: 'Stage 2: hard + 4 partial solutions (static, paper)', from: 'stage1', train: { ...STAGE1, length: 'stage2', pool: 'hard-augmented' } },
      {
        id: 'hard-online',
        label: 'Stage 2: hard, online scaffolding (scaffold_hard_problems)',
        from: 'stage1',
        train: { ...STAGE1, length: 'stage2', pool: 'hard', config: { scaffold_hard_problems: true } },
      },
    ],
    focus: ['plain', 'plainGain', 'greedyPlain', 'planEffect', 'knowledgeEffect'],
    defaults: { seeds: 2, steps: 8, stage2Steps: 6, probeN: 24 },
  },
  'reward-shape': {
    name: 'reward-shape',
    title: 'Reward shape: correctness vs hierarchical',
    question: "Does SPARKLE's −1 / 0 (I don't know) / +1 / +2 reward train differently from plain correctness?",
    paper: 'SPARKLE trains with −1 wrong, 0 "I don\'t know", +1 right with bad format, +2 right and well formatted; it reports no ablation against plain correctness.',
    arms: [
      { id: 'base', label: 'base model', from: 'base' },
      { id: 'rl-correctness', label: 'RL, reward = correctness (1/0)', from: 'base', train: { ...STAGE1, rewards: [{ name: 'correctness', weight: 1 }] } },
      { id: 'rl-hierarchical', label: 'RL, reward = hierarchical (−1/0/+1/+2)', from: 'base', train: { ...STAGE1, rewards: [{ name: 'hierarchical', weight: 1 }] } },
    ],
    focus: ['plain', 'greedyPlain', 'planEffect', 'knowledgeEffect'],
    defaults: { seeds: 3, steps: 16, stage2Steps: 0, probeN: 32 },
  },
};

export const EXPERIMENT_NAMES = Object.keys(RECIPES) as ExperimentName[];

/** How big a run is: what the CLI's flags and the app's form set. */
export interface ExperimentSize {
  seeds: number;
  steps: number;
  stage2Steps: number;
  probeN: number;
  /** Avg@k's k. */
  samples: number;
}

/**
 * 'full': the recipe's defaults (the README's figures). 'quick': one seed, a few steps and a small
 * probe set, so a lecture can watch a recipe finish on wasm in a few minutes; its intervals are
 * wide, and the view says so.
 */
export function recipeSize(name: ExperimentName, size: 'full' | 'quick'): ExperimentSize {
  const d = RECIPES[name].defaults;
  if (size === 'full') return { ...d, samples: 8 };
  return { seeds: 1, steps: Math.min(d.steps, 4), stage2Steps: Math.min(d.stage2Steps, 3), probeN: Math.min(d.probeN, 12), samples: 4 };
}

/** The GRPO settings every recipe shares (the documented run's, with fewer prompts per step to fit the budget). */
export const EXPERIMENT_GRPO: Partial<GRPOConfig> = {
  num_generations: 8,
  prompts_per_step: 8,
  // Long scaffolded prompts (a whole solution after <think>) exhaust wasm's memory at 64 rows at once.
  micro_batch_size: 16,
  learning_rate: 5e-5,
  beta: 0,
  max_completion_length: 128,
  loss_type: 'dapo',
  temperature: 1,
};

export class ExperimentError extends Error {
  override name = 'ExperimentError';
}

export function recipe(name: string): Recipe {
  const r = (RECIPES as Record<string, Recipe | undefined>)[name];
  if (!r) throw new ExperimentError(`Unknown experiment '${name}'. Available: ${EXPERIMENT_NAMES.join(', ')}.`);
  return r;
}

/** The command line that runs a recipe with its defaults. */
export function recipeCommand(name: ExperimentName, out = `runs/${name}`): string {
  return `npx tabzero experiment ${name} --out ${out}`;
}
