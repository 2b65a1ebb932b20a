import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initNodeBackend } from '../../src/cli/node-webgpu';
import { parseConfig } from '../../src/core/model/config';
import { CausalLM } from '../../src/core/model/causal-lm';
import { generate, generateNaive } from '../../src/core/model/generate';
import { packBatch, tokenLogProbs } from '../../src/core/model/logprobs';
import { sampleToken } from '../../src/core/model/sampling';
import { Rng } from '../../src/core/rng';
import { tinyConfig } from '../fixtures/tiny-configs';
import { randomWeights } from '../fixtures/random-weights';
import type { Architecture, GenerateOptions } from '../../src/core/model/types';

beforeAll(async () => {
  await initNodeBackend('cpu');
});

const prompts = [[1, 5, 9, 13], [1, 20], [1, 7, 7]];

describe.each<Architecture>(['llama', 'gpt2'])('%s generate', (arch) => {
  const config = parseConfig(tinyConfig(arch));
  const weights = randomWeights(config, 5);
  const base: GenerateOptions = { maxNewTokens: 8, temperature: 0, seed: 1, eosTokenIds: [], padTokenId: 0 };

  it('batched left-padded greedy equals one prompt at a time, and the cache equals recomputation', async () => {
    const before = tf.memory().numTensors;
    const model = new CausalLM(config, weights);
    const batched = await generate(model, prompts, base);
    const naive = await generateNaive(model, prompts, base);
    expect(naive.tokens).toEqual(batched.tokens);
    for (const [i, p] of prompts.entries()) {
      const single = await generate(model, [p], base);
      expect(single.tokens[0]).toEqual(batched.tokens[i]);
      single.logprobs[0]!.forEach((lp, j) => expect(lp).toBeCloseTo(batched.logprobs[i]![j]!, 4));
    }
    expect(batched.finish).toEqual(['length', 'length', 'length']);
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('seeded sampling is reproducible, and its log-probs equal teacher forcing at the same temperature', async () => {
    const before = tf.memory().numTensors;
    const model = new CausalLM(config, weights);
    const opts = { ...base, temperature: 0.8, seed: 42 };
    const a = await generate(model, prompts, opts);
    const b = await generate(model, prompts, opts);
    const naive = await generateNaive(model, prompts, opts);
    const c = await generate(model, prompts, { ...opts, seed: 43 });
    expect(b.tokens).toEqual(a.tokens);
    expect(naive.tokens).toEqual(a.tokens);
    expect(c.tokens).not.toEqual(a.tokens);
    const batch = packBatch(prompts, a.tokens, 0);
    const { logprobs, entropy } = tokenLogProbs(model, batch, 0.8);
    const lp = logprobs.arraySync();
    logprobs.dispose();
    entropy.dispose();
    const P = Math.max(...prompts.map((p) => p.length));
    a.logprobs.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(lp[i]![P + j]!, 4)));
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('stops rows at EOS (EOS kept, row padded) and at stop strings; awaits onStep', async () => {
    const model = new CausalLM(config, weights);
    const free = await generate(model, prompts, base);
    // Make the third greedy token of row 0 an EOS: that row must end there, the others go on.
    const eosId = free.tokens[0]![2]!;
    const withEos = await generate(model, prompts, { ...base, eosTokenIds: [eosId] });
    expect(withEos.tokens[0]).toEqual(free.tokens[0]!.slice(0, free.tokens[0]!.indexOf(eosId) + 1));
    expect(withEos.finish[0]).toBe('eos');
    const decode = (ids: number[]) => ids.map((t) => String.fromCharCode(97 + (t % 26))).join('');
    const stopAt = decode(free.tokens[1]!.slice(1, 3));
    const steps: number[] = [];
    const stopped = await generate(model, prompts, {
      ...base,
      decode,
      stopStrings: [stopAt],
      onStep: async (s) => {
        await new Promise((r) => setTimeout(r, 0));
        steps.push(s);
      },
    });
    expect(decode(stopped.tokens[1]!)).toContain(stopAt);
    expect(decode(stopped.tokens[1]!.slice(0, -1))).not.toContain(stopAt);
    expect(stopped.finish[1]).toBe('stop');
    expect(steps[0]).toBe(0);
    model.dispose();
  });
});

describe('sampleToken', () => {
  const logits = Float32Array.from([2, 1.5, 0.3, -1, 0.9, 1.7, -0.2, 0.4]);
  const order = [0, 5, 1, 4, 7, 2, 6, 3];
  it('never samples outside the top-k set, and its frequencies follow the renormalised softmax', () => {
    const rng = new Rng(9);
    const counts = new Array<number>(8).fill(0);
    const N = 20000;
    for (let i = 0; i < N; i++) counts[sampleToken(logits, { temperature: 1, topK: 3 }, rng).token]!++;
    for (const t of order.slice(3)) expect(counts[t]).toBe(0);
    const z = [0, 5, 1].reduce((a, t) => a + Math.exp(logits[t]!), 0);
    for (const t of [0, 5, 1]) expect(counts[t]! / N).toBeCloseTo(Math.exp(logits[t]!) / z, 1);
  });
  it('never samples outside the top-p nucleus', () => {
    const rng = new Rng(10);
    const p = Array.from(logits, Math.exp);
    const z = p.reduce((a, b) => a + b, 0);
    // Nucleus for 0.6: smallest prefix of the sorted probabilities reaching 0.6.
    let cum = 0;
    const nucleus: number[] = [];
    for (const t of order) {
      nucleus.push(t);
      cum += p[t]! / z;
      if (cum >= 0.6) break;
    }
    expect(nucleus.length).toBeLessThan(8);
    for (let i = 0; i < 5000; i++) expect(nucleus).toContain(sampleToken(logits, { temperature: 1, topP: 0.6 }, rng).token);
  });
  it('reports the log-prob under the full softmax at the temperature, even when truncated', () => {
    const { token, logprob } = sampleToken(logits, { temperature: 0.5, topK: 1 }, new Rng(1));
    expect(token).toBe(0);
    const z = Array.from(logits).reduce((a, v) => a + Math.exp(v / 0.5), 0);
    expect(logprob).toBeCloseTo(2 / 0.5 - Math.log(z), 6);
    expect(sampleToken(logits, { temperature: 0 }, new Rng(1)).logprob).toBeCloseTo(2 - Math.log(Array.from(logits).reduce((a, v) => a + Math.exp(v), 0)), 6);
  });
});
