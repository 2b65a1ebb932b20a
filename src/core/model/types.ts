import type * as tf from '@tensorflow/tfjs-core';

export type Architecture = 'llama' | 'qwen2' | 'qwen3' | 'gpt2';

/** The engine's view of a Hugging Face config.json, normalised across architectures. */
export interface ModelConfig {
  /** The model_type as written in config.json ('llama', 'qwen2', 'qwen3', 'gpt2', 'smollm' maps to llama...). */
  modelType: string;
  arch: Architecture;
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  intermediateSize: number;
  maxPositionEmbeddings: number;
  /** RMSNorm / LayerNorm epsilon. */
  normEps: number;
  ropeTheta: number;
  tieWordEmbeddings: boolean;
  /** q/k/v projections carry a bias (qwen2). */
  attentionBias: boolean;
  /** RMSNorm on q and k per head (qwen3). */
  qkNorm: boolean;
  bosTokenId: number | null;
  eosTokenIds: number[];
  padTokenId: number | null;
  /** Activation of the MLP: 'silu' (llama family), 'gelu_new' / 'gelu_pytorch_tanh' (tanh approximation), 'gelu' (erf). Absent: the architecture's default. */
  hiddenAct?: string;
  /** o_proj carries a bias too (llama with attention_bias: true; qwen2's bias is q/k/v only). */
  attentionOutBias?: boolean;
  /** Llama 3 style RoPE frequency scaling (rope_scaling.rope_type 'llama3'); absent or null: plain RoPE. */
  ropeScaling?: RopeScaling | null;
  /** config.json as read, so that a saved checkpoint writes it back unchanged. */
  raw: Record<string, unknown>;
}

export interface RopeScaling {
  type: 'llama3';
  factor: number;
  lowFreqFactor: number;
  highFreqFactor: number;
  originalMaxPositionEmbeddings: number;
}

/**
 * A batch of whole sequences, laid out for teacher forcing: prompts left-padded, completions
 * right-padded, so every row is [pad… prompt completion pad…] with length `length`.
 */
export interface PackedBatch {
  batch: number;
  length: number;
  /** [batch*length] token ids; pads hold padTokenId (any valid id). */
  ids: Int32Array;
  /** [batch*length] 1 for real tokens, 0 for padding. */
  attentionMask: Int32Array;
  /** [batch*length] position of each token counted from the first real token of its row. */
  positions: Int32Array;
  /** [batch*length] 1 where the token is a completion token (its log-prob is trained). */
  completionMask: Float32Array;
}

export interface GenerateOptions {
  maxNewTokens: number;
  /** 0 means greedy. */
  temperature: number;
  /** 0 or undefined: off. */
  topK?: number;
  /** 1 or undefined: off. */
  topP?: number;
  /** 0 or undefined: off. */
  minP?: number;
  /** Penalty on tokens already in the prompt or the completion; 1 or undefined: off. */
  repetitionPenalty?: number;
  seed: number;
  eosTokenIds: number[];
  padTokenId: number;
  /** Stop when the decoded completion contains one of these (it is kept in the output). */
  stopStrings?: string[];
  decode?: (ids: number[]) => string;
  /** Called after each decoding step (for progress and cooperative yielding). */
  onStep?: (step: number) => void | Promise<void>;
}

export type FinishReason = 'eos' | 'stop' | 'length';

export interface GenerateResult {
  /** Completion ids per row, EOS included when it was sampled. */
  tokens: number[][];
  /** log p(token) under the sampling distribution (softmax of logits / temperature; temperature 0 → 1). */
  logprobs: number[][];
  finish: FinishReason[];
}
