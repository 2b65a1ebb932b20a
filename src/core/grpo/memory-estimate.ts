/**
 * An update's peak memory before it runs, from the model's shape and the batch's lengths, and the
 * largest micro-batch that fits a backend's limit. The update (tf.variableGrads over a
 * micro-batch) keeps every forward activation for the backward pass; what dominates is, per row
 * and position, the per-layer activations (hidden-, MLP- and attention-score-sized) and the
 * vocabulary-sized log-softmax tensors of the head. Per-position counts below are the tensors
 * the engine's forward creates (src/core/model/layers.ts, logprobs.ts), checked against
 * tf.profile's measured peak (test/grpo/memory-estimate.test.ts).
 */
import type { ModelConfig } from '../model/types';
import { MICRO_BATCH_MAX } from './settings';
import { VOCAB_CHUNKED_MIN } from '../model/vocab-chunked-threshold';
import { layerActivationFloats, layerGradSupported } from '../model/layer-activations';

export interface UpdateShape {
  /** Completions in the step: prompts_per_step × num_generations. */
  rows: number;
  /** Rows per backward pass (the whole batch when 0). */
  microBatch: number;
  /** Longest prompt, in tokens (scaffolded prompts are longer). */
  promptLength: number;
  /** max_completion_length. */
  completionLength: number;
  beta: number;
  numIterations: number;
  /**
   * The log-prob head keeps only the logits and three numbers a row (wasm at every vocabulary,
   * src/core/kernels/wasm-fused.ts; other backends from VOCAB_CHUNKED_MIN on).
   */
  compactHead?: boolean;
}

export interface UpdateEstimate {
  /** Weights, AdamW moments and gradients: independent of the batch. */
  fixedBytes: number;
  /** Activations of one micro-batch kept for its backward pass. */
  activationBytes: number;
  totalBytes: number;
}

const F32 = 4;
/** Forward tensors plus the backward pass's gradients, over the forward tensors alone (measured on wasm: 3.7–4.2). */
const BACKWARD_FACTOR = 4;

/** Floats kept per (row, position) by one decoder layer's forward through tfjs's own gradients (GPT-2), and per (row, position, key) for attention. */
function perLayer(c: ModelConfig): { perPosition: number; perKey: number } {
  const H = c.hiddenSize;
  const kv = c.numKvHeads * c.headDim;
  const q = c.numHeads * c.headDim;
  // Two norms (~4 tensors each), q/k/v, RoPE on q and k (two slices, neg, concat, two products, sum),
  // attention output, o_proj, two residual sums; MLP: gate, up, activation (2), product; down.
  const perPosition = 8 * H + (q + 2 * kv) + 7 * (q + kv) + q + 3 * H + 5 * c.intermediateSize + H;
  // Scores, scores + mask, softmax.
  const perKey = 3 * c.numHeads;
  return { perPosition, perKey };
}

export function estimateUpdateBytes(c: ModelConfig, s: UpdateShape): UpdateEstimate {
  const params = paramCount(c);
  // Weights; two AdamW moments; the accumulated gradient and the micro-batch's gradient.
  let fixed = params * F32 * 5;
  if (s.beta > 0) fixed += params * F32; // the frozen reference copy
  const m = s.microBatch > 0 ? Math.min(s.microBatch, s.rows) : s.rows;
  const L = s.promptLength + s.completionLength;
  // Head: final norm, logits, log-softmax (with its max-shifted and exp intermediates), the entropy's softmax and product.
  // From VOCAB_CHUNKED_MIN on, the row-blocked head keeps the logits and one saved copy, and its
  // backward the logits' gradient twice (blocks, then joined); with the output projection's own
  // backward the update peaks at ~9.5 logit sizes of activations (a 16k vocabulary, wasm: test/grpo/
  // memory-estimate.test.ts) against 24 for the plain head, so 2.4 × BACKWARD_FACTOR.
  const head = (s.compactHead || c.vocabSize >= VOCAB_CHUNKED_MIN ? 2.4 : 6) * c.vocabSize;
  // The final norm runs over every position.
  const finalNorm = 4 * c.hiddenSize;
  // tf.variableGrads keeps every forward tensor for the backward pass, and the backward pass runs
  // in one tidy scope that keeps every gradient it computes until the micro-batch ends: measured,
  // the peak is BACKWARD_FACTOR times the forward's own tensors (test/grpo/memory-estimate.test.ts).
  // Llama-family layers with SwiGLU are one op with a hand-written backward pass that keeps far
  // less (src/core/model/llama-layer-grad.ts); the factor is inside layerActivationFloats.
  let layers: number;
  if (layerGradSupported(c)) layers = layerActivationFloats(c, L);
  else {
    const { perPosition, perKey } = perLayer(c);
    layers = BACKWARD_FACTOR * (perPosition + perKey * L);
  }
  // The head's logits cover only the completion and the last prompt position (tokenLogProbs's
  // completionOnly, as the update asks).
  const headPositions = Math.min(L, s.completionLength + 1);
  const activations = m * (L * (c.numLayers * layers + BACKWARD_FACTOR * finalNorm) + headPositions * BACKWARD_FACTOR * head) * F32;
  // Log-probs kept across passes (old policy, reference): rows × completion positions, small.
  const kept = (s.beta > 0 ? 1 : 0) + (s.numIterations > 1 ? 1 : 0);
  fixed += kept * s.rows * L * F32;
  return { fixedBytes: fixed, activationBytes: activations, totalBytes: fixed + activations };
}

/** The largest single tensor of a micro-batch's update: the logits (completion positions), MLP- or attention-score-sized one. */
export function largestTensorBytes(c: ModelConfig, s: UpdateShape): number {
  const m = s.microBatch > 0 ? Math.min(s.microBatch, s.rows) : s.rows;
  const L = s.promptLength + s.completionLength;
  const headPositions = Math.min(L, s.completionLength + 1);
  return m * Math.max(headPositions * c.vocabSize, L * c.intermediateSize, L * c.numHeads * L) * F32;
}

/** Parameters of a Llama-family or GPT-2 config (embeddings once when tied). */
export function paramCount(c: ModelConfig): number {
  const H = c.hiddenSize;
  const q = c.numHeads * c.headDim;
  const kv = c.numKvHeads * c.headDim;
  const gated = c.arch !== 'gpt2';
  const layer = H * (q + 2 * kv) + q * H + (gated ? 3 : 2) * H * c.intermediateSize + 2 * H;
  return c.vocabSize * H * (c.tieWordEmbeddings ? 1 : 2) + c.numLayers * layer + H;
}

export interface MicroBatchPlan {
  microBatch: number;
  estimatedBytes: number;
  /** False when even one row does not fit. */
  fits: boolean;
}

/**
 * The largest micro-batch whose estimate fits `limitBytes`. Powers of two and divisors of the
 * batch are preferred so micro-batches are equal (the last one is not short), then any size.
 */
export function chooseMicroBatch(c: ModelConfig, s: Omit<UpdateShape, 'microBatch'>, limitBytes: number): MicroBatchPlan {
  const est = (m: number) => estimateUpdateBytes(c, { ...s, microBatch: m }).totalBytes;
  if (s.rows <= MICRO_BATCH_MAX && est(s.rows) <= limitBytes) return { microBatch: s.rows, estimatedBytes: est(s.rows), fits: true };
  let best = 0;
  for (let m = Math.min(s.rows - 1, MICRO_BATCH_MAX); m >= 1; m--) {
    if (est(m) <= limitBytes) {
      best = m;
      break;
    }
  }
  if (best === 0) return { microBatch: 1, estimatedBytes: est(1), fits: false };
  // Equal micro-batches: the largest divisor of rows not above best, unless that halves the size.
  for (let m = best; m >= Math.ceil(best / 2); m--) {
    if (s.rows % m === 0) return { microBatch: m, estimatedBytes: est(m), fits: true };
  }
  return { microBatch: best, estimatedBytes: est(best), fits: true };
}
