/** The tensors each architecture needs, under their Hugging Face names, with the shapes config.json implies. */
import type { ModelConfig } from './types';

export interface TensorSpec {
  name: string;
  shape: number[];
  /** How randomInit fills it: normal(0, initializer_range), ones (norm scales) or zeros (biases). */
  init: 'normal' | 'ones' | 'zeros';
  /** An nn.Linear weight stored [out, in]: the model may hold it transposed (see CausalLM.transposedLinear). */
  linear?: boolean;
}

/** GPT-2 checkpoints come with or without the "transformer." prefix; keep whichever the files use. */
export function gpt2Prefix(names: Iterable<string>): string {
  for (const n of names) if (n === 'wte.weight') return '';
  return 'transformer.';
}

export function expectedTensors(config: ModelConfig, prefix = 'transformer.'): TensorSpec[] {
  const { hiddenSize: H, vocabSize: V, intermediateSize: I } = config;
  const out: TensorSpec[] = [];
  const add = (name: string, shape: number[], init: TensorSpec['init'], linear = false) => out.push({ name, shape, init, ...(linear ? { linear } : {}) });
  if (config.arch === 'gpt2') {
    const p = prefix;
    add(`${p}wte.weight`, [V, H], 'normal');
    add(`${p}wpe.weight`, [config.maxPositionEmbeddings, H], 'normal');
    for (let i = 0; i < config.numLayers; i++) {
      const l = `${p}h.${i}.`;
      add(`${l}ln_1.weight`, [H], 'ones');
      add(`${l}ln_1.bias`, [H], 'zeros');
      // GPT-2's Conv1D stores weights [in, out], the transpose of nn.Linear.
      add(`${l}attn.c_attn.weight`, [H, 3 * H], 'normal');
      add(`${l}attn.c_attn.bias`, [3 * H], 'zeros');
      add(`${l}attn.c_proj.weight`, [H, H], 'normal');
      add(`${l}attn.c_proj.bias`, [H], 'zeros');
      add(`${l}ln_2.weight`, [H], 'ones');
      add(`${l}ln_2.bias`, [H], 'zeros');
      add(`${l}mlp.c_fc.weight`, [H, I], 'normal');
      add(`${l}mlp.c_fc.bias`, [I], 'zeros');
      add(`${l}mlp.c_proj.weight`, [I, H], 'normal');
      add(`${l}mlp.c_proj.bias`, [H], 'zeros');
    }
    add(`${p}ln_f.weight`, [H], 'ones');
    add(`${p}ln_f.bias`, [H], 'zeros');
    if (!config.tieWordEmbeddings) add('lm_head.weight', [V, H], 'normal', true);
    return out;
  }
  const qDim = config.numHeads * config.headDim;
  const kvDim = config.numKvHeads * config.headDim;
  add('model.embed_tokens.weight', [V, H], 'normal');
  for (let i = 0; i < config.numLayers; i++) {
    const l = `model.layers.${i}.`;
    add(`${l}input_layernorm.weight`, [H], 'ones');
    add(`${l}self_attn.q_proj.weight`, [qDim, H], 'normal', true);
    add(`${l}self_attn.k_proj.weight`, [kvDim, H], 'normal', true);
    add(`${l}self_attn.v_proj.weight`, [kvDim, H], 'normal', true);
    add(`${l}self_attn.o_proj.weight`, [H, qDim], 'normal', true);
    if (config.attentionBias) {
      add(`${l}self_attn.q_proj.bias`, [qDim], 'zeros');
      add(`${l}self_attn.k_proj.bias`, [kvDim], 'zeros');
      add(`${l}self_attn.v_proj.bias`, [kvDim], 'zeros');
    }
    if (config.attentionOutBias) add(`${l}self_attn.o_proj.bias`, [H], 'zeros');
    if (config.qkNorm) {
      add(`${l}self_attn.q_norm.weight`, [config.headDim], 'ones');
      add(`${l}self_attn.k_norm.weight`, [config.headDim], 'ones');
    }
    add(`${l}post_attention_layernorm.weight`, [H], 'ones');
    add(`${l}mlp.gate_proj.weight`, [I, H], 'normal', true);
    add(`${l}mlp.up_proj.weight`, [I, H], 'normal', true);
    add(`${l}mlp.down_proj.weight`, [H, I], 'normal', true);
  }
  add('model.norm.weight', [H], 'ones');
  if (!config.tieWordEmbeddings) add('lm_head.weight', [V, H], 'normal', true);
  return out;
}
