/**
 * SPARKLE's published figures ("Beyond Accuracy: Dissecting Mathematical Reasoning for LLMs
 * Under Reinforcement Learning", Wang et al., 2025, arXiv 2506.04723), for display beside ours.
 * Every figure is Avg@8 sampled at temperature 0.6 on Qwen2.5-Math-7B and its RL-tuned versions,
 * averaged over AIME24, AMC23, MATH500, GSM8K and OlympiadBench, in percentage points.
 * Source: the authors' project page (sparkle-reasoning.github.io) and code and README
 * (github.com/sparkle-reasoning/sparkle), as checked against both by the issue that asked for them;
 * they could not be re-checked from this project's machines (no network).
 */

export const SPARKLE_CITATION = 'Wang et al., "Beyond Accuracy: Dissecting Mathematical Reasoning for LLMs Under Reinforcement Learning" (SPARKLE), arXiv:2506.04723, 2025';
export const SPARKLE_SOURCE = 'sparkle-reasoning.github.io and github.com/sparkle-reasoning/sparkle';
/** The metric every SPARKLE figure below is in. */
export const SPARKLE_METRIC = 'Avg@8, sampled at temperature 0.6';

export interface PaperEffect {
  model: string;
  /** acc(+plan) − acc(plain), percentage points. */
  planEffect: number;
  /** acc(+knowledge) − acc(plain), percentage points. */
  knowledgeEffect: number;
}

export const SPARKLE_EFFECTS: { verified: boolean; source: string; metric: string; rows: PaperEffect[] } = {
  verified: true,
  source: SPARKLE_SOURCE,
  metric: SPARKLE_METRIC,
  rows: [
    { model: 'Qwen2.5-Math-7B (base)', planEffect: -5.66, knowledgeEffect: -5.44 },
    { model: 'SparkleRL-Stage 1', planEffect: 1.56, knowledgeEffect: 4.34 },
    { model: 'SparkleRL-Stage 2 (Aug)', planEffect: 0.9, knowledgeEffect: 4.24 },
  ],
};

/** Plain accuracy beside subproblem-chain success (every subproblem right), percent. */
export const SPARKLE_SUBPROBLEMS: { model: string; plain: number; subproblems: number }[] = [
  { model: 'Qwen2.5-Math-7B (base)', plain: 35.2, subproblems: 18.6 },
  { model: 'SparkleRL-Stage 1', plain: 65.0, subproblems: 45.5 },
  { model: 'SparkleRL-Stage 2 (Aug)', plain: 67.0, subproblems: 48.6 },
];

/** Stage 2 on hard problems, average accuracy (%), against the Stage-1 model it starts from. */
export const SPARKLE_STAGE2: { arm: string; avg: number }[] = [
  { arm: 'SparkleRL-Stage 1 (start)', avg: 65.01 },
  { arm: 'Stage 2: hard problems only', avg: 63.59 },
  { arm: 'Stage 2: mixed difficulty', avg: 63.12 },
  { arm: 'Stage 2: hard + partial-solution augmentation', avg: 67.03 },
];

/** Avg@8 accuracy (%) per benchmark, from the project's README (sparkle-reasoning/sparkle). */
export const SPARKLE_AVG8: { model: string; aime: number; amc: number; math500: number; gsm8k: number; olympiad: number; avg: number }[] = [
  { model: 'Qwen-2.5-Math-7B-Base', aime: 16.67, amc: 42.5, math500: 44.03, gsm8k: 42.53, olympiad: 28.65, avg: 35.23 },
  { model: 'SparkleRL-Stage 1', aime: 46.67, amc: 67.5, math500: 80.0, gsm8k: 91.77, olympiad: 39.11, avg: 65.01 },
  { model: 'SparkleRL-Stage 2 (Aug)', aime: 50.42, amc: 71.25, math500: 81.0, gsm8k: 92.38, olympiad: 40.11, avg: 67.03 },
];

/** SPARKLE's training recipe, for the experiments' notes: GRPO in verl. */
export const SPARKLE_TRAINING = {
  samplesPerPrompt: 32,
  promptsPerBatch: 128,
  learningRate: 1e-6,
  klLoss: 'low_var_kl',
  klCoefStage1: 0.001,
  klCoefStage2: 0.01,
  temperature: 0.6,
  reward: '−1 wrong, 0 "I don\'t know", +1 right with bad format, +2 right and well formatted',
};

/** The qualitative findings the toy world is meant to reproduce, in words for the probe panel. */
export const SPARKLE_FINDINGS: string[] = [
  'Handing the base model a plan or the knowledge lowers its accuracy.',
  'The RL-tuned model gains from knowledge and is barely changed by a plan (it still loses with a plan on the hardest set, AIME).',
  'Solving every subproblem of a chain is much rarer than solving the whole problem.',
  'Stage 2 on hard problems beats Stage 1 only with partial-solution scaffolding.',
];
