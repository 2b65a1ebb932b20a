/**
 * config.json values the engine cannot run, for every architecture: each refused with one line
 * that names the key and says what would work, before any tensor is shaped from it.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/core/model/config';
import { tinyConfig } from '../fixtures/tiny-configs';

const gpt2 = { model_type: 'gpt2', vocab_size: 50, n_embd: 16, n_head: 4, n_layer: 2, n_positions: 64 };

describe('config.json checks', () => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['GPT-2 with n_embd not divisible by n_head', { ...gpt2, n_embd: 10, n_head: 4 }, /n_embd \(10\) is not divisible by n_head \(4\).*use a n_head that divides n_embd \(e\.g\. 2\)/],
    ['GPT-2 with n_head 0', { ...gpt2, n_head: 0 }, /"n_head" must be a whole number ≥ 1, got 0/],
    ['GPT-2 with a fractional n_inner', { ...gpt2, n_inner: 12.5 }, /"n_inner" must be a whole number ≥ 1/],
    ['llama with hidden_size not divisible by heads', { ...tinyConfig('llama', 50), hidden_size: 18, num_attention_heads: 4 }, /hidden_size \(18\) is not divisible by num_attention_heads \(4\)/],
    ['qwen2 with hidden_size not divisible by heads', { ...tinyConfig('qwen2', 50), hidden_size: 15 }, /hidden_size \(15\) is not divisible by num_attention_heads/],
    ['heads not a multiple of kv heads', { ...tinyConfig('llama', 50), num_key_value_heads: 3 }, /num_attention_heads \(4\) is not a multiple of num_key_value_heads \(3\)/],
    ['an odd head_dim (RoPE needs pairs)', { ...tinyConfig('qwen3', 50), head_dim: 7 }, /head_dim 7 must be an even integer/],
    ['a fractional head_dim', { ...tinyConfig('qwen3', 50), head_dim: 6.5 }, /"head_dim" must be a whole number ≥ 1, got 6\.5/],
    ['zero layers', { ...tinyConfig('llama', 50), num_hidden_layers: 0 }, /"num_hidden_layers" must be a whole number ≥ 1, got 0/],
    ['a negative vocab', { ...tinyConfig('llama', 50), vocab_size: -5 }, /"vocab_size" must be a whole number ≥ 1, got -5/],
    ['a hidden_size given as a string', { ...tinyConfig('llama', 50), hidden_size: '16' }, /"hidden_size" should be a number but is "16"/],
    ['a missing intermediate_size', { ...tinyConfig('llama', 50), intermediate_size: undefined }, /lacks "intermediate_size"/],
    ['max_position_embeddings 0', { ...tinyConfig('llama', 50), max_position_embeddings: 0 }, /"max_position_embeddings" must be a whole number ≥ 1/],
    ['no model_type', { hidden_size: 16 }, /no "model_type"; supported model types: llama/],
    ['an unsupported model_type', { model_type: 'mamba' }, /model_type "mamba" is not supported/],
  ];

  it.each(cases)('%s', (_what, raw, re) => {
    let msg = '';
    try {
      parseConfig(raw);
    } catch (e) {
      expect((e as Error).name).toBe('UnsupportedModelError');
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/^config\.json|model_type/);
    expect(msg).toMatch(re);
    expect(msg).not.toMatch(/\n/);
  });

  it('still accepts every shipped architecture', () => {
    for (const arch of ['llama', 'qwen2', 'qwen3', 'gpt2'] as const) expect(parseConfig(tinyConfig(arch, 50)).arch).toBe(arch);
    expect(parseConfig(gpt2).headDim).toBe(4);
  });
});
