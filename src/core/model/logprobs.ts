/** Teacher forcing: per-token log-probs and entropies of whole sequences, differentiable w.r.t. the model's variables. */
import * as tf from '@tensorflow/tfjs-core';
// Registers every kernel's gradient (tfjs-core alone has none); works under Node's resolver and bundlers alike.
import '@tensorflow/tfjs';
import type { PackedBatch } from './types';
import type { CausalLM } from './causal-lm';
import { EngineInputError } from './errors';
import { chunkedTokenStats } from './vocab-chunked-logprobs';
import { wasmFusedAvailable, wasmTokenStats } from '../kernels/wasm-fused';
import { VOCAB_CHUNKED_MIN } from './vocab-chunked-threshold';

export { VOCAB_CHUNKED_MIN };

/**
 * Lay out prompt+completion pairs as [pad… prompt completion pad…]: prompts left-padded to the
 * longest prompt, completions right-padded to the longest completion, positions counted from
 * each row's first real token (pads get position 0; they are masked anyway).
 */
export function packBatch(prompts: number[][], completions: number[][], padId: number): PackedBatch {
  if (prompts.length !== completions.length) {
    throw new EngineInputError(`packBatch: ${prompts.length} prompts but ${completions.length} completions.`);
  }
  if (prompts.length === 0) throw new EngineInputError('packBatch: the batch is empty.');
  const P = Math.max(...prompts.map((p) => p.length));
  const C = Math.max(...completions.map((c) => c.length));
  for (const [i, p] of prompts.entries()) {
    if (p.length === 0) throw new EngineInputError(`packBatch: prompt ${i} is empty; every row needs at least one prompt token (e.g. BOS) to predict its first completion token from.`);
  }
  const B = prompts.length;
  const L = P + C;
  const ids = new Int32Array(B * L).fill(padId);
  const attentionMask = new Int32Array(B * L);
  const positions = new Int32Array(B * L);
  const completionMask = new Float32Array(B * L);
  for (let b = 0; b < B; b++) {
    const p = prompts[b]!;
    const c = completions[b]!;
    const start = P - p.length;
    const row = b * L;
    for (let j = 0; j < p.length; j++) {
      ids[row + start + j] = p[j]!;
      attentionMask[row + start + j] = 1;
      positions[row + start + j] = j;
    }
    for (let j = 0; j < c.length; j++) {
      ids[row + P + j] = c[j]!;
      attentionMask[row + P + j] = 1;
      positions[row + P + j] = p.length + j;
      completionMask[row + P + j] = 1;
    }
  }
  return { batch: B, length: L, ids, attentionMask, positions, completionMask };
}

/**
 * logprobs[b, t] = log softmax(logits[b, t-1] / temperature)[ids[b, t]] and entropy[b, t] the
 * entropy of that distribution, for t ≥ 1; both 0 at t = 0. Shapes [B, L].
 * Differentiable inside tf.variableGrads; the caller disposes both tensors.
 * `chunked` forces one formulation (default: by vocabulary size, VOCAB_CHUNKED_MIN, and always on
 * wasm). `completionOnly` leaves columns before the first completion token (packBatch's
 * completionMask) at 0 and skips their logits.
 */
export function tokenLogProbs(model: CausalLM, batch: PackedBatch, temperature = 1, opts: { chunked?: boolean; completionOnly?: boolean } = {}): { logprobs: tf.Tensor2D; entropy: tf.Tensor2D } {
  if (!(temperature > 0)) throw new EngineInputError(`tokenLogProbs: temperature must be > 0 (got ${temperature}).`);
  const { batch: B, length: L } = batch;
  if (L < 2) {
    return { logprobs: tf.zeros([B, L]) as tf.Tensor2D, entropy: tf.zeros([B, L]) as tf.Tensor2D };
  }
  const V = model.config.vocabSize;
  // wasm computes the chunked head's statistics in two passes a row (wasm-fused.ts): at every vocabulary size.
  const chunked = opts.chunked ?? (V >= VOCAB_CHUNKED_MIN || wasmFusedAvailable());
  // completionOnly: logits from the position before the first completion token on; earlier ones
  // predict prompt tokens, whose log-probs the loss masks (0 here). TRL's logits_to_keep.
  const from = opts.completionOnly ? Math.min(Math.max(0, firstCompletionColumn(batch) - 1), L - 2) : 0;
  const { logits } = model.forward({ ids: batch.ids, batch: B, length: L, positions: batch.positions, attentionMask: batch.attentionMask, logitsFrom: from });
  const out = tf.tidy(() => (chunked ? chunkedHead(logits, batch, temperature, from) : plainHead(logits, batch, temperature, from)));
  logits.dispose();
  return out;
}

/** The first column any row's completion mask covers (the length when none does). */
function firstCompletionColumn(batch: PackedBatch): number {
  const { batch: B, length: L, completionMask } = batch;
  let first = L;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < first; t++) {
      if (completionMask[b * L + t]) {
        first = t;
        break;
      }
    }
  }
  return first;
}

type Head = { logprobs: tf.Tensor2D; entropy: tf.Tensor2D };

/**
 * logits [B, L − from, V] are positions from … L−1; each predicts the next column's token. Returns
 * [B, L] log-probs and entropies, 0 in columns 0 … from (nothing predicts column 0; columns up
 * to `from` were not computed).
 */
function plainHead(logits: tf.Tensor, batch: PackedBatch, temperature: number, from: number): Head {
  const { batch: B, length: L } = batch;
  const V = logits.shape[2]!;
  const n = L - 1 - from;
  let scaled: tf.Tensor = tf.slice(logits, [0, 0, 0], [B, n, V]);
  if (temperature !== 1) scaled = tf.div(scaled, temperature);
  const logp = tf.logSoftmax(scaled);
  // One-hot product instead of a gather: its gradient needs no UnsortedSegmentSum (absent on wasm).
  const targets = tf.slice(tf.tensor2d(batch.ids, [B, L], 'int32'), [0, from + 1], [B, n]);
  const onehot = tf.oneHot(targets, V);
  const lp = tf.sum(tf.mul(logp, onehot), -1);
  const ent = tf.neg(tf.sum(tf.mul(tf.exp(logp), logp), -1));
  const zero = tf.zeros([B, from + 1]);
  return {
    logprobs: tf.concat([zero, lp], 1) as tf.Tensor2D,
    entropy: tf.concat([zero, ent], 1) as tf.Tensor2D,
  };
}

function chunkedHead(logits: tf.Tensor, batch: PackedBatch, temperature: number, from: number): Head {
  const { batch: B, length: L } = batch;
  const V = logits.shape[2]!;
  const n = L - from;
  // Every computed position's next token, so the logits need no [B, n − 1, V] slice; the last
  // position's target is a placeholder and its outputs are dropped.
  const next = new Int32Array(B * n);
  for (let b = 0; b < B; b++) for (let t = 0; t + 1 < n; t++) next[b * n + t] = batch.ids[b * L + from + t + 1]!;
  const rows = tf.reshape(logits, [B * n, V]) as tf.Tensor2D;
  const targets = tf.tensor1d(next, 'int32');
  const stats = tf.reshape(wasmFusedAvailable() ? wasmTokenStats(rows, targets, temperature) : chunkedTokenStats(rows, targets, temperature), [B, n, 2]);
  const zero = tf.zeros([B, from + 1]);
  const column = (c: number) => tf.concat([zero, tf.reshape(tf.slice(stats, [0, 0, c], [B, n - 1, 1]), [B, n - 1])], 1) as tf.Tensor2D;
  return { logprobs: column(0), entropy: column(1) };
}
