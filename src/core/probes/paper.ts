/**
 * SPARKLE's published figures ("Beyond Accuracy: Dissecting Mathematical Reasoning for LLMs
 * Under Reinforcement Learning", Wang et al., 2025, arXiv 2506.04723), for display beside ours.
 * Effects are accuracy changes in percentage points, averaged over the paper's benchmarks
 * (AIME24, AMC23, MATH500, GSM8K, OlympiadBench), Avg@k.
 */

export interface PaperEffect {
  model: string;
  /** acc(+plan) − acc(plain), percentage points. */
  planEffect: number;
  /** acc(+knowledge) − acc(plain), percentage points. */
  knowledgeEffect: number;
}

export const SPARKLE_CITATION = 'Wang et al., "Beyond Accuracy: Dissecting Mathematical Reasoning for LLMs Under Reinforcement Learning" (SPARKLE), arXiv:2506.04723, 2025';

/**
 * The average plan/knowledge effects as summarised in the project's design notes. They
 * could not be re-checked against the paper's tables from here, hence `verified: false`.
 */
export const SPARKLE_EFFECTS: { verified: boolean; rows: PaperEffect[] } = {
  verified: false,
  rows: [
    { model: 'Qwen2.5-Math-7B (base)', planEffect: -5.7, knowledgeEffect: -5.4 },
    { model: 'SparkleRL (RL-tuned)', planEffect: 1.6, knowledgeEffect: 4.3 },
  ],
};

/** Avg@8 accuracy (%) per benchmark, from the project's README (sparkle-reasoning/sparkle). */
export const SPARKLE_AVG8: { model: string; aime: number; amc: number; math500: number; gsm8k: number; olympiad: number; avg: number }[] = [
  { model: 'Qwen-2.5-Math-7B-Base', aime: 16.67, amc: 42.5, math500: 44.03, gsm8k: 42.53, olympiad: 28.65, avg: 35.23 },
  { model: 'SparkleRL-Stage 1', aime: 46.67, amc: 67.5, math500: 80.0, gsm8k: 91.77, olympiad: 39.11, avg: 65.01 },
  { model: 'SparkleRL-Stage 2 (Aug)', aime: 50.42, amc: 71.25, math500: 81.0, gsm8k: 92.38, olympiad: 40.11, avg: 67.03 },
];

/** The qualitative findings the toy world is meant to reproduce, in words for the probe panel. */
export const SPARKLE_FINDINGS: string[] = [
  'Handing the base model a plan or the knowledge lowers its accuracy.',
  'The RL-tuned model gains from knowledge and is barely changed by a plan.',
  'Solving every subproblem of a chain is much rarer than solving the whole problem.',
  'Hard problems help RL only with partial-solution scaffolding.',
];
