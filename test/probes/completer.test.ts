import { describe, expect, it } from 'vitest';
import { applyChatTemplate, makeCompleter, CompleterError, type CompleterTokenizer, type GenerateFn } from '../../src/core/probes/completer';
import type { GenerateOptions } from '../../src/core/model/types';

/** Char-level tokenizer: id = char code + 10; 1 = EOS, 0 = pad. */
const tok: CompleterTokenizer = {
  encode: (t) => [...t].map((ch) => ch.charCodeAt(0) + 10),
  decode: (ids) => ids.map((i) => (i === 1 ? '<eos>' : String.fromCharCode(i - 10))).join(''),
  eosTokenIds: [1],
  padTokenId: 0,
};

describe('makeCompleter', () => {
  it('batches prompts × samples, keeps order, strips EOS, varies the seed per batch', async () => {
    const calls: { batch: number[][]; opts: GenerateOptions }[] = [];
    // Fake engine: echoes the prompt's last char, the row's length and the seed's parity, then EOS.
    const generate: GenerateFn<string> = async (model, prompts, opts) => {
      expect(model).toBe('M');
      calls.push({ batch: prompts, opts });
      const tokens = prompts.map((p) => [...tok.encode(`${tok.decode([p[p.length - 1]!])}${p.length}`), 1]);
      return { tokens, logprobs: tokens.map((t) => t.map(() => 0)), finish: tokens.map(() => 'eos' as const) };
    };
    const complete = makeCompleter('M', tok, { generate, batchSize: 4, maxNewTokens: 7 });
    const out = await complete(['abc', 'x', 'hello'], { temperature: 0.5, seed: 3, samples: 3 });
    expect(out).toEqual([['c3', 'c3', 'c3'], ['x1', 'x1', 'x1'], ['o5', 'o5', 'o5']]);
    expect(calls.map((c) => c.batch.length)).toEqual([4, 4, 1]);
    // sorted by length: the short prompt's rows first
    expect(calls[0]!.batch[0]).toEqual(tok.encode('x'));
    expect(new Set(calls.map((c) => c.opts.seed)).size).toBe(3);
    expect(calls[0]!.opts).toMatchObject({ maxNewTokens: 7, temperature: 0.5, eosTokenIds: [1], padTokenId: 0, stopStrings: ['</answer>'] });
    expect(calls[0]!.opts.decode!([...tok.encode('hi'), 1])).toBe('hi');
    // same seed, same calls
    const again: GenerateOptions[] = [];
    await makeCompleter('M', tok, { generate: async (m, p, o) => (again.push(o), generate(m, p, o)), batchSize: 4 })(['abc', 'x', 'hello'], { temperature: 0.5, seed: 3, samples: 3 });
    expect(again.map((o) => o.seed)).toEqual(calls.slice(0, 3).map((c) => c.opts.seed));
  });

  it('applies a chat template around the question but leaves <think> to the assistant turn', async () => {
    expect(applyChatTemplate('Q?\nThe following facts may help: F.\n<think> A', (u) => `<u>${u}</u><a>`)).toBe('<u>Q?\nThe following facts may help: F.</u><a><think> A');
    const seen: string[] = [];
    const chatTok: CompleterTokenizer = { ...tok, hasChatTemplate: true, formatPrompt: (u) => `[${u}]` };
    const generate: GenerateFn<null> = async (_m, prompts) => {
      seen.push(...prompts.map((p) => tok.decode(p)));
      return { tokens: prompts.map(() => [1]), logprobs: prompts.map(() => [0]), finish: prompts.map(() => 'eos' as const) };
    };
    await makeCompleter(null, chatTok, { generate })(['Q?\n<think>'], { temperature: 0, seed: 0, samples: 1 });
    expect(seen).toEqual(['[Q?]<think>']);
  });

  it('typed errors', async () => {
    const generate: GenerateFn<null> = async () => ({ tokens: [], logprobs: [], finish: [] });
    expect(() => makeCompleter(null, tok, { generate, batchSize: 0 })).toThrow(CompleterError);
    await expect(makeCompleter(null, tok, { generate })(['a'], { temperature: 0, seed: 0, samples: 1 })).rejects.toThrow(/returned 0 rows/);
    await expect(makeCompleter(null, tok, { generate })(['a'], { temperature: 0, seed: 0, samples: 0 })).rejects.toThrow(CompleterError);
  });
});

describe('makeCompleter on a model with a real chat template', () => {
  it('calls the engine tokenizer’s formatPrompt as a method (probes run end to end)', async () => {
    const { initNodeBackend } = await import('../../src/cli/node-webgpu');
    const { loadModel } = await import('../../src/core/model/load');
    const { generate } = await import('../../src/core/model/generate');
    const { tinyModelFiles } = await import('../fixtures/tiny-model');
    await initNodeBackend('cpu');
    const m = await loadModel({ kind: 'files', files: [...tinyModelFiles('llama', { chatTemplate: true })].map(([name, data]) => ({ name, data })) });
    try {
      expect(m.tokenizer.hasChatTemplate).toBe(true);
      const seen: number[][] = [];
      const complete = makeCompleter(m.model, m.tokenizer, { generate: (model, prompts, o) => (seen.push(...prompts), generate(model, prompts, o)), maxNewTokens: 3 });
      const out = await complete(['what is 1+1?\n<think>'], { temperature: 0, seed: 0, samples: 1 });
      expect(out).toHaveLength(1);
      expect(m.tokenizer.decode(seen[0]!)).toBe('<user>what is 1+1?<assistant><think>');
    } finally {
      m.model.dispose();
    }
  });
});
