/** A character-level tokenizer and a one-letter task, small enough for a model of a few thousand parameters. */
import { parseConfig } from '../../src/core/model/config';
import { randomInit, type CausalLM } from '../../src/core/model/causal-lm';
import { generate } from '../../src/core/model/generate';
import type { Rng } from '../../src/core/rng';
import type { Problem } from '../../src/core/types';
import type { ProblemSource, TextTokenizer } from '../../src/core/grpo/trainer';
import { tinyConfig } from '../fixtures/tiny-configs';

// ids 0 pad, 1 bos, 2 eos, then one id per character.
export const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789 ?';
export const VOCAB = 3 + ALPHABET.length;

export const charTokenizer: TextTokenizer = {
  encode: (text) => [1, ...[...text].map((ch) => 3 + ALPHABET.indexOf(ch)).filter((id) => id >= 3)],
  decode: (ids) => ids.filter((id) => id >= 3 && id < VOCAB).map((id) => ALPHABET[id - 3]).join(''),
};

/** Prompts are short random words; the task doesn't depend on them. */
export const wordSource: ProblemSource = {
  sample(rng: Rng, n: number): Problem[] {
    return Array.from({ length: n }, (_, i) => {
      const w = Array.from({ length: 3 }, () => ALPHABET[rng.int(0, 25)]).join('');
      return { id: `w${i}-${w}`, task: 'letters', question: w, answer: 'x', solution: 'one two three four' };
    });
  },
};

export const renderWord = (p: Problem, o: { scaffoldLevel?: number }): string =>
  o.scaffoldLevel ? `${p.question} ${'?'.repeat(o.scaffoldLevel)}` : `${p.question} `;

export function tinyModel(seed = 7, layers = 2): CausalLM {
  return randomInit(parseConfig({ ...tinyConfig('llama', VOCAB), num_hidden_layers: layers }), seed);
}

/**
 * Decode one token so the engine's lazily made decoding caches (the transposed tied head on
 * cpu/wasm) exist before a test takes its tensor-count baseline.
 */
export async function warmUp(model: CausalLM): Promise<void> {
  await generate(model, [[1, 3]], { maxNewTokens: 1, temperature: 1, seed: 0, eosTokenIds: [2], padTokenId: 0 });
}
