import { describe, expect, it } from 'vitest';
import { PreTrainedTokenizer } from '@huggingface/transformers';
import { trainBpe } from '../../src/core/pretrain/bpe';

const corpus = [
  'Question: A crate holds 6 jars. How many jars are in 3 crates?\n<think> 3 crates hold 3 * 6 = 18 jars. </think> <answer>18</answer><|endoftext|>',
  'Question: Tom has 12 apples and eats 5. How many are left?\n<think> 12 - 5 = 7. </think> <answer>7</answer><|endoftext|>',
  'The crates hold jars and the boxes hold cups.',
];
const spec = {
  vocabSize: 160,
  addedTokens: ['<|endoftext|>', '<think>', '</think>', '<answer>', '</answer>'].map((content, i) => ({ content, special: i === 0 })),
  unkToken: '<unk>',
};

describe('trainBpe', () => {
  const bpe = trainBpe(corpus, spec);
  const tok = new PreTrainedTokenizer(bpe.tokenizerJson, bpe.tokenizerConfig);

  it('round-trips text exactly through @huggingface/transformers', () => {
    for (const text of [...corpus, ' leading space', 'tabs\tand\nnewlines  double', '<answer> 42 </answer>']) {
      const ids = tok.encode(text, { add_special_tokens: false });
      expect(tok.decode(ids, { skip_special_tokens: false })).toBe(text.replaceAll('\t', '<unk>'));
    }
  });

  it('keeps added tokens atomic and digits one per token', () => {
    const ids = tok.encode('<think> 1234 </think><answer>56</answer>', { add_special_tokens: false });
    const pieces = ids.map((id: number) => tok.decode([id], { skip_special_tokens: false }));
    expect(pieces).toEqual(['<think>', ' ', '1', '2', '3', '4', ' ', '</think>', '<answer>', '5', '6', '</answer>']);
    expect(ids[0]).toBe(1);
  });

  it('learns merges of frequent words and stays within the vocabulary size', () => {
    expect(bpe.vocabSize).toBeLessThanOrEqual(spec.vocabSize);
    const ids = tok.encode(' crates', { add_special_tokens: false });
    expect(ids.length).toBe(1);
    expect(Math.max(...tok.encode(corpus.join(' '), { add_special_tokens: false }))).toBeLessThan(bpe.vocabSize);
  });

  it('uses the end-of-text token as eos and pad', () => {
    expect(tok.eos_token_id).toBe(0);
    expect(tok.pad_token_id).toBe(0);
    expect(tok.decode([0, 5], { skip_special_tokens: true })).not.toContain('<|endoftext|>');
  });
});
