/**
 * Which models train through the hand-written Llama layer (llama-layer-grad.ts) and what one such
 * layer holds for its backward pass. A file of its own, free of tfjs, so that the memory estimate
 * (src/core/grpo/memory-estimate.ts, also used by the page) can read it without importing tfjs.
 */
import type { ModelConfig } from './types';

/** The activations the hand-written layer's backward pass handles: SwiGLU's silu. */
export function layerGradSupported(config: ModelConfig): boolean {
  const act = config.hiddenAct ?? 'silu';
  return config.arch !== 'gpt2' && (act === 'silu' || act === 'swish');
}

/**
 * Floats per token that one layer holds for the backward pass in a training forward of T
 * positions, as tf.profile counts them: what the op saves (x, the mid residual, q, k, v, the
 * attention output, gate and up; with q/k norms their inputs too) times 1.25, and the attention
 * probabilities (heads × T) times 1.5 — the factors cover the backward pass's own temporaries and
 * the layer-input gradients tfjs keeps until the pass ends. Fitted on wasm to the measured peaks of
 * two model shapes (test/grpo/memory-estimate.test.ts); at the shipped model's 32 × 156 tokens
 * the layers' share is 0.23 GB of the update's 0.45 GB.
 */
export function layerActivationFloats(config: ModelConfig, T: number): number {
  const q = config.numHeads * config.headDim;
  const kv = config.numKvHeads * config.headDim;
  const kept = 2 * config.hiddenSize + 2 * q + 2 * kv + 2 * config.intermediateSize + (config.qkNorm ? q + kv : 0);
  return 1.25 * kept + 1.5 * config.numHeads * T;
}
