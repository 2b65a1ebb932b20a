import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { parseConfig } from '../../src/core/model/config';
import { CausalLM, disposeCache } from '../../src/core/model/causal-lm';
import { tinyConfig } from '../fixtures/tiny-configs';
import { randomWeights } from '../fixtures/random-weights';
import { referenceLogits } from './reference';
import type { Architecture } from '../../src/core/model/types';
import { maxAbsDiff } from '../helpers/numeric';

const ARCHS: Architecture[] = ['llama', 'qwen2', 'qwen3', 'gpt2'];

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe.each(ARCHS)('%s forward', (arch) => {
  const config = parseConfig(tinyConfig(arch));
  const weights = randomWeights(config, 7);

  it('matches the float64 per-position reference on a left-padded batch', () => {
    const before = tf.memory().numTensors;
    const model = new CausalLM(config, weights);
    const rows = [
      [0, 0, 5, 9, 3, 17, 4],
      [1, 30, 2, 8, 44, 12, 6],
    ];
    const mask = [
      [0, 0, 1, 1, 1, 1, 1],
      [1, 1, 1, 1, 1, 1, 1],
    ];
    const B = 2;
    const T = 7;
    const positions = new Int32Array(B * T);
    mask.forEach((m, b) => {
      let c = 0;
      m.forEach((v, t) => (positions[b * T + t] = v ? c++ : 0));
    });
    const { logits } = model.forward({ ids: Int32Array.from(rows.flat()), batch: B, length: T, positions, attentionMask: Int32Array.from(mask.flat()) });
    const got = logits.arraySync();
    logits.dispose();
    const want = referenceLogits(config, weights, rows, mask);
    let err = 0;
    let spread = 0;
    for (let b = 0; b < B; b++)
      for (let t = 0; t < T; t++) {
        if (!mask[b]![t]) continue;
        err = Math.max(err, maxAbsDiff(got[b]![t]!, want[b]![t]!));
        spread = Math.max(spread, Math.max(...want[b]![t]!) - Math.min(...want[b]![t]!));
      }
    expect(err).toBeLessThan(1e-4);
    // The comparison means something only if logits differ across the vocabulary.
    expect(spread).toBeGreaterThan(0.5);
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('decoding with the KV cache gives the logits of the full forward', () => {
    const before = tf.memory().numTensors;
    const model = new CausalLM(config, weights);
    const ids = [0, 3, 9, 21, 7, 11];
    const mask = [0, 1, 1, 1, 1, 1];
    const positions = [0, 0, 1, 2, 3, 4];
    const full = model.forward({ ids: Int32Array.from(ids), batch: 1, length: 6, positions: Int32Array.from(positions), attentionMask: Int32Array.from(mask) });
    const fullData = Float32Array.from(full.logits.dataSync());
    full.logits.dispose();
    // Prefill 3 tokens, then one at a time.
    let { logits, cache } = model.forward({ ids: Int32Array.from(ids.slice(0, 3)), batch: 1, length: 3, positions: Int32Array.from(positions.slice(0, 3)), attentionMask: Int32Array.from(mask.slice(0, 3)), returnCache: true });
    const V = config.vocabSize;
    // Position 0 is a pad: its output is meaningless (it attends to nothing real), so compare from 1.
    expect(maxAbsDiff(logits.dataSync().subarray(V), fullData.subarray(V, 3 * V))).toBeLessThan(1e-5);
    logits.dispose();
    for (let t = 3; t < 6; t++) {
      const step = model.forward({ ids: Int32Array.of(ids[t]!), batch: 1, length: 1, positions: Int32Array.of(positions[t]!), attentionMask: Int32Array.from(mask.slice(0, t + 1)), cache, returnCache: true, lastOnly: true });
      disposeCache(cache);
      cache = step.cache;
      expect(maxAbsDiff(step.logits.dataSync(), fullData.subarray(t * V, (t + 1) * V))).toBeLessThan(1e-5);
      step.logits.dispose();
    }
    disposeCache(cache);
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('golden logits', () => {
  // Written once from the float64 reference (test/model/reference.ts) for the seeded fixtures;
  // they catch silent changes in the fixtures, the reference or the engine.
  const golden = JSON.parse(readFileSync(new URL('../fixtures/golden-logits.json', import.meta.url), 'utf8')) as Record<string, { ids: number[]; picks: [number, number, number][] }>;
  it.each(ARCHS)('%s', (arch) => {
    const config = parseConfig(tinyConfig(arch));
    const weights = randomWeights(config, 7);
    const { ids, picks } = golden[arch]!;
    const model = new CausalLM(config, weights);
    const T = ids.length;
    const { logits } = model.forward({ ids: Int32Array.from(ids), batch: 1, length: T, positions: Int32Array.from(ids.keys()), attentionMask: new Int32Array(T).fill(1) });
    const got = logits.arraySync()[0]!;
    logits.dispose();
    model.dispose();
    const ref = referenceLogits(config, weights, [ids], [new Array<number>(T).fill(1)])[0]!;
    for (const [t, v, value] of picks) {
      expect(got[t]![v]!).toBeCloseTo(value, 4);
      expect(ref[t]![v]!).toBeCloseTo(value, 5);
    }
  });
});

describe('weight layout', () => {
  it('transposed and HF-layout linear weights give the same logits; clones and the decoding head cache follow updates', async () => {
    const { cloneModel } = await import('../../src/core/model/causal-lm');
    const before = tf.memory().numTensors;
    const config = parseConfig(tinyConfig('qwen2'));
    const tied = parseConfig({ ...tinyConfig('llama') });
    for (const cfg of [config, tied]) {
      const weights = randomWeights(cfg, 2);
      const a = new CausalLM(cfg, weights, { transposedLinear: true });
      const b = new CausalLM(cfg, weights, { transposedLinear: false });
      const input = { ids: Int32Array.of(1, 4, 9, 3), batch: 1, length: 4, positions: Int32Array.of(0, 1, 2, 3), attentionMask: Int32Array.of(1, 1, 1, 1) };
      const run = (m: CausalLM, lastOnly = false) => {
        const { logits } = m.forward({ ...input, lastOnly });
        const d = Float32Array.from(logits.dataSync());
        logits.dispose();
        return d;
      };
      const la = run(a);
      expect(maxAbsDiff(la, run(b))).toBeLessThan(1e-5);
      const clone = cloneModel(a);
      expect(maxAbsDiff(la, run(clone))).toBe(0);
      // Change every weight of `a`: its decoding head (cached transpose) must follow, the clone must not.
      for (const v of a.weights.values()) tf.tidy(() => v.assign(tf.mul(v, 1.1)));
      const full = run(a);
      const last = run(a, true);
      expect(maxAbsDiff(last, full.subarray(3 * cfg.vocabSize))).toBeLessThan(1e-5);
      expect(maxAbsDiff(la, run(clone))).toBe(0);
      const exported = await a.exportTensors();
      const reloaded = new CausalLM(cfg, exported, { transposedLinear: false });
      expect(maxAbsDiff(full, run(reloaded))).toBeLessThan(1e-5);
      for (const m of [a, b, clone, reloaded]) m.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});
