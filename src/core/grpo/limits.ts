/**
 * Checks made before a rollout allocates anything: every prompt plus max_completion_length fits the
 * model's positions, and the step's working memory is not absurd. A step that cannot work is
 * refused with what to lower, instead of failing deep inside a kernel ("Invalid typed array
 * length", "Maximum call stack size exceeded") or decoding past the positions the model knows.
 */
import type { ModelConfig } from '../model/types';
import type { Problem } from '../types';
import { ConfigError, type GRPOConfig } from './config';

/**
 * No backend here can hold more in one step: wasm32 addresses 4 GiB, and browsers cap a WebGPU
 * buffer well below that. A rough upper bound for refusing, not a planner.
 */
export const STEP_MEMORY_LIMIT_BYTES = 16 * 1024 ** 3;

/** Completions per rollout beyond which no backend here keeps even the per-row state of decoding. */
export const MAX_ROLLOUT_ROWS = 65_536;

function gib(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
}

/**
 * Float32 bytes a step needs at its peak, roughly: the rollout's KV cache and one step of logits,
 * or the update's logits and activations for one micro-batch (whichever is larger).
 */
export function estimateStepBytes(mc: ModelConfig, rows: number, microRows: number, seqLen: number): number {
  const kv = 2 * mc.numLayers * rows * seqLen * mc.numKvHeads * mc.headDim;
  const rolloutLogits = rows * mc.vocabSize;
  // Per token of the update: logits (and their gradient), plus each layer's saved activations.
  const perToken = 2 * mc.vocabSize + mc.numLayers * (6 * mc.hiddenSize + 3 * mc.intermediateSize);
  const update = microRows * seqLen * perToken;
  return 4 * Math.max(kv + rolloutLogits, update);
}

export function checkRolloutFits(mc: ModelConfig, cfg: GRPOConfig, prompts: { problem: Problem; ids: number[] }[]): void {
  const maxNew = cfg.max_completion_length;
  const context = mc.maxPositionEmbeddings;
  let longest = 0;
  for (const { problem, ids } of prompts) {
    longest = Math.max(longest, ids.length);
    if (ids.length + maxNew > context) {
      throw new ConfigError(
        'max_completion_length',
        `problem "${problem.id}" has a prompt of ${ids.length} tokens; with max_completion_length ${maxNew} it needs ${ids.length + maxNew} positions, ` +
          `but the model has ${context} (max_position_embeddings in config.json). ` +
          (ids.length >= context ? 'Shorten the question (the prompt alone is too long).' : `Lower max_completion_length to ${context - ids.length} or less, or shorten the question.`),
      );
    }
  }
  const rows = prompts.length * cfg.num_generations;
  const microRows = cfg.micro_batch_size > 0 ? Math.min(cfg.micro_batch_size, rows) : rows;
  const bytes = estimateStepBytes(mc, rows, microRows, longest + maxNew);
  if (bytes > STEP_MEMORY_LIMIT_BYTES || rows > MAX_ROLLOUT_ROWS) {
    throw new ConfigError(
      'prompts_per_step',
      `a step of ${prompts.length} prompts × ${cfg.num_generations} generations = ${rows} completions of up to ${longest + maxNew} tokens needs about ${gib(bytes)}` +
        (rows > MAX_ROLLOUT_ROWS ? `, and ${rows} is more than the ${MAX_ROLLOUT_ROWS} completions one rollout can hold` : `, more than the ${gib(STEP_MEMORY_LIMIT_BYTES)} any backend here can hold`) +
        '; it does not fit. Lower prompts_per_step, num_generations or max_completion_length' +
        (cfg.micro_batch_size === 0 || cfg.micro_batch_size > 8 ? ', or set micro_batch_size (e.g. 8)' : '') +
        '.',
    );
  }
}

/** Smallest and largest of a long list without spreading it into arguments (which overflows the stack). */
export function minMax(xs: readonly number[]): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  for (const x of xs) {
    if (x < min) min = x;
    if (x > max) max = x;
  }
  return { min, max };
}
