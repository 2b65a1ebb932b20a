import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initNodeBackend } from '../../src/cli/node-webgpu';
import { parseConfig } from '../../src/core/model/config';
import { CausalLM } from '../../src/core/model/causal-lm';
import { packBatch, tokenLogProbs } from '../../src/core/model/logprobs';
import { tinyConfig } from '../fixtures/tiny-configs';
import { randomWeights } from '../fixtures/random-weights';
import { referenceLogits } from './reference';
import type { Architecture } from '../../src/core/model/types';

beforeAll(async () => {
  await initNodeBackend('cpu');
});

describe('packBatch', () => {
  it('left-pads prompts, right-pads completions, counts positions from the first real token', () => {
    const b = packBatch([[5, 6], [7]], [[8], [9, 10, 11]], 0);
    expect(b.length).toBe(5);
    expect(Array.from(b.ids)).toEqual([5, 6, 8, 0, 0, 0, 7, 9, 10, 11]);
    expect(Array.from(b.attentionMask)).toEqual([1, 1, 1, 0, 0, 0, 1, 1, 1, 1]);
    expect(Array.from(b.positions.filter((_, i) => b.attentionMask[i]))).toEqual([0, 1, 2, 0, 1, 2, 3]);
    expect(Array.from(b.completionMask)).toEqual([0, 0, 1, 0, 0, 0, 0, 1, 1, 1]);
  });
  it('rejects empty prompts and mismatched lengths with typed errors', () => {
    expect(() => packBatch([[]], [[1]], 0)).toThrow(/prompt 0 is empty/);
    expect(() => packBatch([[1]], [], 0)).toThrow(/1 prompts but 0 completions/);
  });
});

function logSoftmax(x: number[], temp: number): number[] {
  const s = x.map((v) => v / temp);
  const m = Math.max(...s);
  const z = Math.log(s.reduce((a, v) => a + Math.exp(v - m), 0)) + m;
  return s.map((v) => v - z);
}

describe.each<Architecture>(['llama', 'qwen2', 'qwen3', 'gpt2'])('%s tokenLogProbs', (arch) => {
  const config = parseConfig(tinyConfig(arch));
  const weights = randomWeights(config, 11);
  const batch = packBatch([[1, 5, 9], [1, 20]], [[3, 4], [6, 7, 2]], 0);

  it('equals log softmax of the reference logits at temperature 0.7, with entropy', () => {
    const before = tf.memory().numTensors;
    const model = new CausalLM(config, weights);
    const { logprobs, entropy } = tokenLogProbs(model, batch, 0.7);
    const lp = logprobs.arraySync();
    const ent = entropy.arraySync();
    logprobs.dispose();
    entropy.dispose();
    const L = batch.length;
    const rows = [0, 1].map((b) => Array.from(batch.ids.subarray(b * L, (b + 1) * L)));
    const masks = [0, 1].map((b) => Array.from(batch.attentionMask.subarray(b * L, (b + 1) * L)));
    const ref = referenceLogits(config, weights, rows, masks);
    for (let b = 0; b < 2; b++) {
      expect(lp[b]![0]).toBe(0);
      for (let t = 1; t < L; t++) {
        if (!masks[b]![t] || !masks[b]![t - 1]) continue;
        const ls = logSoftmax(ref[b]![t - 1]!, 0.7);
        expect(lp[b]![t]).toBeCloseTo(ls[rows[b]![t]!]!, 4);
        const h = -ls.reduce((a, v) => a + Math.exp(v) * v, 0);
        expect(ent[b]![t]).toBeCloseTo(h, 4);
      }
    }
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it.each(['cpu', 'wasm'] as const)('completionOnly on %s: the full values on completion columns, 0 before, and the same gradients of a completion-masked loss', async (backend) => {
    await initNodeBackend(backend);
    const before = tf.memory().numTensors;
    const model = new CausalLM(config, weights);
    const cm = tf.tensor2d(batch.completionMask, [batch.batch, batch.length]);
    const run = (completionOnly: boolean) => {
      const { value, grads } = tf.variableGrads(() =>
        tf.tidy(() => {
          const { logprobs, entropy } = tokenLogProbs(model, batch, 0.8, { completionOnly });
          return tf.sum(tf.mul(tf.add(logprobs, tf.mul(entropy, 0.3)), cm)) as tf.Scalar;
        }),
      );
      const { logprobs, entropy } = tokenLogProbs(model, batch, 0.8, { completionOnly });
      const out = { loss: value.dataSync()[0]!, grads: Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, Array.from(g.dataSync())])), lp: logprobs.arraySync(), ent: entropy.arraySync() };
      tf.dispose([value, ...Object.values(grads), logprobs, entropy]);
      return out;
    };
    const full = run(false);
    const part = run(true);
    expect(part.loss).toBeCloseTo(full.loss, 4);
    for (const [k, g] of Object.entries(full.grads)) for (let i = 0; i < g.length; i++) expect(part.grads[k]![i]).toBeCloseTo(g[i]!, 4);
    const L = batch.length;
    // Prompts are left-padded to 3 tokens: the first completion token is column 3.
    for (let b = 0; b < 2; b++) {
      for (let t = 0; t < L; t++) {
        const want = t >= 3 ? [full.lp[b]![t]!, full.ent[b]![t]!] : [0, 0];
        expect(part.lp[b]![t]).toBeCloseTo(want[0]!, 5);
        expect(part.ent[b]![t]).toBeCloseTo(want[1]!, 5);
      }
      expect(full.lp[b]![2]).not.toBe(0);
    }
    cm.dispose();
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
    await initNodeBackend('cpu');
  });

  it('has gradients equal to finite differences', () => {
    const before = tf.memory().numTensors;
    const model = new CausalLM(config, weights);
    const cm = tf.tensor2d(batch.completionMask, [batch.batch, batch.length]);
    const loss = () =>
      tf.tidy(() => {
        const { logprobs, entropy } = tokenLogProbs(model, batch, 0.9);
        return tf.sum(tf.mul(tf.add(logprobs, tf.mul(entropy, 0.3)), cm)) as tf.Scalar;
      });
    const { value, grads } = tf.variableGrads(loss);
    value.dispose();
    const names = [...model.weights.keys()];
    const picks = [names[0]!, names[2]!, names[5]!, names[names.length - 1]!, names[Math.floor(names.length / 2)]!];
    const eps = 2e-3;
    for (const name of picks) {
      const v = model.weights.get(name)!;
      const g = grads[v.name]!.dataSync();
      const base = Float32Array.from(v.dataSync());
      // The entries with the largest gradient, plus the first one (often an embedding row of a token in the batch).
      const idx = [...g.keys()].sort((a, b) => Math.abs(g[b]!) - Math.abs(g[a]!)).slice(0, 2);
      for (const i of idx) {
        const at = (delta: number) => {
          const d = Float32Array.from(base);
          d[i] = d[i]! + delta;
          tf.tidy(() => v.assign(tf.tensor(d, v.shape)));
          const l = loss();
          const out = l.dataSync()[0]!;
          l.dispose();
          return out;
        };
        const fd = (at(eps) - at(-eps)) / (2 * eps);
        tf.tidy(() => v.assign(tf.tensor(base, v.shape)));
        expect(Math.abs(g[i]! - fd), `${name}[${i}] grad ${g[i]} fd ${fd}`).toBeLessThan(3e-3 + 2e-2 * Math.abs(fd));
      }
    }
    expect(Math.max(...picks.map((n) => Math.max(...Array.from(grads[model.weights.get(n)!.name]!.dataSync(), Math.abs))))).toBeGreaterThan(1e-2);
    Object.values(grads).forEach((t) => t.dispose());
    cm.dispose();
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
