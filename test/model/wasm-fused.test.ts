/**
 * The Llama layer's fused elementwise chains on wasm (src/core/kernels/wasm-fused.wat) against
 * the tf-op chains they replace, run with the kernels turned off: SwiGLU and its gradient bit for
 * bit, RMSNorm, its gradient and softmax's gradient within float rounding (row sums 4 lanes at a
 * time), the row gather exactly; lengths that are and are not multiples of 4, no leaked tensors.
 */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs';
import { initNodeBackend } from '../../src/cli/node-webgpu';
import { setWasmFusedEnabled, wasmFusedAvailable, wasmGatherRows, wasmRmsNormGrad, wasmSoftmaxGrad, wasmSwiGLUGrad } from '../../src/core/kernels/wasm-fused';
import { embed, rmsNorm, swiGLU } from '../../src/core/model/layers';
import { rmsNormGrad, swigluGrad } from '../../src/core/model/attention-grad';
import { Rng } from '../../src/core/rng';

function random(shape: number[], rng: Rng, scale = 3): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: n }, () => (rng.next() * 2 - 1) * scale), shape);
}

/** Runs f with the fused kernels off (the tf-op chains), then on; returns both results' data. */
async function bothWays(f: () => tf.Tensor[]): Promise<[Float32Array[], Float32Array[]]> {
  const out: Float32Array[][] = [];
  for (const on of [false, true]) {
    setWasmFusedEnabled(on);
    try {
      const ts = tf.tidy(f);
      out.push(await Promise.all(ts.map(async (t) => (await t.data()) as Float32Array)));
      tf.dispose(ts);
    } finally {
      setWasmFusedEnabled(true);
    }
  }
  return [out[0]!, out[1]!];
}

function maxRelDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(a[i]!)));
  return m;
}

describe('wasm fused chains', () => {
  it('SwiGLU and its hand-written gradient equal the tf-op chains bit for bit, its tape gradient within rounding', async () => {
    await initNodeBackend('wasm');
    expect(wasmFusedAvailable()).toBe(true);
    const rng = new Rng(31);
    let largest = 0;
    for (const shape of [[7, 12], [3, 5, 11], [1, 1]]) {
      const [g, u, dy] = [random(shape, rng), random(shape, rng), random(shape, rng)];
      const before = tf.memory().numTensors;
      const [want, got] = await bothWays(() => {
        const { value, grads } = tf.valueAndGrads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(swiGLU(a, b), dy)))([g, u]);
        const fwd = swiGLU(g, u);
        const [dg, du] = swigluGrad(g, u, dy);
        return [fwd, value, ...grads, dg, du];
      });
      expect(tf.memory().numTensors).toBe(before);
      // The forward and the hand-written gradient bit for bit; the tape's gradient is tfjs's own
      // autodiff of the chain on one side (another formula), so within rounding.
      for (const i of [0, 1, 4, 5]) expect(Array.from(got[i]!), `output ${i}, shape [${shape}]`).toEqual(Array.from(want[i]!));
      for (const i of [2, 3]) expect(maxRelDiff(want[i]!, got[i]!), `output ${i}, shape [${shape}]`).toBeLessThan(1e-6);
      largest = Math.max(largest, ...Array.from(want[2]!, Math.abs));
      tf.dispose([g, u, dy]);
    }
    // Not vacuous: the gradients have size.
    expect(largest).toBeGreaterThan(0.1);
    expect(() => wasmSwiGLUGrad(tf.zeros([2]), tf.zeros([2]), tf.zeros([2]))).not.toThrow();
  });

  it('RMSNorm with its tape gradient, and its hand-written gradient, equal the tf-op chains within float rounding', async () => {
    await initNodeBackend('wasm');
    const rng = new Rng(37);
    for (const [rows, H] of [[9, 16], [5, 13], [2, 3]] as const) {
      const x = random([rows, H], rng);
      const w = random([H], rng, 1) as tf.Tensor1D;
      const dy = random([rows, H], rng);
      const [want, got] = await bothWays(() => {
        const { value, grads } = tf.valueAndGrads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(rmsNorm(a, b as tf.Tensor1D, 1e-5), dy)))([x, w]);
        const [dx, dw] = rmsNormGrad(x, w, 1e-5, dy);
        return [rmsNorm(x, w, 1e-5), value, ...grads, dx, dw];
      });
      want.forEach((wv, i) => expect(maxRelDiff(wv, got[i]!), `output ${i}, [${rows}, ${H}]`).toBeLessThan(2e-6));
      expect(Math.max(...Array.from(want[3]!, Math.abs))).toBeGreaterThan(0.1);
      tf.dispose([x, w, dy]);
    }
    // 4-D input over the last axis (the q/k norms of Qwen3).
    const x4 = random([2, 3, 4, 8], rng);
    const w8 = random([8], rng, 1) as tf.Tensor1D;
    const [want, got] = await bothWays(() => [rmsNorm(x4, w8, 1e-6)]);
    expect(maxRelDiff(want[0]!, got[0]!)).toBeLessThan(2e-6);
    const [dx, dw] = wasmRmsNormGrad(tf.zeros([0, 4]), tf.ones([4]), 1e-5, tf.zeros([0, 4]));
    expect(dx.shape).toEqual([0, 4]);
    expect(Array.from(await dw.data())).toEqual([0, 0, 0, 0]);
  });

  it('softmax\'s gradient equals p ⊙ (dp − rowsum(dp ⊙ p)) as tf ops compute it', async () => {
    await initNodeBackend('wasm');
    const rng = new Rng(41);
    for (const S of [12, 7]) {
      const p = tf.softmax(random([3, 2, 5, S], rng));
      const dp = random([3, 2, 5, S], rng);
      const got = await wasmSoftmaxGrad(p, dp).data();
      const want = await tf.tidy(() => tf.mul(p, tf.sub(dp, tf.sum(tf.mul(dp, p), -1, true)))).data();
      expect(maxRelDiff(want as Float32Array, got as Float32Array)).toBeLessThan(1e-6);
      expect(Math.max(...Array.from(want, Math.abs))).toBeGreaterThan(0.01);
    }
  });

  it('the embedding\'s row gather equals tf.gather, with zero rows for ids outside the table, and its gradient still sums', async () => {
    await initNodeBackend('wasm');
    const rng = new Rng(43);
    const table = random([10, 6], rng) as tf.Tensor2D;
    const ids = tf.tensor1d([3, 0, 9, 3, 7], 'int32');
    const [want, got] = await bothWays(() => {
      const { value, grads } = tf.valueAndGrads((t: tf.Tensor) => tf.sum(tf.mul(embed(t as tf.Tensor2D, ids), tf.range(0, 30).reshape([5, 6]))))([table]);
      return [embed(table, ids), value, grads[0]!];
    });
    want.forEach((w, i) => expect(Array.from(got[i]!)).toEqual(Array.from(w)));
    const outside = await wasmGatherRows(table, tf.tensor1d([-1, 10, 2], 'int32')).data();
    expect(Array.from(outside.slice(0, 12))).toEqual(new Array(12).fill(0));
    expect(Array.from(outside.slice(12))).toEqual(Array.from((await table.data()).slice(12, 18)));
  });
});

describe('wasm log-prob head', () => {
  it('equals the chunked head\'s target log-probs, entropies and gradients (both outputs), at temperatures 1 and 0.7', async () => {
    await initNodeBackend('wasm');
    const { chunkedTokenStats } = await import('../../src/core/model/vocab-chunked-logprobs');
    const { wasmTokenStats } = await import('../../src/core/kernels/wasm-fused');
    const rng = new Rng(47);
    for (const [N, V, T] of [[6, 37, 1], [5, 384, 0.7], [3, 8, 1]] as const) {
      // Peaked rows too: logits up to ±20.
      const logits = random([N, V], rng, 20) as tf.Tensor2D;
      const targets = tf.tensor1d(Array.from({ length: N }, (_, i) => (i * 7) % V), 'int32');
      const w = random([N, 2], rng, 1);
      const before = tf.memory().numTensors;
      const run = (stats: (x: tf.Tensor2D, t: tf.Tensor1D, temp: number) => tf.Tensor2D) =>
        tf.tidy(() => {
          const { value, grads } = tf.valueAndGrads((x: tf.Tensor) => tf.sum(tf.mul(stats(x as tf.Tensor2D, targets, T), w)))([logits]);
          return [stats(logits, targets, T), value, grads[0]!];
        });
      const want = run(chunkedTokenStats);
      const got = run(wasmTokenStats);
      const [wd, gd] = [await Promise.all(want.map((t) => t.data())), await Promise.all(got.map((t) => t.data()))];
      for (let i = 0; i < 3; i++) expect(maxRelDiff(wd[i] as Float32Array, gd[i] as Float32Array), `output ${i}, [${N}, ${V}] T ${T}`).toBeLessThan(2e-5);
      expect(Math.max(...Array.from(wd[2]!, Math.abs))).toBeGreaterThan(0.01);
      tf.dispose([...want, ...got]);
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([logits, targets, w]);
    }
  });

  it('a row whose target lies outside the vocabulary gets NaN, the others are unaffected', async () => {
    await initNodeBackend('wasm');
    const { wasmTokenStats } = await import('../../src/core/kernels/wasm-fused');
    const logits = tf.tensor2d([0, 1, 2, 3, 0, 0, 0, 0], [2, 4]);
    const got = await wasmTokenStats(logits, tf.tensor1d([9, 1], 'int32')).data();
    expect(Number.isNaN(got[0]!)).toBe(true);
    expect(got[2]).toBeCloseTo(Math.log(0.25), 6);
    expect(got[3]).toBeCloseTo(Math.log(4), 6);
  });
});
