/** Hugging Face config.json → the engine's ModelConfig, for the architectures the engine runs. */
import type { Architecture, ModelConfig, RopeScaling } from './types';
import { UnsupportedModelError } from './errors';

/** model_type values the engine accepts, and the architecture each one runs as. */
export const SUPPORTED_MODEL_TYPES: Record<string, Architecture> = {
  llama: 'llama',
  smollm: 'llama',
  mistral: 'llama',
  qwen2: 'qwen2',
  qwen3: 'qwen3',
  gpt2: 'gpt2',
};

type Json = Record<string, unknown>;

function num(raw: Json, key: string, fallback?: number): number {
  const v = raw[key];
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (v === undefined || v === null) {
    if (fallback !== undefined) return fallback;
    throw new UnsupportedModelError(`config.json lacks "${key}", which a ${String(raw.model_type)} model needs.`);
  }
  throw new UnsupportedModelError(`config.json: "${key}" should be a number but is ${JSON.stringify(v)}.`);
}

/** A size that must be a whole number ≥ 1 (dimensions, counts of heads and layers). */
function size(raw: Json, key: string, fallback?: number): number {
  const v = num(raw, key, fallback);
  if (!Number.isInteger(v) || v < 1) throw new UnsupportedModelError(`config.json: "${key}" must be a whole number ≥ 1, got ${v}.`);
  return v;
}

/** The hidden size must split evenly into heads when the head size is derived from it. */
function headSize(hidden: number, heads: number, hiddenKey: string, headsKey: string): number {
  if (hidden % heads !== 0) {
    throw new UnsupportedModelError(
      `config.json: ${hiddenKey} (${hidden}) is not divisible by ${headsKey} (${heads}), so the attention heads have no whole size; use a ${headsKey} that divides ${hiddenKey} (e.g. ${[1, 2, 4, 8, 12, 16].filter((h) => hidden % h === 0).pop() ?? 1}).`,
    );
  }
  return hidden / heads;
}

function optId(v: unknown): number | null {
  return typeof v === 'number' && Number.isInteger(v) ? v : null;
}

function idList(v: unknown): number[] {
  if (typeof v === 'number' && Number.isInteger(v)) return [v];
  if (Array.isArray(v)) return v.filter((x): x is number => typeof x === 'number' && Number.isInteger(x));
  return [];
}

function ropeScaling(raw: Json): RopeScaling | null {
  const rs = raw.rope_scaling;
  if (rs === undefined || rs === null) return null;
  if (typeof rs !== 'object') throw new UnsupportedModelError(`config.json: rope_scaling should be an object, got ${JSON.stringify(rs)}.`);
  const r = rs as Json;
  const type = r.rope_type ?? r.type;
  if (type === 'default') return null;
  if (type !== 'llama3') {
    throw new UnsupportedModelError(`config.json: rope_scaling type "${String(type)}" is not supported (supported: default, llama3).`);
  }
  return {
    type: 'llama3',
    factor: num(r, 'factor'),
    lowFreqFactor: num(r, 'low_freq_factor'),
    highFreqFactor: num(r, 'high_freq_factor'),
    originalMaxPositionEmbeddings: num(r, 'original_max_position_embeddings'),
  };
}

export function parseConfig(raw: Json): ModelConfig {
  const modelType = raw.model_type;
  if (typeof modelType !== 'string') {
    throw new UnsupportedModelError(`config.json has no "model_type"; supported model types: ${Object.keys(SUPPORTED_MODEL_TYPES).join(', ')}.`);
  }
  const arch = SUPPORTED_MODEL_TYPES[modelType];
  if (!arch) {
    throw new UnsupportedModelError(
      `model_type "${modelType}" is not supported; supported model types: ${Object.keys(SUPPORTED_MODEL_TYPES).join(', ')}.`,
    );
  }
  const common = {
    modelType,
    arch,
    bosTokenId: optId(raw.bos_token_id),
    eosTokenIds: idList(raw.eos_token_id),
    padTokenId: optId(raw.pad_token_id),
    raw,
  };
  if (arch === 'gpt2') {
    const hiddenSize = size(raw, 'n_embd', 768);
    const numHeads = size(raw, 'n_head', 12);
    const headDim = headSize(hiddenSize, numHeads, 'n_embd', 'n_head');
    const inner = raw.n_inner === null || raw.n_inner === undefined ? 4 * hiddenSize : size(raw, 'n_inner');
    return {
      ...common,
      vocabSize: size(raw, 'vocab_size', 50257),
      hiddenSize,
      numLayers: size(raw, 'n_layer', 12),
      numHeads,
      numKvHeads: numHeads,
      headDim,
      intermediateSize: inner,
      maxPositionEmbeddings: size(raw, 'n_positions', 1024),
      normEps: num(raw, 'layer_norm_epsilon', 1e-5),
      ropeTheta: 0,
      tieWordEmbeddings: raw.tie_word_embeddings !== false,
      attentionBias: true,
      qkNorm: false,
      hiddenAct: typeof raw.activation_function === 'string' ? raw.activation_function : 'gelu_new',
      attentionOutBias: true,
      ropeScaling: null,
    };
  }
  const hiddenSize = size(raw, 'hidden_size');
  const numHeads = size(raw, 'num_attention_heads');
  const numKvHeads = size(raw, 'num_key_value_heads', numHeads);
  if (numHeads % numKvHeads !== 0) {
    throw new UnsupportedModelError(`config.json: num_attention_heads (${numHeads}) is not a multiple of num_key_value_heads (${numKvHeads}).`);
  }
  if (raw.mlp_bias === true) throw new UnsupportedModelError('config.json: mlp_bias: true is not supported.');
  const explicitHead = raw.head_dim !== undefined && raw.head_dim !== null;
  const headDim = explicitHead ? size(raw, 'head_dim') : arch === 'qwen3' ? 128 : headSize(hiddenSize, numHeads, 'hidden_size', 'num_attention_heads');
  if (!Number.isInteger(headDim) || headDim % 2 !== 0) throw new UnsupportedModelError(`config.json: head_dim ${headDim} must be an even integer for RoPE.`);
  const hiddenAct = typeof raw.hidden_act === 'string' ? raw.hidden_act : 'silu';
  const llamaBias = arch === 'llama' && raw.attention_bias === true;
  return {
    ...common,
    vocabSize: size(raw, 'vocab_size'),
    hiddenSize,
    numLayers: size(raw, 'num_hidden_layers'),
    numHeads,
    numKvHeads,
    headDim,
    intermediateSize: size(raw, 'intermediate_size'),
    maxPositionEmbeddings: size(raw, 'max_position_embeddings', 2048),
    normEps: num(raw, 'rms_norm_eps', 1e-6),
    ropeTheta: num(raw, 'rope_theta', 10000),
    tieWordEmbeddings: raw.tie_word_embeddings === true,
    attentionBias: arch === 'qwen2' || llamaBias || (arch === 'qwen3' && raw.attention_bias === true),
    qkNorm: arch === 'qwen3',
    hiddenAct,
    attentionOutBias: llamaBias || (arch === 'qwen3' && raw.attention_bias === true),
    ropeScaling: ropeScaling(raw),
  };
}
