/** The embedded model's config.json and generation_config.json, and its files in Hub layout. */
import type { CausalLM } from '../model/causal-lm';
import { serializeSafetensors } from '../model/safetensors';

export interface TinyShape {
  hiddenSize: number;
  layers: number;
  heads: number;
  kvHeads: number;
  intermediate: number;
  maxPositions: number;
}

export const TINY_SHAPE: TinyShape = { hiddenSize: 128, layers: 4, heads: 4, kvHeads: 2, intermediate: 384, maxPositions: 512 };

export function tinyConfigJson(vocabSize: number, eosId: number, shape: TinyShape = TINY_SHAPE): Record<string, unknown> {
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    vocab_size: vocabSize,
    hidden_size: shape.hiddenSize,
    intermediate_size: shape.intermediate,
    num_hidden_layers: shape.layers,
    num_attention_heads: shape.heads,
    num_key_value_heads: shape.kvHeads,
    head_dim: shape.hiddenSize / shape.heads,
    max_position_embeddings: shape.maxPositions,
    hidden_act: 'silu',
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    tie_word_embeddings: true,
    attention_bias: false,
    mlp_bias: false,
    initializer_range: 0.02,
    bos_token_id: eosId,
    eos_token_id: eosId,
    pad_token_id: eosId,
    torch_dtype: 'float32',
  };
}

export function generationConfigJson(eosId: number, maxNewTokens: number): Record<string, unknown> {
  return { eos_token_id: eosId, pad_token_id: eosId, bos_token_id: eosId, max_new_tokens: maxNewTokens, do_sample: false };
}

const json = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v, null, 2) + '\n');

/** Hub-layout files of a model; tied embeddings write no lm_head, as transformers does. */
export async function hubFiles(
  model: CausalLM,
  configJson: Record<string, unknown>,
  tokenizerJson: Record<string, unknown>,
  tokenizerConfig: Record<string, unknown>,
  generationConfig: Record<string, unknown>,
): Promise<Map<string, Uint8Array>> {
  const tensors = await model.exportTensors();
  return new Map([
    ['config.json', json(configJson)],
    ['generation_config.json', json(generationConfig)],
    ['tokenizer.json', json(tokenizerJson)],
    ['tokenizer_config.json', json(tokenizerConfig)],
    ['model.safetensors', serializeSafetensors(tensors)],
  ]);
}
